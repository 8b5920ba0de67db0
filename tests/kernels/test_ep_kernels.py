"""The EP kernels agree with their NumPy twins, and the reverse pass is the gradient of log Z."""

import itertools
import math

import numpy as np
import pytest

from snnlab._kernels.rng import make_streams
from snnlab.learners.ep import kernels as K
from snnlab.learners.ep import reference as R

WIDTHS = np.array([7, 5, 4, 3], dtype=np.int64)
BIAS = 1
B = 6


def network(discrete, seed=0):
    rng = np.random.default_rng(seed)
    n_weights = int(K.weight_offsets(WIDTHS, BIAS)[-1])
    if discrete:
        support = np.array([-1.0, 0.0, 1.0])
        probs = rng.dirichlet(np.ones(3), size=n_weights)
        return probs @ support, probs @ support**2 - (probs @ support) ** 2, np.log(probs), support
    return rng.normal(size=n_weights), rng.uniform(0.1, 1.0, n_weights), np.zeros((0, 0)), np.zeros(0)


def buffers(x, x_var):
    act_mean = np.zeros((len(x), int(WIDTHS[:-1].sum())))
    act_var = np.zeros_like(act_mean)
    act_mean[:, : WIDTHS[0]], act_var[:, : WIDTHS[0]] = x, x_var
    pre = np.zeros((len(x), int(WIDTHS[1:].sum())))
    return [act_mean, act_var, pre, pre.copy(), pre.copy(), pre.copy(), np.zeros(len(x))]


def inputs(seed=1):
    rng = np.random.default_rng(seed)
    p = rng.random((B, WIDTHS[0]))
    y = np.where(rng.random((B, WIDTHS[-1])) < 0.5, 1.0, -1.0)
    return p, p * (1 - p), y


@pytest.mark.parametrize("discrete", [False, True], ids=["gaussian", "ternary"])
@pytest.mark.parametrize("sequential", [False, True], ids=["sum", "sequential"])
def test_training_step_matches_reference(discrete, sequential):
    x, x_var, y = inputs()
    results = []
    for module in (K, R):
        mean, var, log_probs, support = network(discrete)
        bufs = buffers(x, x_var)
        alpha, beta = np.full(3, 6.0), np.full(3, 0.5)
        settings = (0.1, 1e-6, 1.0, 1e-4)  # damping, var_floor, var_max, prob_floor
        if sequential:
            module.ep_train_sequential(mean, var, log_probs, support, WIDTHS, BIAS, 0.1, 0.3, y,
                                       K.LIKELIHOOD_PROBIT, 1.0, alpha, beta, False, *settings,
                                       *bufs)
        else:
            module.ep_forward_backward(mean, var, WIDTHS, BIAS, 0.1, 0.3, y, K.LIKELIHOOD_PROBIT,
                                       1.0, beta / (alpha - 1), *bufs, 2)
            module.ep_update(mean, var, log_probs, support, WIDTHS, BIAS, bufs[0], bufs[1],
                             bufs[4], bufs[5], *settings, 2)
        results.append([mean, var, log_probs, *bufs])
    for kernel, reference in zip(*results):
        np.testing.assert_allclose(kernel, reference, rtol=1e-9, atol=1e-12)


