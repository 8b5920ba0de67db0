"""Physical-unit LIF with double-exponential synapses: kernel vs twin, vs a fine ODE solution."""

import numpy as np
import pytest

from snnlab._kernels import physical_lif as kernels
from snnlab._kernels.reference import physical_lif as twins
from snnlab.neurons.physical_lif import (
    PhysicalLIFParameters,
    filtered_traces,
    simulate_physical_lif,
    simulate_stack,
    synaptic_traces,
)

PARAMS = PhysicalLIFParameters()


def random_spikes(rng, n_steps, n_batch, n_in, rate_per_step):
    return (rng.random((n_steps, n_batch, n_in)) < rate_per_step).astype(np.uint8)


def run_both(spikes, weights, params, state=None):
    """Run kernel and twin from the same state; return both (outputs, final state) tuples."""
    constants = (
        params.dt,
        params.membrane_time_constant,
        params.tau1,
        params.tau2,
        params.amplitude / params.capacitance,
        params.rest_potential,
        params.threshold,
        params.refractory_period,
    )
    n_steps, n_batch, _ = spikes.shape
    n_out = weights.shape[1]
    outputs = []
    for forward in (kernels.physical_lif_forward, twins.physical_lif_forward):
        if state is None:
            v = np.full((n_batch, n_out), params.rest_potential, np.float32)
            refractory = np.zeros((n_batch, n_out), np.float32)
            slow = np.zeros((n_batch, n_out), np.float32)
            fast = np.zeros((n_batch, n_out), np.float32)
        else:
            v, refractory, slow, fast = (a.copy() for a in state)
        spikes_out = np.empty((n_steps, n_batch, n_out), np.uint8)
        v_out = np.empty((n_steps, n_batch, n_out), np.float32)
        forward(
            spikes,
            weights,
            *constants,
            v,
            refractory,
            slow,
            fast,
            spikes_out,
            v_out,
        )
        outputs.append((spikes_out, v_out, (v, refractory, slow, fast)))
    return outputs


@pytest.mark.parametrize("refractory_period", [2.0, 1.03, 0.04])
def test_kernel_matches_twin_and_fires(refractory_period):
    # 1.03 ms ends holds mid-step; 0.04 ms ends them before the spike's own grid point
    params = PhysicalLIFParameters(refractory_period=refractory_period)
    rng = np.random.default_rng(0)
    spikes = random_spikes(rng, 800, 3, 30, 0.01)
    weights = rng.normal(1500.0, 1500.0, (30, 6)).astype(np.float32)
    (s_k, v_k, state_k), (s_t, v_t, state_t) = run_both(spikes, weights, params)
    assert s_k.sum() > 30  # the comparison covers spiking, reset and refractoriness
    np.testing.assert_array_equal(s_k, s_t)
    np.testing.assert_allclose(v_k, v_t, rtol=0, atol=1e-4)
    for a, b in zip(state_k, state_t):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-4)


def test_kernel_continues_from_state():
    rng = np.random.default_rng(1)
    spikes = random_spikes(rng, 600, 2, 20, 0.02)
    weights = rng.normal(1500.0, 1000.0, (20, 4)).astype(np.float32)
    (whole_s, whole_v, _), _ = run_both(spikes, weights, PARAMS)
    (first_s, first_v, state), _ = run_both(spikes[:250], weights, PARAMS)
    (second_s, second_v, _), _ = run_both(spikes[250:], weights, PARAMS, state=state)
    np.testing.assert_array_equal(np.concatenate([first_s, second_s]), whole_s)
    np.testing.assert_array_equal(np.concatenate([first_v, second_v]), whole_v)


def test_traces_and_filter_match_twins():
    rng = np.random.default_rng(2)
    spikes = random_spikes(rng, 400, 2, 15, 0.03)
    n_batch, n_in = spikes.shape[1:]
    decays = (np.exp(-PARAMS.dt / PARAMS.tau1), np.exp(-PARAMS.dt / PARAMS.tau2))
    traces = []
    for function in (kernels.double_exponential_traces, twins.double_exponential_traces):
        out = np.empty(spikes.shape, np.float32)
        zeros = [np.zeros((n_batch, n_in), np.float32) for _ in range(2)]
        function(spikes, PARAMS.amplitude, *decays, *zeros, out)
        traces.append(out)
    np.testing.assert_allclose(traces[0], traces[1], rtol=1e-6, atol=1e-7)
    coefficients = kernels.first_order_hold_coefficients(PARAMS.dt, 1.0)
    filtered = []
    for function in (kernels.filtered_traces, twins.filtered_traces):
        out = np.empty(spikes.shape, np.float32)
        function(traces[0], *coefficients, 1.0 / PARAMS.capacitance, out)
        filtered.append(out)
    np.testing.assert_allclose(filtered[0], filtered[1], rtol=1e-5, atol=1e-9)


