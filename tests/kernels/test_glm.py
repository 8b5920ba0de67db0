import numpy as np
import pytest

from snnlab._kernels.rng import make_streams
from snnlab.learners.gem import kernels, reference
from snnlab.learners.gem.network import (
    RULES,
    GEMConfig,
    GEMWorkspace,
    GLMNetworkShape,
    gem_train_batch,
    gem_train_example,
    glm_infer,
    init_glm_network,
)

SHAPE = GLMNetworkShape(n_in=5, n_hid=4, n_out=3, n_basis=3, memory=4)
T = 16


def _data(seed, shape=SHAPE, n_steps=T, batch=None):
    rng = np.random.default_rng(seed)
    lead = (n_steps,) if batch is None else (n_steps, batch)
    x = (rng.random(lead + (shape.n_in,)) < 0.35).astype(np.uint8)
    x[: n_steps // 3, ..., 0] = 0  # input 0 starts late: its rows become live mid-example
    x[..., 1] = 0  # input 1 never fires: its rows stay skipped
    y = (rng.random(lead + (shape.n_out,)) < 0.4).astype(np.uint8)
    return x, y


def _network(seed=3, shape=SHAPE, scale=0.8):
    return init_glm_network(shape, seed=seed, init_scale=scale)


def _run_kernel(net, x, y, streams, rule, clamp=True, per_step=True, kappa=0.3, scale=False,
                n_threads=1, record=True, dirty=True, beta=0.2):
    """The fused kernel on a workspace full of NaN (it must not read stale contents)."""
    s = net.shape
    n_comp = streams.shape[0]
    ws = GEMWorkspace(s, n_comp, rule)
    if dirty:
        for array in (ws.traces, ws.baseline_num, ws.baseline_den):
            array.fill(np.nan)
    n_steps = x.shape[0]
    out = {
        "update": np.zeros((s.n_rows, s.n_post), np.float32),
        "omega": np.zeros((n_steps, n_comp), np.float32),
        "loglik": np.zeros((n_steps, n_comp), np.float32),
        "signal": np.zeros((n_steps, n_comp), np.float32),
        "hid_spk": np.zeros((n_steps, n_comp, s.n_hid), np.uint8),
        "out_spk": np.zeros((n_steps, n_comp, s.n_out), np.uint8),
        "out_u": np.zeros((n_steps if record else 0, n_comp, s.n_out), np.float32),
    }
    kernels.gem_train_example(
        x, y, clamp, net.theta, net.basis, net.feedback_kernel, s.n_hid, RULES[rule], kappa,
        scale, 0.05, per_step, beta, 0.5, 0.3, streams, ws.traces, ws.baseline_num,
        ws.baseline_den, out["update"], out["omega"], out["loglik"], out["signal"],
        out["hid_spk"], out["out_spk"], out["out_u"], n_threads,
    )
    return out


def _bursty_data(seed, n_steps=60):
    """Inputs that fall silent for longer than memory + rows_kept(0.05): their rows expire and
    come back; hidden neurons biased to fire rarely, so theirs do too."""
    x, y = _data(seed, n_steps=n_steps)
    x[20:45] = 0
    return x, y


@pytest.mark.parametrize(
    "rule, clamp, per_step, scale, kappa",
    [("gem", True, True, False, 0.3), ("gem", False, False, True, 0.3),
     ("iw", True, True, False, 0.3), ("mb", True, True, True, 0.3),
     ("mb1", True, False, False, 0.3), ("gem", True, True, False, 0.05),
     ("iw", True, True, False, 0.05), ("mb", True, False, False, 0.05)],
)
def test_training_kernel_matches_numpy_twin(rule, clamp, per_step, scale, kappa):
    n_comp = 1 if rule == "mb1" else 3
    x, y = _data(0) if kappa == 0.3 else _bursty_data(0)
    net_k, net_r = _network(), _network()
    if kappa != 0.3:
        for net in (net_k, net_r):
            net.bias[: SHAPE.n_hid] = -3.0
    initial = net_k.theta.copy()
    st_k, st_r = make_streams(11, n_comp), make_streams(11, n_comp)
    beta = 0.2 if kappa == 0.3 else 0.9  # slow baselines must survive their rows' pauses
    got = _run_kernel(net_k, x, y, st_k, rule, clamp, per_step, kappa=kappa, scale=scale,
                      beta=beta)
    want = reference.gem_train_example(
        x, y, clamp, net_r.theta, net_r.basis, net_r.feedback_kernel, SHAPE.n_hid, RULES[rule],
        kappa, scale, 0.05, per_step, beta, 0.5, 0.3, st_r, record_potentials=True)
    np.testing.assert_array_equal(got["hid_spk"], want["hid_spk"])
    np.testing.assert_array_equal(got["out_spk"], want["out_spk"])
    assert got["hid_spk"].any() and not got["hid_spk"].all()
    np.testing.assert_array_equal(st_k, st_r)
    for name in ("omega", "loglik", "signal", "out_u"):
        np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=1e-5, err_msg=name)
    np.testing.assert_allclose(got["update"], want["update"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(net_k.theta, net_r.theta, rtol=1e-5, atol=1e-6)
    assert np.abs(got["update"]).max() > 1e-2
    if per_step:
        assert not np.allclose(net_k.theta, initial)
    else:
        np.testing.assert_array_equal(net_k.theta, initial)


@pytest.mark.parametrize("clamp", [False, True])
def test_inference_kernel_matches_numpy_twin(clamp):
    x, y = _data(1, batch=3)
    net = _network()
    st_k, st_r = make_streams(5, 4), make_streams(5, 4)
    got = glm_infer(net, x, st_k, targets=y, clamp_outputs=clamp)
    want = reference.glm_infer(x, y, True, clamp, net.theta, net.basis, net.feedback_kernel,
                               SHAPE.n_hid, st_r)
    np.testing.assert_array_equal(got.counts, want["counts"])
    np.testing.assert_allclose(got.loglik, want["loglik"], rtol=1e-5)
    np.testing.assert_array_equal(st_k, st_r)
    if clamp:
        clamped = np.broadcast_to(y.sum(0)[:, None], got.counts.shape)
        np.testing.assert_array_equal(got.counts, clamped)


@pytest.mark.parametrize("rule", ["gem", "iw", "mb"])
def test_training_results_do_not_depend_on_thread_count(rule):
    x, y = _data(2)
    runs = []
    for n_threads in (1, 2):
        net = _network()
        runs.append((_run_kernel(net, x, y, make_streams(4, 5), rule, n_threads=n_threads),
                     net.theta))
    (a, theta_a), (b, theta_b) = runs
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    np.testing.assert_array_equal(theta_a, theta_b)


def test_inference_results_do_not_depend_on_thread_count():
    x, y = _data(3, batch=2)
    net = _network()
    a = glm_infer(net, x, make_streams(8, 5), targets=y, n_threads=1)
    b = glm_infer(net, x, make_streams(8, 5), targets=y, n_threads=2)
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_array_equal(a.loglik, b.loglik)


# -- gradients ------------------------------------------------------------------------------
def _per_step_loglik(theta64, net, x, hid, out):
    """log p of every learnable neuron's (fixed) spike, summed per step: ``(T,)`` float64."""
    steps = []
    for t in range(x.shape[0]):
        u, _, _ = reference.potentials(t, x, hid, out, theta64, net.basis, net.feedback_kernel)
        s = np.concatenate([hid[t], out[t]], axis=1)
        steps.append(np.where(s != 0, reference.log_sigmoid(u), reference.log_sigmoid(-u)).sum())
    return np.array(steps)


def _per_step_fd_gradient(net, x, hid, out, h=1e-6):
    """Central finite differences of each step's log-likelihood: ``(T, R, n_post)``."""
    theta = net.theta.astype(np.float64)
    grads = np.zeros((x.shape[0],) + theta.shape)
    for idx in np.ndindex(theta.shape):
        plus, minus = theta.copy(), theta.copy()
        plus[idx] += h
        minus[idx] -= h
        grads[(slice(None),) + idx] = (_per_step_loglik(plus, net, x, hid, out)
                                       - _per_step_loglik(minus, net, x, hid, out)) / (2 * h)
    return grads


def _self_mask(shape):
    mask = np.zeros((shape.n_rows, shape.n_post), bool)
    for h in range(shape.n_hid):
        mask[(shape.n_in + h) * shape.n_basis:(shape.n_in + h + 1) * shape.n_basis, h] = True
    return mask


TINY = GLMNetworkShape(n_in=3, n_hid=2, n_out=2, n_basis=2, memory=3)


@pytest.mark.parametrize("kappa, scale", [(0.0, False), (0.4, False), (0.4, True)])
def test_single_compartment_gem_is_the_maximum_likelihood_eligibility_update(kappa, scale):
    """K = 1, fixed parameters: update = sum_t e_t, e_t = kappa e_{t-1} + c grad_t log p(s_t),
    with grad_t from finite differences of the log-likelihood of the clamped spikes. With
    kappa = 0 it is the gradient of the whole example's log-likelihood."""
    x, y = _data(6, shape=TINY, n_steps=10)
    net = _network(shape=TINY, scale=1.0)
    got = _run_kernel(net, x, y, make_streams(2, 1), "gem", per_step=False, kappa=kappa,
                      scale=scale)
    hid, out = got["hid_spk"], got["out_spk"]
    np.testing.assert_array_equal(out[:, 0], y)
    grads = _per_step_fd_gradient(net, x, hid, out)
    c = (1 - kappa) if scale else 1.0
    trace = np.zeros(grads.shape[1:])
    expected = np.zeros(grads.shape[1:])
    for g in grads:
        trace = kappa * trace + c * g
        expected += trace
    free = ~_self_mask(TINY)
    visible = np.zeros_like(free)
    visible[:, TINY.n_hid:] = True
    assert np.abs(expected[visible]).max() > 0.1
    np.testing.assert_allclose(got["update"][visible], expected[visible], rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(got["update"][free], expected[free], rtol=2e-4, atol=2e-5)
    assert np.all(got["update"][~free] == 0)  # self-connections stay with the feedback kernel
    if kappa == 0.0:
        total = _per_step_fd_gradient(net, x, hid, out).sum(axis=0)
        np.testing.assert_allclose(got["update"][free], total[free], rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("scale", [False, True])
def test_importance_weights_are_the_softmax_of_smoothed_loglikelihoods(scale):
    x, y = _data(7)
    kappa = 0.3
    got = _run_kernel(_network(), x, y, make_streams(9, 6), "gem", kappa=kappa, scale=scale)
    omega, r = got["omega"].astype(float), got["loglik"].astype(float)
    np.testing.assert_allclose(omega.sum(axis=1), 1.0, atol=1e-6)
    v = np.zeros(6)
    for t in range(T):
        v = kappa * v + ((1 - kappa) if scale else 1.0) * r[t]
        soft = np.exp(v - v.max()) / np.exp(v - v.max()).sum()
        np.testing.assert_allclose(omega[t], soft, rtol=1e-5, atol=1e-7)
    assert omega.std(axis=1).max() > 0.01  # compartments differ, so the weights do


def test_iw_signal_is_log_mean_exp_of_smoothed_loglikelihoods():
    x, y = _data(8)
    got = _run_kernel(_network(), x, y, make_streams(3, 4), "iw", kappa=0.3)
    v = np.zeros(4)
    for t in range(T):
        v = 0.3 * v + got["loglik"][t].astype(float)
        want = np.log(np.mean(np.exp(v - v.max()))) + v.max()
        np.testing.assert_allclose(got["signal"][t], want, rtol=1e-5)


def test_gem_with_many_compartments_weights_each_compartment_by_omega():
    """Output columns of the update: sum_t sum_k omega^k_t e^k_t, traces from clamped outputs."""
    x, y = _data(9, shape=TINY, n_steps=8)
    net = _network(shape=TINY, scale=1.0)
    got = _run_kernel(net, x, y, make_streams(1, 3), "gem", per_step=False, kappa=0.0)
    expected = np.zeros((TINY.n_rows, TINY.n_post))
    for k in range(3):
        one = slice(k, k + 1)
        grads = _per_step_fd_gradient(net, x, got["hid_spk"][:, one], got["out_spk"][:, one])
        expected += np.einsum("t,trc->rc", got["omega"][:, k].astype(float), grads)
    free = ~_self_mask(TINY)
    np.testing.assert_allclose(got["update"][free], expected[free], rtol=5e-4, atol=5e-5)


# -- drivers --------------------------------------------------------------------------------
def test_driver_applies_per_example_update_and_keeps_self_connections_zero():
    x, y = _data(10)
    net = _network()
    before = net.theta.copy()
    res = gem_train_example(net, x, y, make_streams(0, 3), GEMConfig(apply="example"))
    np.testing.assert_allclose(net.theta, before + np.float32(0.05) * res.update, rtol=1e-6)
    diag = np.arange(SHAPE.n_hid)
    assert np.all(net.w_hid_hid[diag, diag] == 0)
    assert res.output_potentials is None and res.hidden_spikes.shape == (T, 3, SHAPE.n_hid)


def test_batch_driver_is_sequential_online_learning():
    x, y = _data(11, batch=3)
    net_a, net_b = _network(), _network()
    st_a, st_b = make_streams(1, 2), make_streams(1, 2)
    results = gem_train_batch(net_a, x, y, st_a, GEMConfig(rule="iw"))
    for b in range(3):
        res = gem_train_example(net_b, x[:, b], y[:, b], st_b, GEMConfig(rule="iw"))
        np.testing.assert_array_equal(res.update, results[b].update)
    np.testing.assert_array_equal(net_a.theta, net_b.theta)


def test_weight_views_share_memory_with_theta():
    net = _network()
    net.w_in_out[2, 1, 0] = 7.0
    row = 2 * SHAPE.n_basis + 0
    assert net.theta[row, SHAPE.n_hid + 1] == 7.0
    assert net.w_in_hid.shape == (SHAPE.n_in, SHAPE.n_hid, SHAPE.n_basis)
    assert net.w_hid_out.shape == (SHAPE.n_hid, SHAPE.n_out, SHAPE.n_basis)


def test_same_seed_same_network():
    np.testing.assert_array_equal(_network(seed=4).theta, _network(seed=4).theta)
    assert np.abs(init_glm_network(SHAPE, seed=0).theta).max() <= 0.1


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda n, x, y: gem_train_example(n, x.astype(np.float32), y, make_streams(0, 2)),
         "uint8"),
        (lambda n, x, y: gem_train_example(n, x[:, :2], y, make_streams(0, 2)), "shape"),
        (lambda n, x, y: gem_train_example(n, x, y * 2, make_streams(0, 2)), "0/1"),
        (lambda n, x, y: gem_train_example(n, x, y, make_streams(0, 2), GEMConfig(rule="mb1")),
         "K = 1"),
        (lambda n, x, y: gem_train_example(n, x, y, np.zeros(2, np.int64)), "uint64"),
        (lambda n, x, y: glm_infer(n, x[:, None], make_streams(0, 2), clamp_outputs=True),
         "targets"),
    ],
)
def test_drivers_refuse_bad_inputs(call, match):
    x, y = _data(12)
    with pytest.raises(ValueError, match=match):
        call(_network(), x, y)


@pytest.mark.parametrize(
    "kwargs", [{"rule": "em"}, {"kappa": 1.0}, {"apply": "never"}, {"target_rate": 0.0},
               {"n_threads": 0}, {"learning_rate": -1.0}],
)
def test_config_refuses_bad_values(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        GEMConfig(**kwargs)
