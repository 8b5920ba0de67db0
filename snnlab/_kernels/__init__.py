"""Private Numba kernels: arrays and scalars in, buffers filled in place, RNG state passed in.

Every kernel is ``@njit(cache=True, nogil=True)`` and has a slow NumPy twin in
:mod:`snnlab._kernels.reference` that the tests compare it with. Nothing outside
``snnlab`` should import from here; use the drivers in :mod:`snnlab.neurons`.
"""
