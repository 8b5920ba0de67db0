"""The LIF kernels agree with their NumPy twin (spikes exactly, membrane to float32 tolerance)."""

import numpy as np
import pytest

from snnlab._kernels import lif as kernels
from snnlab._kernels.reference.lif import lif_layer
from snnlab.neurons.lif import (
    LIFParameters,
    LIFState,
    _active_inputs,
    simulate_lif,
    simulate_lif_currents,
)


def random_problem(seed, T=60, B=3, n_in=37, n_out=45, max_count=3, rate=0.15):
    rng = np.random.default_rng(seed)
    active = rng.random((T, B, n_in)) < rate
    x = (active * rng.integers(1, max_count + 1, size=(T, B, n_in))).astype(np.uint8)
    W = (rng.standard_normal((n_in, n_out)) * 0.4).astype(np.float32)
    bias = (rng.standard_normal(n_out) * 0.05).astype(np.float32)
    return x, W, bias


def reference(x, W, bias, params, state=None, dense=False):
    B, n_out = x.shape[1], W.shape[1]
    state = state or LIFState.zeros(B, n_out)
    return lif_layer(
        x,
        W,
        bias,
        params.beta,
        params.threshold,
        params.reset == "zero",
        params.refractory,
        state.membrane,
        state.refractory_left,
        dense=dense,
    )


