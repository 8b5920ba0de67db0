"""Slow NumPy twins of the Numba kernels, one module per kernel file, used by the tests."""
