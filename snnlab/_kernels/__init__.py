"""Private Numba kernels shared by several parts of snnlab: the neuron models (LIF, physical LIF),
spike-train measures, the counter-based RNG and the flush-to-zero guard.

Arrays and scalars in, buffers filled in place, RNG state passed in; every kernel is
``@njit(cache=True, nogil=True)`` and has a slow NumPy twin in :mod:`snnlab._kernels.reference`
that the tests compare it with. A learning rule's own kernels live in its learner's package
(``snnlab/learners/<name>/kernels.py``, twin ``reference.py``). Nothing outside ``snnlab``
should import from here; use the drivers in :mod:`snnlab.neurons`.
"""
