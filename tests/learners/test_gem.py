"""The GEM learner: learning, compartments changed live, averaging, votes, the prediction task."""

import numpy as np
import pytest
from toy_tasks import toy_classification

from snnlab import learners
from snnlab.data import load_task
from snnlab.data.prediction import split_halves
from snnlab.learners.gem.learner import class_targets, vote_shares
from snnlab.runner import Runner


def test_small_network_learns_a_two_class_task_above_90_percent():
    task = load_task("digits-events", pooling=2, polarity="merge", binary=True, classes=[0, 1])
    learner = learners.make("gem", n_hidden=4, n_samples=2, seed=0, average_start=40)
    runner = Runner(learner, task, eval_every=0)
    while learner.n_seen_ < 2 * len(task.train):
        runner.advance()
    assert learner.evaluate("test")["test_accuracy"] > 0.9


def test_changing_k_live_keeps_the_shared_weights():
    task = toy_classification()
    learner = learners.make("gem", n_samples=2, batch_size=4).setup(task)
    learner.step(task.batch(np.arange(4)))
    theta = learner.theta_.copy()
    assert learner.set_hyperparameters(n_samples=5) is False  # no rebuild
    assert np.array_equal(learner.theta_, theta)
    snapshot = learner.step(task.batch(np.arange(4, 8)))
    assert learner.streams_.shape == (5,)
    assert snapshot.arrays["omega"].shape == (task.n_steps, 5)
    assert snapshot.scalars["n_samples"] == 5
    assert np.allclose(snapshot.arrays["omega"].sum(axis=1), 1.0, atol=1e-5)


def test_single_sample_rule_uses_one_compartment():
    task = toy_classification()
    learner = learners.make("gem", rule="mb1", n_samples=4, batch_size=2).setup(task)
    snapshot = learner.step(task.batch(np.arange(2)))
    assert learner.streams_.shape == (1,)
    assert snapshot.arrays["omega"].shape == (task.n_steps, 1)


def test_predictions_use_the_running_average_of_the_parameters():
    task = toy_classification()
    learner = learners.make("gem", batch_size=1, average_start=2).setup(task)
    seen = []
    for i in range(6):
        learner.step(task.batch([i]))
        seen.append(learner.theta_.astype(np.float64))
    assert int(learner.n_averaged_) == 4
    assert np.allclose(learner.prediction_theta(), np.mean(seen[2:], axis=0), atol=1e-6)
    assert not np.allclose(learner.prediction_theta(), learner.theta_)


def test_learning_rate_decays_per_example():
    task = toy_classification()
    learner = learners.make("gem", batch_size=4, lr=0.1, lr_decay=0.5).setup(task)
    learner.step(task.batch(np.arange(4)))
    snapshot = learner.step(task.batch(np.arange(4, 8)))
    assert snapshot.scalars["learning_rate"] == pytest.approx(0.1 / (1 + 0.5 * 7))


def test_votes_split_ties_and_sum_decision_follows_summed_counts():
    counts = np.array([[[3, 3, 0], [0, 1, 2], [5, 0, 0]]])  # (B=1, K=3, C=3)
    assert np.allclose(vote_shares(counts), [[1.5 / 3, 0.5 / 3, 1 / 3]])
    learner = learners.make("gem", decision="sum")
    proba = learner.proba_from_counts(counts)
    assert proba.argmax() == counts.sum(axis=1).argmax() == 0
    assert np.allclose(proba.sum(axis=1), 1.0)
    counts = np.array([[[0, 4, 0], [0, 4, 0], [9, 0, 0]]])
    assert learners.make("gem", decision="sum").proba_from_counts(counts).argmax() == 0
    assert learners.make("gem", decision="majority").proba_from_counts(counts).argmax() == 1


def test_class_targets_spike_at_every_step_for_the_true_class():
    y = class_targets(np.array([2, 0]), 5, 3)
    assert y.shape == (5, 2, 3)
    assert (y[:, 0, 2] == 1).all() and (y[:, 1, 0] == 1).all() and y.sum() == 10


def test_evaluation_reports_accuracy_loglikelihood_and_ece():
    task = toy_classification()
    learner = learners.make("gem", n_samples_test=4).setup(task)
    report = learner.evaluate("test")
    assert set(report) == {"test_accuracy", "test_log_likelihood", "ece"}
    assert report["test_log_likelihood"] < 0
    # predictions repeat exactly and leave the training streams alone
    streams = learner.streams_.copy()
    assert np.array_equal(learner.predict_proba(task.test.x), learner.predict_proba(task.test.x))
    assert np.array_equal(learner.streams_, streams)


def test_prediction_task_halves_and_learning_raises_the_likelihood():
    frames = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 20)  # (n, T, H*W), H=4, W=5
    left, right = split_halves(frames, (4, 5))
    image = frames.reshape(2, 3, 4, 5)
    assert np.array_equal(left, image[..., :2].reshape(2, 3, 8))
    assert np.array_equal(right, image[..., 2:].reshape(2, 3, 12))

    task = load_task("prediction", pooling=2, max_train=20, max_test=10)
    assert task.kind == "spike-train" and task.input_shape == (17, 8)
    assert task.train.x.shape == (20, 30, 17 * 8) and task.train.y.shape == (20, 30, 17 * 9)
    learner = learners.make("gem", n_hidden=4, n_samples=2, lr=0.002, average_start=-1)
    runner = Runner(learner, task, eval_every=0)
    before = learner.evaluate("test")["test_log_likelihood"]
    for _ in range(10):
        runner.advance()
    after = learner.evaluate("test")
    assert after["test_log_likelihood"] > before + 50
    assert set(after) == {"test_log_likelihood", "correlation"}
    assert learner.predict(task.test.x).shape == (10, task.n_outputs)
