"""Arrays with two faces: a NumPy view for vectorised steps and an ``array.array`` for
the per-call hot loop, over the same memory.

Indexing a NumPy array one element at a time returns NumPy scalars, whose arithmetic
is several times slower than on Python floats; ``array.array`` indexing returns plain
Python numbers. The collector loop reads and writes through the ``array.array`` face,
the daily vectorised steps through the NumPy face, and both see every change.
"""

from __future__ import annotations

import array

import numpy as np

_DTYPES = {"d": np.float64, "i": np.int32, "B": np.uint8}


def shared(n: int, typecode: str, fill: float = 0) -> tuple[np.ndarray, array.array]:
    """A length-``n`` buffer filled with ``fill``: (NumPy view, array.array)."""
    buf = array.array(typecode, bytes(n * array.array(typecode).itemsize))
    view = np.frombuffer(buf, dtype=_DTYPES[typecode])
    if fill:
        view[:] = fill
    return view, buf


def shared_copy(values: np.ndarray, typecode: str) -> tuple[np.ndarray, array.array]:
    """A two-faced copy of ``values``."""
    view, buf = shared(values.size, typecode)
    view[:] = values
    return view, buf
