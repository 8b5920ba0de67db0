"""WP science checks (snnlab/docs/algorithms.md section 4): estimator means, 1/K variance, smooth limit."""

import numpy as np
import pytest
from toy_tasks import toy_regression

from snnlab import learners
from snnlab.data import load_task
from snnlab.runner import Runner

ESTIMATORS = ("forward", "central", "smoothing")


def cosine(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def tiny(task, **params):
    settings = {"hidden": (8,), "n_steps": 16, "epsilon": 0.05, "sigma": 0.05, "n_threads": 1,
                "diagnostic_every": 0, "reference_samples": 128}
    return learners.make("wp", **{**settings, **params}).setup(task)


@pytest.fixture(scope="module")
def trained():
    """A tiny spiking network part-way through learning (its gradient is no longer one bias)."""
    task = toy_regression()
    learner = tiny(task, lr=0.02)
    runner = Runner(learner, task, eval_every=0)
    for _ in range(60):
        runner.advance()
    return task, learner.state_dict()


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_estimator_mean_points_along_the_smoothed_gradient(trained, estimator):
    task, state = trained
    learner = tiny(task, estimator=estimator, n_directions=256)
    learner.load_state_dict(state)
    batch = task.batch(np.arange(16))
    reference = learner.reference_gradient(batch)
    mean = np.concatenate([learner.direction_estimates(batch) for _ in range(4)]).mean(axis=0)
    assert cosine(mean, reference) > 0.95
    # the spiking loss is not smooth: a single direction is a poor estimate on its own
    assert cosine(learner.direction_estimates(batch)[0], reference) < 0.9


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_estimator_variance_falls_as_one_over_k(trained, estimator):
    task, state = trained
    batch = task.batch(np.arange(16))
    spread = {}
    for k in (1, 4, 16):
        learner = tiny(task, estimator=estimator, n_directions=k)
        learner.load_state_dict(state)
        averages = np.array([learner.direction_estimates(batch).mean(axis=0) for _ in range(100)])
        spread[k] = averages.var(axis=0).sum()
    assert 2.0 < spread[1] / spread[4] < 8.0
    assert 8.0 < spread[1] / spread[16] < 32.0


@pytest.mark.parametrize("estimator", ["forward", "central"])
@pytest.mark.parametrize("perturb", ["weights", "activity"])
def test_estimators_agree_with_finite_differences_in_the_smooth_limit(estimator, perturb):
    """No hidden layer: the output is linear in the parameters and the loss is smooth."""
    task = toy_regression()
    learner = tiny(task, hidden=(), estimator=estimator, perturb=perturb, epsilon=1e-3,
                   n_directions=256)
    batch = task.batch(np.arange(32))
    net, theta = learner.net_, learner.theta_

    def loss(t):
        out = net.forward(batch.x, t).out[0]
        return np.mean((out.astype(np.float64) - batch.y) ** 2)

    h = 1e-2
    exact = np.array([
        (loss(theta + h * e) - loss(theta - h * e)) / (2 * h)
        for e in np.eye(len(theta), dtype=np.float32)
    ])
    mean = np.concatenate([learner.direction_estimates(batch) for _ in range(4)]).mean(axis=0)
    assert cosine(mean, exact) > 0.99
    assert np.linalg.norm(mean) == pytest.approx(np.linalg.norm(exact), rel=0.15)


def test_layer_scope_updates_one_layer_in_turn():
    task = toy_regression()
    learner = tiny(task, scope="layer", lr=0.01)
    net = learner.net_
    edges = net.offsets
    for step in range(2):
        before = learner.theta_.copy()
        learner.step(task.batch(np.arange(8)))
        changed = np.flatnonzero(learner.theta_ != before)
        assert changed.size and edges[step] <= changed.min() and changed.max() < edges[step + 1]


def test_diagnostics_are_declared_finite_and_refreshed():
    task = toy_regression()
    learner = tiny(task, diagnostic_every=2, n_directions=4)
    batch = task.batch(np.arange(8))
    cosines = [learner.step(batch).scalars["estimator_cosine"] for _ in range(4)]
    assert cosines[0] != 0.0 and cosines[1] == cosines[0] and cosines[2] != cosines[1]
    snap = learner.step(batch)
    assert snap.is_finite() and snap.scalars["estimator_variance"] > 0
    assert snap.scalars["forward_passes"] == 5 * (2 * 4 + 1)


def test_pde_task_trains_on_residuals_and_evaluates_against_the_exact_solution():
    task = load_task("pde-poisson1d", n_collocation=16)
    learner = tiny(task, n_directions=8, lr=0.02)
    runner = Runner(learner, task, eval_every=0)
    snaps = [runner.advance() for _ in range(30)]
    assert np.mean([s.scalars["loss"] for s in snaps[-5:]]) < np.mean(
        [s.scalars["loss"] for s in snaps[:5]])
    report = learner.evaluate("test", max_samples=101)
    exact = task.problem.exact(task.test.x)
    predicted = learner.predict(task.test.x)[:, 0]
    full = np.linalg.norm(predicted - exact) / np.linalg.norm(exact)
    assert report["rel_l2"] == pytest.approx(full, rel=0.1)
    assert snaps[-1].arrays["prediction"].shape == snaps[-1].arrays["target"].shape


def test_heat_snapshot_shows_three_times():
    task = load_task("pde-heat1d", n_collocation=6, n_test=21)
    learner = tiny(task, n_directions=2)
    snap = learner.step(task.batch(np.arange(8)))
    assert len(np.unique(snap.arrays["plot_t"])) == 3
    assert snap.arrays["membrane_hidden"].shape == (16, 8)
    np.testing.assert_allclose(
        snap.arrays["target"], task.problem.exact(
            np.column_stack([snap.arrays["plot_x"], snap.arrays["plot_t"]])), atol=1e-6)


def test_spike_encoding_learns_and_bad_inputs_are_refused():
    task = toy_regression()
    learner = tiny(task, encoding="spikes", lr=0.02)
    assert learner.net_.sizes[0] == 2
    runner = Runner(learner, task, eval_every=0)
    losses = [runner.advance().scalars["loss"] for _ in range(30)]
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    with pytest.raises(ValueError, match="wp expects inputs"):
        learner.predict(np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match="cannot learn"):
        learners.make("wp").setup(load_task("spike-xor"))
