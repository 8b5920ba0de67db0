"""The hot loops compile without Numba's reference counting (``_nrt=False``, a private option
of ``njit``). pyproject pins numba below the next minor release; this test is what a bump must
pass: it fails if the option is refused or stops removing the reference counting."""

import numpy as np
from numba import njit

from snnlab._kernels import lif


def _reference_counting_calls(options: dict) -> int:
    """NRT_incref/decref calls in ``lif._add_row`` compiled afresh with ``options`` (cached
    code cannot be inspected)."""
    kernel = njit(**{**options, "cache": False})(lif._add_row.py_func)
    acc = np.zeros(4, np.float32)
    kernel(acc, np.ones(4, np.float32), np.float32(2.0))
    assert acc.tolist() == [2.0] * 4
    ir = "\n".join(kernel.inspect_llvm().values())
    return ir.count("NRT_incref") + ir.count("NRT_decref")


def test_hot_loops_compile_without_reference_counting():
    assert lif.HOT_LOOP["_nrt"] is False
    assert _reference_counting_calls(lif.HOT_LOOP) == 0
    # the same loop with the runtime does count references: the check above can fail
    assert _reference_counting_calls({**lif.HOT_LOOP, "_nrt": True}) > 0
