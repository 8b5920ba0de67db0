"""Counter-free SplitMix64 streams: the RNG state every kernel takes as an argument.

A stream is one ``uint64`` word. ``next_uniform(state, i)`` advances ``state[i]`` in place and
returns a float64 in [0, 1). Kernels that run parallel loops give each parallel unit (batch
element, compartment, direction) its own stream, so results do not depend on the thread count.
The NumPy twin :func:`snnlab._kernels.reference.uniform_streams` draws the identical numbers.

SplitMix64 (Steele, Lea, Flood 2014) passes BigCrush and needs one word of state, which is what
makes "RNG state passed in" cheap to save, restore and split.
"""

import numpy as np
from numba import njit

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)
S30 = np.uint64(30)
S27 = np.uint64(27)
S31 = np.uint64(31)
S11 = np.uint64(11)
TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True, nogil=True)
def next_uniform(state, i):
    """Advance stream ``state[i]`` (uint64 array) and return a uniform float64 in [0, 1)."""
    s = state[i] + GOLDEN
    state[i] = s
    z = (s ^ (s >> S30)) * MIX1
    z = (z ^ (z >> S27)) * MIX2
    z = z ^ (z >> S31)
    return (z >> S11) * TO_UNIT


#: what a run's extra streams are for; each is one child of the run's ``SeedSequence(seed)``
DIAGNOSTIC_STREAMS = 0  # reference draws of a diagnostic (never touch training)
PREDICTION_STREAMS = 1  # draws of stochastic units when predicting


def make_streams(seed: int, n: int, purpose: int | None = None) -> np.ndarray:
    """``n`` stream states (uint64, shape ``(n,)``) of a run seeded ``seed``.

    ``purpose=None`` gives the run's own training streams, from ``SeedSequence(seed)``; any
    other purpose ``k`` gives child ``k`` of it, what ``SeedSequence(seed).spawn(k + 1)[k]``
    holds. Children hash ``(seed, k)`` together, so no two purposes and no two seeds share a
    stream (deriving them as ``seed + 1`` made a run's diagnostic streams the next seed's
    training streams).
    """
    key = () if purpose is None else (int(purpose),)
    seq = np.random.SeedSequence(int(seed), spawn_key=key)
    return seq.generate_state(n, dtype=np.uint64)
