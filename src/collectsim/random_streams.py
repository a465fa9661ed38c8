"""Named random streams: one independent generator per stochastic source.

Every source of randomness (portfolio, behaviour, contacts, collectors, legal, ...)
draws from its own :class:`numpy.random.Generator`, spawned from
``SeedSequence([base_seed, replication])`` and the stream's name. Two runs with the
same seed and replication therefore see the same draws in every stream a change of
policy does not touch (common random numbers), whatever order streams are created in.

Per-account randomness (the borrower's own repayment times and amounts) goes further:
:meth:`RandomStreams.keyed` gives the k-th uniform of account i as a hash of
(stream, i, k), so an account's draws do not depend on how many draws other accounts
made before it. Two policies that treat an account alike see it behave alike.
"""

from __future__ import annotations

import zlib

import numpy as np

from collectsim.jit import COMPILED, njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_COUNTER = np.uint64(0xD1B54A32D192ED03)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64's output function (Steele, Lea and Flood 2014): a bijective 64-bit
    mixer whose outputs pass BigCrush when fed a counter."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, _nrt=False)
def _uniform_of(key: np.uint64, i: np.int64, k: np.int64) -> float:
    """The uniform of :meth:`RandomStreams.keyed` for account ``i``'s draw number ``k``,
    compiled (integer arithmetic wraps modulo 2**64 as in NumPy, so it is the same to the
    bit). The keyed kernels live here rather than in :mod:`collectsim.kernels` because they
    call nothing outside this module."""
    z = key + np.uint64(i) * _GOLDEN + np.uint64(k) * _COUNTER
    for _ in range(2):
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        z = z ^ (z >> np.uint64(31))
    return (np.float64(z >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@njit(cache=True, _nrt=False)
def _keyed_fill(key: np.uint64, idx: np.ndarray, counter: np.ndarray, out: np.ndarray) -> None:
    """The compiled form of :meth:`RandomStreams.keyed`."""
    for j in range(idx.size):
        out[j] = _uniform_of(key, idx[j], counter[j])


@njit(cache=True, _nrt=False)
def _keyed_next(key: np.uint64, idx: np.ndarray, counters: np.ndarray, out: np.ndarray) -> None:
    """``out[q, j]``: account ``idx[j]``'s draw number ``counters[idx[j]] + q``; then each
    account's counter moves on by ``out.shape[0]`` (no account twice in ``idx``)."""
    k = out.shape[0]
    for j in range(idx.size):
        c = counters[idx[j]]
        for q in range(k):
            out[q, j] = _uniform_of(key, idx[j], c + q)
        counters[idx[j]] = c + k


class RandomStreams:
    """A lazily filled mapping from stream name to generator.

    Parameters
    ----------
    seed : int
        The experiment's base seed.
    replication : int
        The replication number; replications of one seed are independent.
    keyed_outcomes : bool
        Draw contact outcomes per account (:meth:`outcomes`), not from shared streams.
    """

    def __init__(self, seed: int, replication: int, keyed_outcomes: bool = False) -> None:
        if seed < 0 or replication < 0:
            raise ValueError("seed and replication must be non-negative")
        self.seed = int(seed)
        self.replication = int(replication)
        self.keyed_outcomes = keyed_outcomes
        self._streams: dict[str, np.random.Generator] = {}
        self._keys: dict[str, np.uint64] = {}

    def keyed(self, name: str, idx: np.ndarray, counter: np.ndarray) -> np.ndarray:
        """Uniforms in (0, 1): the ``counter``-th draw of account ``idx`` in stream ``name``.

        A counter-based generator: the value depends only on (seed, replication, name,
        account, counter), never on the order of calls.
        """
        key = self._keys.get(name)
        if key is None:
            seq = np.random.SeedSequence([self.seed, self.replication, zlib.crc32(name.encode("utf-8")), 1])
            key = self._keys[name] = np.uint64(seq.generate_state(1, dtype=np.uint64)[0])
        if COMPILED:
            i = np.ascontiguousarray(idx, dtype=np.int64)
            out = np.empty(i.size)
            _keyed_fill(key, i, np.ascontiguousarray(np.broadcast_to(counter, i.shape), dtype=np.int64), out)
            return out.reshape(np.shape(idx))
        with np.errstate(over="ignore"):
            z = key + np.asarray(idx).astype(np.uint64) * _GOLDEN + np.asarray(counter).astype(np.uint64) * _COUNTER
            z = _mix64(_mix64(z))
        return ((z >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / 9007199254740992.0)

    def keyed_next(self, name: str, idx: np.ndarray, counters: np.ndarray, k: int = 1) -> np.ndarray:
        """The next ``k`` uniforms of each account of ``idx`` (no account twice) in keyed
        stream ``name``, counted in ``counters`` (one int64 per account, moved on by ``k``):
        an array of shape ``(k, idx.size)``, row ``q`` what the ``q``-th of ``k`` calls of
        ``keyed(name, idx, counters[idx])`` followed by ``counters[idx] += 1`` gives."""
        if COMPILED and idx.dtype == np.int64:
            out = np.empty((k, idx.size))
            _keyed_next(self.key(name), idx, counters, out)
            return out
        rows = []
        for _ in range(k):
            rows.append(self.keyed(name, idx, counters[idx]))
            counters[idx] += 1
        return np.array(rows).reshape(k, idx.size)

    def key(self, name: str) -> np.uint64:
        """The 64-bit key of keyed stream ``name`` (for compiled code that draws it)."""
        key = self._keys.get(name)
        if key is None:
            self.keyed(name, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
            key = self._keys[name]
        return key

    def outcomes(self, name: str, n: int) -> OutcomeDraws:
        """Uniforms for outcomes of contacts with ``n`` accounts: from the sequential
        stream ``name``, or per account when the run keys its outcomes
        (``keyed_outcomes``; see :class:`OutcomeDraws`)."""
        return OutcomeDraws(self, name, n, self.keyed_outcomes)

    def __getitem__(self, name: str) -> np.random.Generator:
        gen = self._streams.get(name)
        if gen is None:
            # The stream's identity comes from its name (a stable CRC, not Python's
            # salted hash), so creation order never changes what a stream draws.
            key = zlib.crc32(name.encode("utf-8"))
            seq = np.random.SeedSequence([self.seed, self.replication, key])
            gen = np.random.Generator(np.random.PCG64(seq))
            self._streams[name] = gen
        return gen


class OutcomeDraws:
    """The uniforms one kind of contact outcome (a call answered, a promise made, a
    complaint) draws.

    Sequential (the default): the stream's next numbers, shared by all accounts in
    the order contacts happen, so one contact more or less shifts every later draw.
    Keyed (``simulation.keyed_outcomes``): account ``i``'s k-th draw of the kind is
    :meth:`RandomStreams.keyed` of ``(i, k)``, so removing one account's contact
    leaves every other account's outcomes as they were: the counterfactual that
    true uplift needs.
    """

    def __init__(self, streams: RandomStreams, name: str, n: int, keyed: bool) -> None:
        self.streams, self.name, self.keyed = streams, name, keyed
        self.counter = np.zeros(n if keyed else 0, dtype=np.int64)

    def random(self, idx: np.ndarray) -> np.ndarray:
        """One uniform per account of ``idx`` (no account twice)."""
        if not self.keyed:
            return self.streams[self.name].random(idx.size)
        return self.streams.keyed_next(self.name, idx, self.counter)[0]
