"""Whether and how collectsim's kernels are compiled: Numba's ``njit`` when Numba is
installed (a no-op decorator without it), and the switches that choose the compiled
paths. The kernels themselves live in :mod:`collectsim.kernels` (the agents' day) and the
``*_kernels`` modules (the models' and the ledger's steps)."""

from __future__ import annotations

import os
from typing import Any

try:
    from numba import njit as _numba_njit

    AVAILABLE = True
except ImportError:  # pragma: no cover - exercised where Numba has no wheel
    _numba_njit = None  # type: ignore[assignment]
    AVAILABLE = False


def njit(**options: Any) -> Any:
    """``numba.njit(**options)``; without Numba, the function itself."""
    return (lambda f: f) if _numba_njit is None else _numba_njit(**options)


# Every kernel is compiled with ``_nrt=False``: they allocate nothing, and without
# Numba's reference-counting runtime a call passing some fifty arrays (an agent's pass)
# costs no atomic increment and decrement per array: 0.17 s instead of 0.6 s of kernel
# time for 233,000 attempts.

#: Whether the kernels run compiled (Numba present and the JIT not switched off).
COMPILED = AVAILABLE and os.environ.get("NUMBA_DISABLE_JIT", "0") in ("", "0")


def compiled_steps() -> bool:
    """Whether a run starting now uses the compiled steps of the behaviour and response
    models and of the ledger (``*_kernels`` modules): the kernels run compiled and
    ``COLLECTSIM_KERNELS`` is not ``0``. Off, the same NumPy code as without Numba runs
    (same results; ``benchmarks/compare_paths.py`` compares the two)."""
    return COMPILED and os.environ.get("COLLECTSIM_KERNELS", "1") != "0"


def keeps_methods(obj: Any, base: type, names: tuple[str, ...]) -> bool:
    """Whether ``obj``'s class inherits the methods ``names`` of ``base`` unchanged: a
    subclass that overrides one of them must run the NumPy path that calls it, not the
    compiled steps that stand in for it."""
    return all(getattr(type(obj), n) is getattr(base, n) for n in names)