def test_regression_and_noise_update_match_reference():
    rng = np.random.default_rng(3)
    x, x_var, _ = inputs(3)
    y = rng.normal(size=(B, 3))
    results = []
    for module in (K, R):
        mean, var, _, _ = network(False, seed=3)
        bufs = buffers(x, x_var)
        alpha, beta = np.full(3, 6.0), np.full(3, 0.5)
        module.ep_forward_backward(mean, var, WIDTHS, BIAS, 0.0, 0.0, y, K.LIKELIHOOD_GAUSSIAN,
                                   1.0, beta / (alpha - 1), *bufs, 1)
        module.noise_update_batch(y, bufs[2], bufs[3], WIDTHS, 0, B, 0.0, alpha, beta)
        results.append([alpha, beta, *bufs])
    for kernel, reference in zip(*results):
        np.testing.assert_allclose(kernel, reference, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("likelihood", [K.LIKELIHOOD_PROBIT, K.LIKELIHOOD_GAUSSIAN])
def test_reverse_pass_is_the_gradient_of_log_z(likelihood):
    mean, var, _, _ = network(False, seed=5)
    x, x_var, y = inputs(5)
    x, x_var, y = x[:1], x_var[:1], (y[:1] if likelihood == K.LIKELIHOOD_PROBIT else 0.4 * y[:1])

    def log_z(m, v):
        bufs = buffers(x, x_var)
        K.ep_forward_backward(m, v, WIDTHS, BIAS, 0.2, 0.3, y, likelihood, 0.5,
                              np.full(3, 0.2), *bufs, 1)
        return bufs

    bufs = log_z(mean, var)
    act_mean, act_var, grad_m, grad_v = bufs[0], bufs[1], bufs[4], bufs[5]
    offsets = K.weight_offsets(WIDTHS, BIAS)
    a_off, p_off = K.input_offsets(WIDTHS), K.unit_offsets(WIDTHS)
    rng = np.random.default_rng(0)
    for w in rng.choice(int(offsets[-1]), size=25, replace=False):
        layer = int(np.searchsorted(offsets, w, side="right") - 1)
        i, j = divmod(int(w - offsets[layer]), int(WIDTHS[layer]) + BIAS)
        kappa = 1 / math.sqrt(WIDTHS[layer] + BIAS)
        a = act_mean[0, a_off[layer] + j] if j < WIDTHS[layer] else 1.0
        c = act_var[0, a_off[layer] + j] if j < WIDTHS[layer] else 0.0
        gm, gv = grad_m[0, p_off[layer] + i], grad_v[0, p_off[layer] + i]
        g = kappa * gm * a + 2 * kappa**2 * gv * mean[w] * c
        h = kappa**2 * gv * (a * a + c)
        eps = 1e-6
        for exact, array, other in ((g, mean, var), (h, var, mean)):
            up, down = array.copy(), array.copy()
            up[w] += eps
            down[w] -= eps
            if array is mean:
                numeric = (log_z(up, other)[6][0] - log_z(down, other)[6][0]) / (2 * eps)
            else:
                numeric = (log_z(other, up)[6][0] - log_z(other, down)[6][0]) / (2 * eps)
            assert numeric == pytest.approx(exact, rel=1e-5, abs=1e-8)


@pytest.mark.parametrize("stochastic", [False, True])
def test_spiking_forward_matches_reference_and_thread_count(stochastic):
    mean, _, _, _ = network(False, seed=7)
    x = (np.random.default_rng(7).random((B, WIDTHS[0])) < 0.5).astype(np.float64)
    outputs = []
    for module, threads in ((K, 1), (K, 2), (R, 1)):
        potentials = np.zeros((B, WIDTHS[-1]))
        module.spiking_forward(x, mean, WIDTHS, BIAS, 0.1, 0.5, stochastic, make_streams(9, B),
                               potentials, threads)
        outputs.append(potentials)
    np.testing.assert_array_equal(outputs[0], outputs[1])
    np.testing.assert_allclose(outputs[0], outputs[2], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("likelihood", [K.LIKELIHOOD_PROBIT, K.LIKELIHOOD_GAUSSIAN],
                         ids=["probit", "gaussian-noise"])
@pytest.mark.parametrize(("discrete", "exact_tilt"), [(False, False), (True, False), (True, True)],
                         ids=["gaussian", "ternary-moments", "ternary-exact"])
def test_ep_sites_match_reference(discrete, likelihood, exact_tilt):
    x, x_var, y = inputs(11)
    if likelihood == K.LIKELIHOOD_GAUSSIAN:
        y = 0.5 * np.random.default_rng(11).normal(size=y.shape)
    index = np.array([0, 2, 1, 2, 0, 3], dtype=np.int64)  # samples revisit their sites
    results = []
    for module in (K, R):
        mean, var, log_probs, support = network(discrete, seed=11)
        sites = np.zeros((4, len(mean), len(support) or 2))
        noise_sites = np.zeros((4, 3, 2))
        alpha, beta = np.full(3, 6.0), np.full(3, 0.5)
        for _ in range(2):  # two sweeps: the second divides out the sites of the first
            bufs = buffers(x, x_var)
            module.ep_train_sites(mean, var, log_probs, support, sites, index, WIDTHS, BIAS, 0.1,
                                  0.3, y, likelihood, 0.5, alpha, beta, noise_sites, True,
                                  exact_tilt, 0.3, 1e-6, 2.0, 1e-4, *bufs)
        results.append([mean, var, log_probs, sites, noise_sites, alpha, beta, *bufs])
    assert np.any(results[0][3] != 0)
    for kernel, reference in zip(*results):
        np.testing.assert_allclose(kernel, reference, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("likelihood", [K.LIKELIHOOD_PROBIT, K.LIKELIHOOD_GAUSSIAN])
def test_lattice_tilt_is_the_exact_conditional_evidence(likelihood):
    """``Z(w_j = k)`` by brute force over every weight setting and every spike pattern."""
    rng = np.random.default_rng(4)
    support = np.array([-1.0, 0.0, 1.0])
    a = np.array([0.0, 1.0, 0.3, 0.8])  # silent, certain and uncertain spikes
    c = a * (1 - a)
    q = rng.dirichlet(np.ones(3), size=5)  # 4 inputs + bias
    kappa, y, tau2, noise = 1 / math.sqrt(5), 1.0, 0.3, 0.2
    log_q = np.log(q)
    table, forward = np.empty((6, 11)), np.empty((2, 11))
    tilt = np.empty((5, 3))
    assert K.lattice_tilt(a, c, 4, 1, log_q, 0, support, kappa, y, likelihood, tau2, noise,
                          np.empty(5, dtype=np.int64), table, forward, tilt)
    a_full = np.append(a, 1.0)
    z = np.zeros((5, 3))
    for ks in itertools.product(range(3), repeat=5):
        p_w = np.prod(q[np.arange(5), ks])
        for spikes in itertools.product([0.0, 1.0], repeat=5):
            p_v = np.prod(np.where(np.array(spikes) == 1, a_full, 1 - a_full))
            u = kappa * np.dot(support[list(ks)], spikes)
            lik = math.exp(K.unit_log_lik(y, u, likelihood, tau2, noise))
            for j in range(5):
                z[j, ks[j]] += p_w / q[j, ks[j]] * p_v * lik
    exact = np.log(z)
    np.testing.assert_allclose(tilt[1:] - tilt[1:, :1], exact[1:] - exact[1:, :1], atol=1e-10)
    np.testing.assert_array_equal(tilt[0], 0.0)  # a silent input says nothing about its weight
    reference = R.lattice_tilt(np.append(a, 1.0), np.append(c, 0.0), q, support, kappa, y,
                               likelihood, tau2, noise)
    np.testing.assert_allclose(reference - reference[:, :1], tilt - tilt[:, :1], atol=1e-10)
    # real-valued inputs have no lattice: the kernel declines, the caller falls back
    assert not K.lattice_tilt(np.array([0.0, 2.0, 0.3, 0.8]), np.zeros(4), 4, 1, log_q, 0,
                              support, kappa, y, likelihood, tau2, noise,
                              np.empty(5, dtype=np.int64), table, forward, tilt)
