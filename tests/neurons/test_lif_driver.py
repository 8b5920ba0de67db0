"""The LIF driver refuses bad input with clear messages and chains layers correctly."""

import math

import numpy as np
import pytest

from snnlab.neurons.lif import (
    LIFParameters,
    LIFState,
    simulate_lif,
    simulate_lif_currents,
    simulate_lif_network,
    work_partition,
)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"beta": 0.0}, "beta must be in"),
        ({"beta": 1.5}, "beta must be in"),
        ({"threshold": 0.0}, "threshold must be > 0"),
        ({"threshold": float("nan")}, "threshold must be > 0"),
        ({"reset": "hard"}, "reset must be one of"),
        ({"refractory": -1}, "refractory must be an int >= 0"),
        ({"refractory": 1.5}, "refractory must be an int >= 0"),
    ],
)
def test_parameters_are_validated(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LIFParameters(**kwargs)


def test_parameter_edges_are_allowed():
    LIFParameters(beta=1.0, threshold=math.inf, reset="zero", refractory=0)


def small():
    x = np.zeros((5, 2, 3), dtype=np.uint8)
    W = np.ones((3, 4), dtype=np.float32)
    return x, W


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda x, W: (x.astype(np.float32), W), "x must be a 3-d uint8 array"),
        (lambda x, W: (x[0], W), "x must be a 3-d uint8 array"),
        (lambda x, W: (x, W.astype(np.float64)), "W must be a 2-d float32 array"),
        (lambda x, W: (x, W[:2]), r"W must have shape \(n_in=3, n_out\)"),
        (lambda x, W: (x.tolist(), W), "x must be a numpy array"),
    ],
)
def test_shapes_and_dtypes_are_validated(change, message):
    x, W = change(*small())
    with pytest.raises(ValueError, match=message):
        simulate_lif(x, W, LIFParameters())


def test_bias_state_threads_and_params_are_validated():
    x, W = small()
    p = LIFParameters()
    with pytest.raises(ValueError, match=r"bias must have shape \(n_out=4,\)"):
        simulate_lif(x, W, p, bias=np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="bias must be a 1-d float32"):
        simulate_lif(x, W, p, bias=np.zeros(4))
    with pytest.raises(ValueError, match=r"state.membrane must have shape \(B=2, n_out=4\)"):
        simulate_lif(x, W, p, state=LIFState.zeros(3, 4))
    with pytest.raises(ValueError, match="n_threads must be an int in 1.."):
        simulate_lif(x, W, p, n_threads=0)
    with pytest.raises(ValueError, match="params must be LIFParameters"):
        simulate_lif(x, W, {"beta": 0.9})
    with pytest.raises(ValueError, match="currents must be a 3-d float32"):
        simulate_lif_currents(x, W, p)


def test_state_passed_in_is_not_modified():
    x, W = small()
    x[:] = 1
    state = LIFState.zeros(2, 4)
    simulate_lif(x, W, LIFParameters(), state=state)
    assert not state.membrane.any()


def test_network_chains_layers_on_same_step_spikes():
    rng = np.random.default_rng(0)
    x = (rng.random((40, 2, 10)) < 0.3).astype(np.uint8)
    weights = [
        (rng.random((10, 8)) * 0.8).astype(np.float32),
        (rng.random((8, 3)) * 0.8).astype(np.float32),
    ]
    params = LIFParameters(beta=0.9, threshold=1.0)
    net = simulate_lif_network(x, weights, params, record_membrane=[1])
    first = simulate_lif(x, weights[0], params)
    second = simulate_lif(first.spikes, weights[1], params)
    np.testing.assert_array_equal(net.spikes[0], first.spikes)
    np.testing.assert_array_equal(net.spikes[1], second.spikes)
    np.testing.assert_array_equal(net.membranes[1], second.membrane)
    assert set(net.membranes) == {1}
    assert net.spikes[1].sum() > 0
    # Continuing from the returned states equals one longer run.
    a = simulate_lif_network(x[:15], weights, params)
    b = simulate_lif_network(x[15:], weights, params, states=a.states)
    np.testing.assert_array_equal(np.concatenate([a.spikes[1], b.spikes[1]]), net.spikes[1])


def test_network_takes_real_valued_currents():
    rng = np.random.default_rng(1)
    currents = rng.standard_normal((30, 4, 2)).astype(np.float32)
    weights = [rng.standard_normal((2, 16)).astype(np.float32), np.ones((16, 1), np.float32)]
    readout = LIFParameters(beta=1.0, threshold=math.inf)
    net = simulate_lif_network(currents, weights, [LIFParameters(), readout], record_membrane=[1])
    hidden = simulate_lif_currents(currents, weights[0], LIFParameters())
    # A non-spiking perfect integrator reads out the running count of hidden spikes.
    expected = np.cumsum(hidden.spikes.sum(axis=2, dtype=np.float32), axis=0)
    np.testing.assert_allclose(net.membranes[1][..., 0], expected)
    assert not net.spikes[1].any()


def test_network_arguments_are_validated():
    x = np.zeros((5, 1, 3), np.uint8)
    W = [np.ones((3, 2), np.float32)]
    p = LIFParameters()
    with pytest.raises(ValueError, match="at least one weight matrix"):
        simulate_lif_network(x, [], p)
    with pytest.raises(ValueError, match="params must have one entry per layer"):
        simulate_lif_network(x, W, [p, p])
    with pytest.raises(ValueError, match="record_membrane holds layer indices outside"):
        simulate_lif_network(x, W, p, record_membrane=[1])
    with pytest.raises(ValueError, match="x must be a uint8"):
        simulate_lif_network(x.astype(np.int64), W, p)
    with pytest.raises(ValueError, match=r"W must have shape \(n_in=2, n_out\)"):
        simulate_lif_network(x, W + [np.ones((3, 2), np.float32)], p)


def test_work_partition_keeps_blocks_in_cache_and_threads_busy():
    blocks, groups = work_partition(784, 1000, 1, 1)
    assert len(blocks) - 1 == 2 and list(groups) == [0, 1]
    assert (np.diff(blocks) * 784 * 4).max() <= 1_600_000
    blocks, groups = work_partition(784, 1000, 32, 2)
    assert len(blocks) - 1 == 2 and list(groups) == [0, 32]
    blocks, groups = work_partition(2, 64, 8, 2)
    assert list(blocks) == [0, 64] and list(groups) == [0, 4, 8]