def assert_agrees(result, expected):
    spikes, membrane, u, r = expected
    np.testing.assert_array_equal(result.spikes, spikes)
    np.testing.assert_allclose(result.membrane, membrane, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(result.state.membrane, u, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(result.state.refractory_left, r)


@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("refractory", [0, 3])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_events_kernel_matches_reference(reset, refractory, n_threads):
    x, W, bias = random_problem(seed=refractory * 7 + len(reset))
    params = LIFParameters(beta=0.85, threshold=1.0, reset=reset, refractory=refractory)
    result = simulate_lif(x, W, params, bias=bias, n_threads=n_threads)
    expected = reference(x, W, bias, params)
    assert expected[0].sum() > 50, "the problem must make the neurons spike"
    if refractory:
        # A neuron that spiked is silent for `refractory` steps.
        t, b, j = np.nonzero(expected[0][:-refractory])
        for k in range(1, refractory + 1):
            assert not expected[0][t + k, b, j].any()
    assert_agrees(result, expected)


def test_counts_multiply_weight_rows():
    x, W, bias = random_problem(seed=3, max_count=4)
    assert x.max() > 1
    params = LIFParameters(beta=0.9, threshold=2.0)
    assert_agrees(simulate_lif(x, W, params, bias=bias), reference(x, W, bias, params))
    doubled = simulate_lif(np.minimum(x, 1) * 2, W, params, bias=bias)
    single = simulate_lif(np.minimum(x, 1), W, params, bias=bias)
    assert doubled.spikes.sum() > single.spikes.sum()


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("rate", [0.05, 0.3])  # fits the first guess of room / must rescan
def test_active_inputs_lists_every_nonzero_entry(n_threads, rate):
    # n_in not a multiple of 8 so rows straddle the 8-byte words the scan reads.
    x, _, _ = random_problem(seed=5, T=40, B=3, n_in=13, rate=rate)
    x[7, 1, :] = 0
    x[-1, -1, -1] = 2  # in the bytes after the last whole word
    offsets, inputs, counts = _active_inputs(x, n_threads)
    rows = x.reshape(-1, x.shape[2])
    for row in range(rows.shape[0]):
        sl = slice(offsets[row], offsets[row + 1])
        np.testing.assert_array_equal(inputs[sl], np.flatnonzero(rows[row]))
        np.testing.assert_array_equal(counts[sl], rows[row][rows[row] != 0])


def test_active_inputs_reports_chunks_that_overflow():
    x = np.ones((4, 2, 9), dtype=np.uint8)
    row_edges = np.array([0, 4, 8])
    entry_starts, entry_stops = np.array([0, 100]), np.array([36, 130])
    fits = np.zeros(2, dtype=np.bool_)
    offsets = np.empty(9, dtype=np.int64)
    inputs, counts = np.empty(130, np.int32), np.empty(130, np.float32)
    kernels.active_inputs(x, offsets, inputs, counts, row_edges, entry_starts, entry_stops, fits)
    assert list(fits) == [True, False]  # 36 entries fit in 36 places, not in 30
    assert list(offsets[:5]) == [0, 9, 18, 27, 36]
    # The driver rescans with exact room: dense input still comes out right.
    offsets, inputs, counts = _active_inputs(x, 2)
    for row in range(8):
        np.testing.assert_array_equal(inputs[offsets[row] : offsets[row + 1]], np.arange(9))


def test_chunked_run_equals_one_shot_run():
    x, W, bias = random_problem(seed=11, T=90)
    params = LIFParameters(beta=0.8, threshold=0.9, reset="zero", refractory=2)
    whole = simulate_lif(x, W, params, bias=bias)
    first = simulate_lif(x[:37], W, params, bias=bias)
    second = simulate_lif(x[37:], W, params, bias=bias, state=first.state)
    np.testing.assert_array_equal(np.concatenate([first.spikes, second.spikes]), whole.spikes)
    np.testing.assert_array_equal(np.concatenate([first.membrane, second.membrane]), whole.membrane)
    np.testing.assert_array_equal(second.state.membrane, whole.state.membrane)
    np.testing.assert_array_equal(second.state.refractory_left, whole.state.refractory_left)


def test_thread_count_does_not_change_results():
    # Wide enough for several neuron blocks, and a small layer split by batch group.
    for n_in, n_out, B in [(600, 1400, 2), (20, 30, 5)]:
        x, W, bias = random_problem(seed=n_out, T=30, B=B, n_in=n_in, n_out=n_out, rate=0.05)
        params = LIFParameters(beta=0.9, threshold=0.5, refractory=1)
        one = simulate_lif(x, W, params, bias=bias, n_threads=1)
        two = simulate_lif(x, W, params, bias=bias, n_threads=2)
        assert one.spikes.sum() > 0
        np.testing.assert_array_equal(one.spikes, two.spikes)
        np.testing.assert_array_equal(one.membrane, two.membrane)


def test_several_neuron_blocks_match_reference():
    x, W, bias = random_problem(seed=2, T=20, B=2, n_in=500, n_out=1000, rate=0.05)
    params = LIFParameters(beta=0.9, threshold=1.0)
    assert_agrees(simulate_lif(x, W, params, bias=bias), reference(x, W, bias, params))


def test_skipping_membrane_recording_keeps_spikes():
    x, W, bias = random_problem(seed=4)
    params = LIFParameters()
    recorded = simulate_lif(x, W, params, bias=bias)
    skipped = simulate_lif(x, W, params, bias=bias, record_membrane=False)
    assert skipped.membrane is None
    np.testing.assert_array_equal(recorded.spikes, skipped.spikes)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_currents_kernel_matches_reference(n_threads):
    rng = np.random.default_rng(8)
    currents = rng.standard_normal((50, 4, 6)).astype(np.float32)
    currents[rng.random(currents.shape) < 0.3] = 0.0
    W = (rng.standard_normal((6, 20)) * 0.5).astype(np.float32)
    bias = np.full(20, 0.1, dtype=np.float32)
    params = LIFParameters(beta=0.9, threshold=1.0, reset="zero", refractory=1)
    result = simulate_lif_currents(currents, W, params, bias=bias, n_threads=n_threads)
    expected = reference(currents, W, bias, params)
    assert expected[0].sum() > 20
    assert_agrees(result, expected)


def test_dense_reference_agrees_with_event_reference():
    x, W, bias = random_problem(seed=9)
    params = LIFParameters(beta=0.9, threshold=1.0, refractory=1)
    events = reference(x, W, bias, params)
    dense = reference(x, W, bias, params, dense=True)
    np.testing.assert_array_equal(events[0], dense[0])
    np.testing.assert_allclose(events[1], dense[1], rtol=1e-5, atol=1e-5)
