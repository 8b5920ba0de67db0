"""Science checks of the EP learner (snnlab/docs/algorithms.md section 1, "Checks that must hold")."""

import itertools
import math

import numpy as np
import pytest
from scipy.special import ndtr
from toy_tasks import toy_classification, toy_regression

from snnlab import learners


def enumeration_data(seed=0, n=12, d=6):
    rng = np.random.default_rng(seed)
    x = (rng.random((n, d)) < 0.5).astype(np.float64)
    teacher = rng.choice([-1.0, 1.0], size=d)
    labels = (x @ teacher / math.sqrt(d) + 0.3 * rng.normal(size=n) > 0).astype(np.int64)
    return x, labels


def exact_marginals(x, labels, tau):
    """P(w_j = +1 | data) for u = w.x / sqrt(d), P(y | u) = Phi(y u / tau), uniform prior."""
    d = x.shape[1]
    configs = np.array(list(itertools.product([-1.0, 1.0], repeat=d)))  # (64, d)
    u = configs @ x.T / math.sqrt(d)  # (64, n)
    y = np.where(labels == 1, 1.0, -1.0)
    log_post = np.log(np.maximum(ndtr(y * u / tau), 1e-300)).sum(axis=1)
    post = np.exp(log_post - log_post.max())
    post /= post.sum()
    return post @ (configs > 0)


def enumeration_error(seed, tau, **params):
    """Largest |P_learner(w_j = +1) - P_exact(w_j = +1)| on enumeration dataset ``seed``."""
    x, labels = enumeration_data(seed)
    learner = learners.make("ep", weight_kind="binary", bias=False, tau=tau, batch_size=12,
                            prob_floor=1e-9, **params)
    learner.partial_fit(x, labels, classes=(0, 1))
    layer = learner.marginals()[0]
    assert list(layer["support"]) == [-1.0, 1.0]
    ep_plus = layer["probs"][1, :, 1]  # unit of class 1: y = +1 exactly when label == 1
    # the class-0 unit sees the mirrored labels, so its marginals mirror
    np.testing.assert_allclose(layer["probs"][0, :, 1], 1.0 - ep_plus, atol=1e-9)
    return np.max(np.abs(ep_plus - exact_marginals(x, labels, tau)))


ADF = {"batch_mode": "sequential"}
FULL_EP = {"inference": "ep", "ep_sweeps": 100, "ep_tol": 1e-8}
SEEDS = range(5)

HARD_THRESHOLD_LIMIT = pytest.mark.xfail(
    strict=True,
    reason="near-Heaviside output (tau = 0.1): the posterior couples weights strongly and "
    "factorised ADF/EP cannot represent it; measured max errors on datasets 0-4: "
    "ADF 0.23-0.55, full EP with exact output tilts 0.00-0.24 (0.11 on dataset 0)",
)


@pytest.mark.parametrize("params", [ADF, FULL_EP], ids=["adf", "ep"])
@pytest.mark.parametrize(
    "tau", [1.0, pytest.param(0.1, marks=HARD_THRESHOLD_LIMIT)], ids=["probit", "heaviside"]
)
def test_binary_marginals_match_enumeration(tau, params):
    assert enumeration_error(0, tau, **params) < 0.1
    x, labels = enumeration_data(0)
    # the data moved the posterior away from the prior
    assert np.max(np.abs(exact_marginals(x, labels, tau) - 0.5)) > 0.3


def test_full_ep_marginals_match_enumeration_on_random_datasets():
    """Probit output: EP within 0.1 everywhere (measured <= 0.02), where one ADF pass is not."""
    ep_errors = [enumeration_error(seed, 1.0, **FULL_EP) for seed in SEEDS]
    adf_errors = [enumeration_error(seed, 1.0, **ADF) for seed in SEEDS]
    assert max(ep_errors) < 0.1 < max(adf_errors)


def test_full_ep_beats_adf_with_a_hard_threshold():
    """Near-Heaviside output: EP's error falls below ADF's on every dataset (see the xfail)."""
    ep_errors = np.array([enumeration_error(seed, 0.1, **FULL_EP) for seed in SEEDS])
    adf_errors = np.array([enumeration_error(seed, 0.1, **ADF) for seed in SEEDS])
    assert np.all(ep_errors < adf_errors)
    assert ep_errors.mean() < 0.5 * adf_errors.mean()


