import numpy as np
import pytest
from numba import njit

from snnlab._kernels.rng import make_streams
from snnlab._kernels.subnormals import (
    X86,
    callers_mode_kept,
    control_word,
    flush_subnormals,
    restore_subnormals,
)
from snnlab.learners.gem.network import (
    GEMConfig,
    GLMNetworkShape,
    gem_train_example,
    init_glm_network,
)

SUBNORMAL = np.float32(2e-38)  # halving it lands below float32's smallest normal, 1.18e-38

pytestmark = pytest.mark.skipif(not X86, reason="flush-to-zero is set through x86's MXCSR")


@njit
def _halve_inside_and_after(inside, after):
    mode = flush_subnormals()
    for i in range(inside.size):
        inside[i] *= np.float32(0.5)
    restore_subnormals(mode)
    for i in range(after.size):
        after[i] *= np.float32(0.5)


def test_flush_zeroes_subnormal_results_and_restore_brings_gradual_underflow_back():
    inside = np.full(4, SUBNORMAL, np.float32)
    after = inside.copy()
    _halve_inside_and_after(inside, after)
    assert np.all(inside == 0.0)
    assert np.all(after > 0.0) and np.all(after < np.finfo(np.float32).tiny)


def test_gem_kernel_leaves_the_callers_floating_point_mode_alone():
    shape = GLMNetworkShape(n_in=6, n_hid=3, n_out=2, n_basis=3, memory=4)
    rng = np.random.default_rng(0)
    x = (rng.random((12, 6)) < 0.4).astype(np.uint8)
    y = (rng.random((12, 2)) < 0.4).astype(np.uint8)
    gem_train_example(init_glm_network(shape, 0), x, y, make_streams(0, 2), GEMConfig())
    halved = np.array([SUBNORMAL], np.float32) * np.float32(0.5)
    assert halved[0] > 0.0


def test_the_callers_mode_comes_back_when_a_kernel_raises():
    before = control_word()
    with pytest.raises(RuntimeError), callers_mode_kept():
        flush_subnormals()  # what a kernel does first; it then fails before restoring
        raise RuntimeError("the kernel failed")
    assert control_word() == before
    halved = np.array([SUBNORMAL], np.float32) * np.float32(0.5)
    assert halved[0] > 0.0
