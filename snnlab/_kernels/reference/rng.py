"""NumPy twin of :mod:`snnlab._kernels.rng`."""

import numpy as np

from snnlab._kernels.rng import GOLDEN, MIX1, MIX2, S11, S27, S30, S31, TO_UNIT


def uniform_streams(state: np.ndarray) -> np.ndarray:
    """Advance every stream of ``state`` (uint64 ``(n,)``) once; return ``(n,)`` uniforms."""
    state += GOLDEN
    z = state.copy()
    z = (z ^ (z >> S30)) * MIX1
    z = (z ^ (z >> S27)) * MIX2
    z = z ^ (z >> S31)
    return (z >> S11).astype(np.float64) * TO_UNIT