def test_trace_of_one_spike_is_the_double_exponential():
    spikes = np.zeros((500, 1, 1), np.uint8)
    spikes[40, 0, 0] = 1
    c = synaptic_traces(spikes, PARAMS)[:, 0, 0]
    t = (np.arange(500) - 40) * PARAMS.dt
    expected = np.where(
        t >= 0, PARAMS.amplitude * (np.exp(-t / PARAMS.tau1) - np.exp(-t / PARAMS.tau2)), 0.0
    )
    np.testing.assert_allclose(c, expected, rtol=0, atol=1e-6)


def fine_reference(spike_times, weights, params, t_end, substeps=20):
    """Independent solution: I_syn summed from the alpha kernel, V by RK4 at dt/substeps.

    A crossing inside a fine step is timed by linear interpolation; V is held at E_L for the
    refractory period from there and integrated again from the moment the hold ends (so the
    fine grid adds no lag per spike). Returns (V per fine step, spike times per output neuron).
    """
    h = params.dt / substeps
    n_fine = round(t_end / h)

    times = np.concatenate([np.asarray(t, float) for t in spike_times])
    source = np.concatenate([np.full(len(t), i) for i, t in enumerate(spike_times)])
    spike_weights = params.amplitude * np.asarray(weights, float)[source]  # (n_spikes, n_out)

    def current(t):
        lag = np.maximum(t - times, 0.0)
        kernel = np.where(t >= times, np.exp(-lag / params.tau1) - np.exp(-lag / params.tau2), 0.0)
        return kernel @ spike_weights

    def rk4(t, v, step):
        def dvdt(time, value):
            leak = -params.leak_conductance * (value - params.rest_potential)
            return (leak + current(time)) / params.capacitance

        k1 = dvdt(t, v)
        k2 = dvdt(t + step / 2, v + step / 2 * k1)
        k3 = dvdt(t + step / 2, v + step / 2 * k2)
        k4 = dvdt(t + step, v + step * k3)
        return v + step / 6 * (k1 + 2 * k2 + 2 * k3 + k4)

    n_out = weights.shape[1]
    v = np.full(n_out, float(params.rest_potential))
    hold_end = np.full(n_out, -np.inf)
    trajectory = np.empty((n_fine + 1, n_out))
    trajectory[0] = v
    fired = [[] for _ in range(n_out)]
    for k in range(n_fine):
        t, t_next = k * h, (k + 1) * h
        v_next = rk4(t, v, h)
        for j in range(n_out):
            if hold_end[j] >= t_next:
                v_next[j] = params.rest_potential
            elif hold_end[j] > t:  # released inside this fine step
                restart = hold_end[j]
                v_next[j] = rk4(restart, np.full(n_out, params.rest_potential), t_next - restart)[j]
            if v_next[j] >= params.threshold:
                start = v[j] if hold_end[j] <= t else params.rest_potential
                t_start = max(t, hold_end[j])
                crossing = t_start + (t_next - t_start) * (params.threshold - start) / (
                    v_next[j] - start
                )
                fired[j].append(crossing)
                hold_end[j] = crossing + params.refractory_period
                v_next[j] = params.rest_potential
        v = v_next
        trajectory[k + 1] = v
    return trajectory, fired


def test_matches_fine_ode_solution():
    rng = np.random.default_rng(3)
    n_steps, n_in = 500, 20
    spikes = random_spikes(rng, n_steps, 1, n_in, 0.005)
    weights = rng.uniform(2000.0, 9000.0, (n_in, 3))
    weights[:, 2] *= 0.05  # one neuron stays subthreshold
    result = simulate_physical_lif(spikes, weights, PARAMS)
    spike_times = [np.flatnonzero(spikes[:, 0, i]) * PARAMS.dt for i in range(n_in)]
    substeps = 20
    fine_v, fine_spikes = fine_reference(
        spike_times, weights, PARAMS, (n_steps - 1) * PARAMS.dt, substeps
    )
    coarse_v = result.membrane[:, 0, :]
    quiet = coarse_v[:, 2]
    assert quiet.max() > PARAMS.rest_potential + 5.0  # a real excursion, not rest
    np.testing.assert_allclose(quiet, fine_v[::substeps, 2], rtol=0, atol=1e-3)
    for j in range(2):
        coarse_times = np.flatnonzero(result.spikes[:, 0, j]) * PARAMS.dt
        # fast firing (several spikes 2-4 ms apart): any lag carried from spike to spike would
        # add up here
        assert len(coarse_times) == len(fine_spikes[j]) >= 8
        lags = coarse_times - np.asarray(fine_spikes[j])
        assert np.all(lags >= -1e-6) and np.all(lags < PARAMS.dt + 1e-6), lags
        first = round(coarse_times[0] / PARAMS.dt)
        np.testing.assert_allclose(
            coarse_v[:first, j], fine_v[: first * substeps : substeps, j], rtol=0, atol=1e-3
        )


