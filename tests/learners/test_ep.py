"""Science checks of the EP learner (ALGORITHMS.md section 1, "Checks that must hold")."""

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


HARD_THRESHOLD_LIMIT = pytest.mark.xfail(
    strict=True,
    reason="single-pass ADF is off by 0.15-0.55 when the output is a near-Heaviside step "
    "(tau = 0.1); closing the gap needs full EP (stored sites, several passes)",
)


@pytest.mark.parametrize(
    "tau", [1.0, pytest.param(0.1, marks=HARD_THRESHOLD_LIMIT)], ids=["probit", "heaviside"]
)
def test_binary_adf_marginals_match_enumeration(tau):
    x, labels = enumeration_data()
    learner = learners.make("ep", weight_kind="binary", bias=False, batch_mode="sequential",
                            tau=tau, batch_size=12, prob_floor=1e-9)
    learner.partial_fit(x, labels, classes=(0, 1))
    layer = learner.marginals()[0]
    assert list(layer["support"]) == [-1.0, 1.0]
    ep_plus = layer["probs"][1, :, 1]  # unit of class 1: y = +1 exactly when label == 1
    exact = exact_marginals(x, labels, tau)
    assert np.max(np.abs(ep_plus - exact)) < 0.1
    # the class-0 unit sees the mirrored labels, so its marginals mirror
    np.testing.assert_allclose(layer["probs"][0, :, 1], 1.0 - ep_plus, atol=1e-9)
    # and the data moved the posterior away from the prior
    assert np.max(np.abs(exact - 0.5)) > 0.3


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
