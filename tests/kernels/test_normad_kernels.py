"""NormAD/ReSuMe update kernels: Numba against NumPy twins, and against independent formulas."""

import itertools
import math

import numpy as np
import pytest

from snnlab.learners.normad import kernels
from snnlab.learners.normad import reference as twins
from snnlab.learners.normad.learner import (
    NUMBA,
    approximate_filtered_traces,
    forward,
    normad_updates,
    psp_derivative_kernel,
)
from snnlab.learners.normad.reference import twin_backend
from snnlab.neurons.physical_lif import PhysicalLIFParameters

NEURON = PhysicalLIFParameters()
TAU_APPROX = 1.0


def sparse_errors(rng, shape, p=0.01, signed=True):
    values = rng.choice([-1.0, 1.0], size=shape) if signed else rng.normal(size=shape)
    return np.where(rng.random(shape) < p, values, 0.0).astype(np.float32)


def test_normalized_error_update_kernel_matches_twin():
    rng = np.random.default_rng(0)
    d_hat = rng.random((200, 3, 12)).astype(np.float32)
    d_hat[:20] = 0.0  # no input yet: those instants must be skipped, not divided by zero
    error = sparse_errors(rng, (200, 3, 4), p=0.05)
    error[5, 0, 1] = 1.0
    dws = []
    for module in (kernels, twins):
        dw = np.full((12, 4), 0.5, np.float32)
        module.normalized_error_update(d_hat, error, 7.0, dw)
        dws.append(dw)
    np.testing.assert_allclose(dws[0], dws[1], rtol=1e-5, atol=1e-4)
    assert not np.allclose(dws[0], 0.5)


def test_backpropagate_errors_kernel_matches_twin():
    rng = np.random.default_rng(1)
    error_post = sparse_errors(rng, (300, 2, 5), p=0.02, signed=False)
    spikes_pre = (rng.random((300, 2, 7)) < 0.05).astype(np.uint8)
    weights = rng.normal(size=(7, 5)).astype(np.float32)
    kernel = psp_derivative_kernel(NEURON, TAU_APPROX, 20.0)
    outs = []
    for module in (kernels, twins):
        out = np.full((300, 2, 7), np.nan, np.float32)
        module.backpropagate_errors(error_post, spikes_pre, weights, kernel, 3.0, out)
        outs.append(out)
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-5, atol=1e-7)
    assert np.count_nonzero(outs[0]) > 10
    assert np.all(outs[0][spikes_pre == 0] == 0)


def test_resume_update_kernel_matches_twin():
    rng = np.random.default_rng(2)
    spikes = (rng.random((400, 2, 9)) < 0.03).astype(np.uint8)
    error = sparse_errors(rng, (400, 2, 3), p=0.02)
    results = []
    for module in (kernels, twins):
        trace = np.zeros((2, 9), np.float32)
        dw = np.zeros((9, 3), np.float32)
        module.resume_update(spikes, error, math.exp(-0.1 / 5.0), 0.3, 2.0, trace, dw)
        results.append((dw, trace))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-6)


def analytic_psp(s, tau):
    """kappâ(s) = (alpha * ĥ)(s) in closed form, zero for s <= 0."""
    s = np.asarray(s, dtype=np.float64)
    scale = NEURON.amplitude / NEURON.capacitance

    def conv(tau_syn):
        return (np.exp(-s / tau_syn) - np.exp(-s / tau)) / (1 / tau - 1 / tau_syn)

    return np.where(s > 0, scale * (conv(NEURON.tau1) - conv(NEURON.tau2)), 0.0)


def test_psp_derivative_kernel_is_the_derivative_of_the_psp():
    kernel = psp_derivative_kernel(NEURON, TAU_APPROX, 30.0)
    s = np.arange(len(kernel)) * NEURON.dt
    h = 1e-4
    numeric = (analytic_psp(s + h, TAU_APPROX) - analytic_psp(s - h, TAU_APPROX)) / (2 * h)
    np.testing.assert_allclose(kernel[1:], numeric[1:], rtol=1e-5, atol=1e-10)
    assert kernel[1] > 0 and kernel[-1] < 0  # rises after a spike, then decays


