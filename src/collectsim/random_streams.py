"""Named random streams: one independent generator per stochastic source.

Every source of randomness (portfolio, behaviour, contacts, collectors, legal, ...)
draws from its own :class:`numpy.random.Generator`, spawned from
``SeedSequence([base_seed, replication])`` and the stream's name. Two runs with the
same seed and replication therefore see the same draws in every stream a change of
policy does not touch (common random numbers), whatever order streams are created in.
"""

from __future__ import annotations

import zlib

import numpy as np


class RandomStreams:
    """A lazily filled mapping from stream name to generator.

    Parameters
    ----------
    seed : int
        The experiment's base seed.
    replication : int
        The replication number; replications of one seed are independent.
    """

    def __init__(self, seed: int, replication: int) -> None:
        if seed < 0 or replication < 0:
            raise ValueError("seed and replication must be non-negative")
        self.seed = int(seed)
        self.replication = int(replication)
        self._streams: dict[str, np.random.Generator] = {}

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