@pytest.mark.xfail(strict=True, reason=HARD_THRESHOLD_LIMIT.kwargs["reason"])
def test_full_ep_heaviside_within_tenth_on_random_datasets():
    assert max(enumeration_error(seed, 0.1, **FULL_EP) for seed in SEEDS) < 0.1


def test_ep_sites_make_revisits_refine_instead_of_recount():
    """ADF counts a sample again at every visit; EP replaces the sample's site."""
    x, labels = enumeration_data(1)
    runs = {}
    for name, params in (("adf", ADF), ("ep", FULL_EP)):
        learner = learners.make("ep", weight_kind="binary", bias=False, batch_size=12, **params)
        probs = []
        for _ in range(3):
            learner.partial_fit(x, labels, classes=(0, 1))
            probs.append(learner.marginals()[0]["probs"][1, :, 1].copy())
        runs[name] = probs
    np.testing.assert_allclose(runs["ep"][1], runs["ep"][2], atol=1e-6)  # a fixed point
    assert np.max(np.abs(runs["adf"][2] - runs["adf"][1])) > 0.01  # ADF keeps sharpening
    assert learner.sites_.shape == (12, 2 * 6, 2)  # one site per sample: 2 units x 6 weights


def test_full_ep_gaussian_weights_give_exact_linear_regression_means():
    """Linear-Gaussian model: EP's factorised fixed point has the exact posterior means."""
    rng = np.random.default_rng(2)
    prior_var, noise = 1.5, 0.5
    x = rng.normal(size=(15, 3))
    y = x @ np.array([0.8, -0.4, 0.3]) + math.sqrt(noise) * rng.normal(size=15)
    learner = learners.make("ep", bias=False, prior_var=prior_var, noise_var=noise,
                            learn_noise=False, inference="ep", ep_sweeps=300, ep_tol=1e-12,
                            var_floor=1e-12, batch_size=15)
    learner.partial_fit(x, y[:, None])
    phi = x / math.sqrt(3)
    cov = np.linalg.inv(np.eye(3) / prior_var + phi.T @ phi / noise)
    np.testing.assert_allclose(learner.marginals()[0]["mean"][0], cov @ phi.T @ y / noise,
                               rtol=1e-6, atol=1e-9)


def test_full_ep_state_round_trips_and_refuses_too_many_sites(monkeypatch):
    task = toy_classification()
    learner = learners.make("ep", hidden=(4,), weight_kind="ternary", inference="ep",
                            batch_size=16, seed=1).setup(task)
    batches = list(task.batches("train", batch_size=16, seed=0))[:4]
    for batch in batches[:2]:
        snapshot = learner.step(batch)
    assert snapshot.scalars["marginal_change"] > 0
    state = learner.state_dict()
    assert state["sites_"].shape[:2] == (len(task.train), len(learner.w_mean_))
    twin = learners.make("ep", hidden=(4,), weight_kind="ternary", inference="ep",
                         batch_size=16, seed=1).setup(task)
    twin.load_state_dict(state)
    for batch in batches[2:]:
        assert learner.step(batch).scalars == twin.step(batch).scalars
    with pytest.raises(ValueError, match="training samples"):
        learner.step(task.batch(np.arange(4), split="test"))
    import snnlab.learners.ep.learner as ep_module

    monkeypatch.setattr(ep_module, "MAX_SITE_VALUES", 1000)
    with pytest.raises(ValueError, match="inference='adf'"):
        learner.reset()