def test_normad_update_matches_independent_numpy_computation():
    """Δw = r Σ_t e(t) d̂(t)/‖d̂(t)‖ with d̂ from spike times and the closed-form kernel."""
    rng = np.random.default_rng(3)
    n_steps, n_in = 600, 15
    x = (rng.random((n_steps, 1, n_in)) < 0.01).astype(np.uint8)
    weights = (rng.normal(1.0, 0.5, (n_in, 2)) * 3000).astype(np.float32)
    target = np.zeros((n_steps, 1, 2), np.uint8)
    target[[250, 400], 0, 0] = 1
    target[330, 0, 1] = 1
    runs = forward(x, [weights], NEURON)
    changes, errors = normad_updates(
        x,
        target,
        [weights],
        runs,
        NEURON,
        lr=50.0,
        hidden_lr_scale=1.0,
        tau_approx=TAU_APPROX,
        backprop_window=40.0,
    )
    # independent: d̂_i(t_n) as a sum of closed-form PSPs of the spikes of input i
    times = np.arange(n_steps) * NEURON.dt
    spike_steps, _, spike_inputs = np.nonzero(x)
    d_hat = np.zeros((n_steps, n_in))
    for k, i in zip(spike_steps, spike_inputs):
        d_hat[:, i] += analytic_psp(times - k * NEURON.dt, TAU_APPROX)
    error = target[:, 0].astype(float) - runs[0].spikes[:, 0]
    expected = np.zeros((n_in, 2))
    for n, j in zip(*np.nonzero(error)):
        expected[:, j] += 50.0 * error[n, j] * d_hat[n] / np.linalg.norm(d_hat[n])
    assert np.count_nonzero(error) >= 3
    np.testing.assert_allclose(changes[0], expected, rtol=2e-3, atol=2e-3 * 50.0)
    np.testing.assert_array_equal(errors[0][:, 0], error)


def test_hidden_errors_match_independent_sum_over_spike_pairs():
    """δ_h(t_h) = (1/V̇_ref) Σ_o w_ho Σ_t e_o(t) kappâ'(t - t_h) at every hidden spike."""
    rng = np.random.default_rng(4)
    n_steps = 500
    x = (rng.random((n_steps, 1, 20)) < 0.02).astype(np.uint8)
    layers = [
        (rng.normal(1.0, 1.0, (20, 6)) * 2500).astype(np.float32),
        (rng.normal(1.0, 0.5, (6, 2)) * 8000).astype(np.float32),
    ]
    target = np.zeros((n_steps, 1, 2), np.uint8)
    target[[120, 300], 0, 0] = 1
    target[200, 0, 1] = 1
    runs = forward(x, layers, NEURON)
    _, errors = normad_updates(
        x,
        target,
        layers,
        runs,
        NEURON,
        lr=1.0,
        hidden_lr_scale=1.0,
        tau_approx=TAU_APPROX,
        backprop_window=40.0,
    )
    slope = (NEURON.threshold - NEURON.rest_potential) / NEURON.membrane_time_constant
    error_out = errors[1][:, 0]
    expected = np.zeros((n_steps, 6))
    h = 1e-4
    for n, hid in zip(*np.nonzero(runs[0].spikes[:, 0])):
        for m, o in zip(*np.nonzero(error_out)):
            lag = (m - n) * NEURON.dt
            if 0 < lag <= 40.0:
                derivative = (
                    analytic_psp(lag + h, TAU_APPROX) - analytic_psp(lag - h, TAU_APPROX)
                ) / (2 * h)
                expected[n, hid] += layers[1][hid, o] * error_out[m, o] * derivative / slope
    assert np.count_nonzero(expected) >= 3
    np.testing.assert_allclose(errors[0][:, 0], expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("hidden", [(), (8,), (8, 5)])
def test_numba_and_numpy_backends_give_the_same_updates(hidden):
    rng = np.random.default_rng(5)
    sizes = [12, *hidden, 2]
    x = (rng.random((300, 2, 12)) < 0.03).astype(np.uint8)
    layers = [
        (rng.normal(1.0, 1.0, (a, b)) * 30000 / a).astype(np.float32)
        for a, b in itertools.pairwise(sizes)
    ]
    target = np.zeros((300, 2, 2), np.uint8)
    target[[100, 200], :, 0] = 1
    outs = []
    for backend in (NUMBA, twin_backend()):
        runs = forward(x, layers, NEURON, backend)
        changes, errors = normad_updates(
            x,
            target,
            layers,
            runs,
            NEURON,
            lr=10.0,
            hidden_lr_scale=1.0,
            tau_approx=TAU_APPROX,
            backprop_window=40.0,
            backend=backend,
        )
        outs.append((runs, changes, errors))
    for a, b in zip(outs[0][0], outs[1][0]):
        np.testing.assert_array_equal(a.spikes, b.spikes)
    for a, b in zip(outs[0][1], outs[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(
        approximate_filtered_traces(x, NEURON, 1.0),
        approximate_filtered_traces(x, NEURON, 1.0, twin_backend()),
        rtol=1e-5,
        atol=1e-9,
    )
