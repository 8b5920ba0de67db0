"""GEM's views, driven by real GEM snapshots and evaluations (no server)."""

import numpy as np
from toy_tasks import toy_classification

from snnlab import learners
from snnlab.runner import Runner
from snnlab.ui.views import LEARNER_VIEWS
from snnlab.ui.views.gem import (
    CalibrationView,
    CompartmentRasterView,
    ImportanceWeightView,
    LikelihoodBoundView,
)


def run(n_samples=3, steps=3):
    task = toy_classification()
    learner = learners.make("gem", n_samples=n_samples, n_hidden=6, batch_size=4, seed=1)
    runner = Runner(learner, task, eval_every=0)
    frames = [runner.advance() for _ in range(steps)]
    return learner, runner, frames


def test_gem_views_are_registered_and_fed_by_the_learner():
    views = LEARNER_VIEWS["gem"]
    arrays = learners.learner_class("gem").snapshot_arrays
    assert all(view.applies_to(arrays) for view in views)


def test_compartment_raster_shows_the_chosen_compartment():
    _, _, frames = run()
    view = CompartmentRasterView()
    view.push(frames, [])
    rasters = frames[-1].arrays["raster_hidden_compartments"]
    assert rasters.shape[0] == 3 and view.param.compartment.bounds == (0, 2)
    for k in (2, 0):
        view.compartment = k
        t, j = np.nonzero(rasters[k])
        assert np.array_equal(view.pipe.data["step"], t)
        assert np.array_equal(view.pipe.data["neuron"], j)
    assert view.frames_drawn == 1


def test_importance_weights_stack_to_one():
    _, _, frames = run()
    view = ImportanceWeightView()
    view.push(frames, [])
    top = view.pipe.data
    omega = frames[-1].arrays["omega"]
    assert top.shape == omega.shape
    assert np.allclose(top[:, -1], 1.0, atol=1e-5)
    assert np.allclose(np.diff(top, axis=1, prepend=0.0), omega, atol=1e-6)
    assert view._plot(top) is not None


def test_likelihood_bound_view_shows_example_and_steps():
    _, _, frames = run()
    view = LikelihoodBoundView()
    view.push(frames, [])
    assert np.allclose(view.pipe.data, frames[-1].arrays["loglik_bound"])
    steps = view.buffer.data["step"].tolist()
    assert steps == [f.step for f in frames]
    assert np.allclose(view.buffer.data["bound"], [f.scalars["log_likelihood_bound"] for f in frames])
    view.reset()
    assert len(view.buffer.data) == 0


def test_calibration_view_files_evaluations_under_the_current_k():
    learner, runner, _ = run(n_samples=2)
    view = CalibrationView()
    first = runner.evaluate()
    view.push([runner.advance()], [first])
    table = view.reliability_pipe.data
    assert table.shape == (3, 10) and table[2].sum() == len(runner.task.test)
    learner.set_hyperparameters(n_samples=4)
    frame = runner.advance()
    view.push([frame], [runner.evaluate()])
    summary = view.by_k_pipe.data
    assert summary["K"].tolist() == [2, 4]
    assert np.isclose(summary["test_accuracy"].iloc[0], first.values["test_accuracy"])
    assert view._by_k_plot(summary) is not None and view._reliability_plot(table) is not None