def test_gaussian_update_matches_bayesian_linear_regression():
    rng = np.random.default_rng(1)
    prior_var, noise = 2.0, 0.3
    # many weights, one observation: ADF's factorised update gives the exact marginals
    x = rng.normal(size=(1, 5))
    y = rng.normal(size=(1, 1))
    learner = learners.make("ep", bias=False, prior_var=prior_var, noise_var=noise,
                            learn_noise=False, var_floor=1e-12)
    learner.partial_fit(x, y)
    phi = x / math.sqrt(5)  # u = w.x / sqrt(fan_in)
    cov = np.linalg.inv(np.eye(5) / prior_var + phi.T @ phi / noise)
    mean = cov @ phi.T @ y[:, 0] / noise
    layer = learner.marginals()[0]
    np.testing.assert_allclose(layer["mean"][0], mean, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(layer["var"][0], np.diag(cov), rtol=1e-9)
    # one weight, many observations one after the other: the exact posterior
    x = rng.normal(size=(20, 1))
    y = 0.7 * x + math.sqrt(noise) * rng.normal(size=(20, 1))
    learner = learners.make("ep", bias=False, prior_var=prior_var, noise_var=noise,
                            learn_noise=False, batch_mode="sequential", var_floor=1e-12)
    learner.partial_fit(x, y)
    precision = 1 / prior_var + np.sum(x**2) / noise
    np.testing.assert_allclose(learner.marginals()[0]["var"][0, 0], 1 / precision, rtol=1e-9)
    np.testing.assert_allclose(learner.marginals()[0]["mean"][0, 0],
                               np.sum(x * y) / noise / precision, rtol=1e-9)


@pytest.mark.parametrize("params", [
    {"weight_kind": "gaussian", "hidden": (6,)},
    {"weight_kind": "ternary", "hidden": (6,), "neuron": "bernoulli"},
    {"weight_kind": "gaussian", "hidden": (6, 4), "batch_mode": "sequential"},
])
def test_variances_positive_and_probabilities_valid_over_long_runs(params):
    task = toy_classification()
    learner = learners.make("ep", batch_size=16, seed=2, **params).setup(task)
    for epoch in range(8):
        for batch in task.batches("train", batch_size=16, seed=epoch):
            learner.step(batch)
    assert learner.is_finite()
    for layer in learner.marginals():
        assert np.all(layer["var"] > 0) or "probs" in layer
        assert np.all(layer["var"] >= 0)
        if "probs" in layer:
            assert np.all((layer["probs"] >= 0) & (layer["probs"] <= 1))
            np.testing.assert_allclose(layer["probs"].sum(axis=-1), 1.0, atol=1e-9)
    proba = learner.predict_proba(task.test.x)
    assert np.all((proba >= 0) & (proba <= 1))
    assert learner.score(task.test.x, task.test.y) > 0.6


def test_marginals_layout_and_prediction_modes():
    task = toy_classification()
    learner = learners.make("ep", hidden=(5,), weight_kind="ternary").setup(task)
    for batch in task.batches("train", batch_size=32):
        learner.step(batch)
    layers = learner.marginals()
    assert [layer["name"] for layer in layers] == ["hidden1", "output"]
    assert layers[0]["mean"].shape == (5, 20) and layers[1]["probs"].shape == (3, 5, 3)
    assert list(layers[0]["support"]) == [-1.0, 0.0, 1.0]
    assert layers[0]["bias_mean"].shape == (5,)
    probabilistic = learner.predict_proba(task.test.x)
    learner.prediction = "deterministic"
    deterministic = learner.predict_proba(task.test.x)
    assert probabilistic.shape == deterministic.shape == (48, 3)
    np.testing.assert_allclose(deterministic.sum(axis=1), 1.0)


def test_regression_predictive_distribution_and_learned_noise():
    task = toy_regression()
    learner = learners.make("ep", hidden=(20,), batch_mode="sequential", seed=0).setup(task)
    for epoch in range(5):
        for batch in task.batches("train", batch_size=32, seed=epoch):
            learner.step(batch)
    mean, var = learner.predict_distribution(task.test.x)
    assert mean.shape == var.shape == (64, 1) and np.all(var > 0)
    report = learner.evaluate("test")
    assert report["rmse"] < 0.4 and math.isfinite(report["test_log_likelihood"])
    assert learner.noise_variance()[0] != pytest.approx(0.1)


def test_partial_fit_takes_plain_arrays_and_rejects_wrong_widths():
    rng = np.random.default_rng(0)
    x = (rng.random((40, 8)) < 0.5).astype(np.float64)
    y = (x[:, 0] > x[:, 1]).astype(np.int64)
    learner = learners.make("ep")
    for _ in range(5):
        learner.partial_fit(x, y)
    assert learner.predict(x).shape == (40,) and learner.score(x, y) > 0.7
    with pytest.raises(ValueError, match="input features"):
        learner.partial_fit(x[:, :5], y)
    with pytest.raises(ValueError, match="likelihood"):
        learners.make("ep", likelihood="gaussian").setup(toy_classification())