def test_reset_and_refractory_hold():
    params = PhysicalLIFParameters(refractory_period=1.0)
    spikes = np.ones((300, 1, 1), np.uint8)  # strong constant drive
    result = simulate_physical_lif(spikes, np.full((1, 1), 3000.0), params)
    fired = np.flatnonzero(result.spikes[:, 0, 0])
    v = result.membrane[:, 0, 0]
    held_steps = 10  # the hold starts inside the spike step and lasts 1 ms = 10 steps
    assert len(fired) >= 5
    assert np.all(np.diff(fired) >= held_steps)
    for n in fired[:-1]:
        np.testing.assert_array_equal(v[n : n + held_steps], np.float32(params.rest_potential))
        assert v[n + held_steps + 1] > params.rest_potential  # integration resumes
    no_hold = simulate_physical_lif(
        spikes, np.full((1, 1), 3000.0), PhysicalLIFParameters(refractory_period=0.0)
    )
    assert no_hold.spikes.sum() > result.spikes.sum()
    # with no hold, V at the spike step already holds the drive since the crossing
    after_spike = no_hold.membrane[no_hold.spikes[:, 0, 0] == 1, 0, 0]
    assert np.all(after_spike > params.rest_potential)


def test_filtered_traces_reproduce_subthreshold_membrane():
    rng = np.random.default_rng(4)
    spikes = random_spikes(rng, 500, 2, 10, 0.02)
    weights = rng.uniform(-300.0, 500.0, (10, 3))
    result = simulate_physical_lif(spikes, weights, PARAMS, record_traces=True)
    assert result.spikes.sum() == 0
    d = filtered_traces(result.traces, PARAMS.membrane_time_constant, PARAMS.dt, PARAMS.capacitance)
    reconstructed = PARAMS.rest_potential + np.einsum("tbi,ij->tbj", d, weights)
    excursion = np.ptp(result.membrane)
    assert excursion > 5.0
    # first-order hold against exact integration: errors of order (dt/tau2)^2 / 12 of the swing
    np.testing.assert_allclose(reconstructed, result.membrane, rtol=0, atol=1e-3 * excursion)


def test_stack_feeds_hidden_spikes_forward():
    rng = np.random.default_rng(5)
    spikes = random_spikes(rng, 500, 2, 20, 0.03)
    w1 = rng.uniform(1000.0, 4000.0, (20, 8))
    w2 = rng.uniform(3000.0, 8000.0, (8, 2))
    hidden, output = simulate_stack(spikes, [w1, w2], PARAMS, record_traces=True)
    assert hidden.spikes.sum() > 0 and output.spikes.sum() > 0
    alone = simulate_physical_lif(hidden.spikes, w2, PARAMS, record_traces=True)
    np.testing.assert_array_equal(output.spikes, alone.spikes)
    np.testing.assert_array_equal(output.membrane, alone.membrane)
    np.testing.assert_array_equal(output.traces, synaptic_traces(hidden.spikes, PARAMS))


def test_optional_recordings_are_skipped():
    spikes = np.zeros((10, 1, 2), np.uint8)
    result = simulate_physical_lif(spikes, np.ones((2, 3)), record_membrane=False)
    assert result.membrane is None and result.traces is None
    assert result.spikes.shape == (10, 1, 3)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"tau2": 6.0}, "tau2"),
        ({"threshold": -80.0}, "threshold"),
        ({"dt": 0.0}, "dt"),
        ({"refractory_period": -1.0}, "refractory_period"),
        ({"capacitance": float("nan")}, "capacitance"),
    ],
)
def test_parameters_are_validated(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PhysicalLIFParameters(**kwargs)


def test_bad_inputs_are_refused():
    spikes = np.zeros((10, 1, 2), np.uint8)
    with pytest.raises(ValueError, match=r"\(T, B, n_in\)"):
        simulate_physical_lif(spikes[:, 0], np.ones((2, 3)))
    with pytest.raises(ValueError, match="uint8"):
        simulate_physical_lif(spikes.astype(np.float32), np.ones((2, 3)))
    with pytest.raises(ValueError, match="n_in"):
        simulate_physical_lif(spikes, np.ones((3, 3)))
    with pytest.raises(ValueError, match="layer 1"):
        simulate_stack(spikes, [np.ones((2, 3)), np.ones((2, 1))])
    with pytest.raises(ValueError, match="tau"):
        filtered_traces(np.zeros((5, 1, 2), np.float32), 0.0, 0.1, 300.0)


def test_spike_counts_act_as_multiplicity():
    rng = np.random.default_rng(6)
    spikes = random_spikes(rng, 300, 2, 8, 0.02)
    weights = rng.uniform(500.0, 3000.0, (8, 3))
    doubled = simulate_physical_lif(spikes * np.uint8(2), weights, PARAMS)
    reference = simulate_physical_lif(spikes, 2 * weights, PARAMS)
    assert reference.spikes.sum() > 0
    np.testing.assert_array_equal(doubled.spikes, reference.spikes)
    np.testing.assert_allclose(doubled.membrane, reference.membrane, rtol=0, atol=1e-4)
