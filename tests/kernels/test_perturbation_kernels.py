"""The perturbed spiking-MLP kernel and the direction draws agree with their NumPy twins."""

import numpy as np
import pytest

from snnlab.learners.wp import kernels, reference
from snnlab.learners.wp.learner import SpikingMLP


def network(encoding, hidden=(12, 6), reset="subtract", n_steps=10):
    sizes = (1 if encoding == "current" else 2, *hidden, 1)
    return SpikingMLP(sizes=sizes, encoding=encoding, reset=reset, n_steps=n_steps, beta=0.9)


@pytest.mark.parametrize("encoding", ["current", "spikes"])
@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("with_noise", [False, True])
def test_kernel_matches_reference(encoding, reset, with_noise):
    net = network(encoding, reset=reset)
    rng = np.random.default_rng(1)
    theta = net.init_params(rng, np.zeros(1), np.ones(1))
    points = rng.random((25, 1)).astype(np.float32)
    deltas = (0.1 * rng.standard_normal((6, net.n_params))).astype(np.float32)
    deltas[0] = 0.0
    noise = None
    if with_noise:
        noise = rng.standard_normal((6, 25, sum(net.sizes[1:]))).astype(np.float32)
    options = {"record_activity": True, "trace_point": 4}
    fast = net.forward(points, theta, deltas, noise, 0.2, n_threads=2, **options)
    slow = net.forward(points, theta, deltas, noise, 0.2, module=reference, **options)
    hidden_rates = fast.activity[:, net.sizes[0]:]
    assert 0.05 < hidden_rates.mean() < 0.95  # the test exercises spiking, not silence
    np.testing.assert_array_equal(fast.raster, slow.raster)
    np.testing.assert_allclose(fast.membrane, slow.membrane, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(fast.out, slow.out, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fast.activity, slow.activity, rtol=1e-5, atol=1e-6)
    # each unit is an independent network: a perturbation changes its own unit only
    assert not np.array_equal(fast.out[1], fast.out[0])


def test_results_do_not_depend_on_threads_or_chunks():
    net = network("current", hidden=(16,))
    rng = np.random.default_rng(2)
    theta = net.init_params(rng, np.zeros(1), np.ones(1))
    points = rng.random((40, 1)).astype(np.float32)
    for n_units in (1, 5):
        deltas = (0.05 * rng.standard_normal((n_units, net.n_params))).astype(np.float32)
        one = net.forward(points, theta, deltas, n_threads=1).out
        two = net.forward(points, theta, deltas, n_threads=2).out
        np.testing.assert_array_equal(one, two)


def test_linear_readout_without_hidden_layers():
    """No hidden layer: y = mean_t v_t of the leaky integrator of a constant current."""
    net = SpikingMLP(sizes=(2, 1), beta_out=0.5, n_steps=4)
    theta = np.array([0.5, -1.0, 0.25], dtype=np.float32)  # W (2, 1), b (1,)
    points = np.array([[1.0, 2.0], [0.0, 0.0]], dtype=np.float32)
    out = net.forward(points, theta).out[0, :, 0]
    current = points @ theta[:2] + theta[2]
    gain = np.mean([1 - 0.5 ** (t + 1) for t in range(4)])  # v_t = (1 - 0.5^(t+1)) I
    np.testing.assert_allclose(out, gain * current, rtol=1e-6)


@pytest.mark.parametrize("rademacher", [False, True])
def test_draw_directions_matches_reference(rademacher):
    from snnlab._kernels.rng import make_streams

    state_fast, state_slow = make_streams(5, 4), make_streams(5, 4)
    fast = np.empty((4, 1001), np.float32)
    slow = np.empty((4, 1001), np.float32)
    kernels.draw_directions(state_fast, fast, rademacher)
    reference.draw_directions(state_slow, slow, rademacher)
    np.testing.assert_array_equal(state_fast, state_slow)
    np.testing.assert_allclose(fast, slow, rtol=1e-6, atol=1e-6)
    assert abs(fast.mean()) < 0.1 and abs(fast.std() - 1.0) < 0.05
    if rademacher:
        assert set(np.unique(fast)) == {-1.0, 1.0}
