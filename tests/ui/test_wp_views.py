"""WP views driven without a server: what lands in their data sources, from synthetic
snapshots and from real learner steps."""

import numpy as np
import pytest
from bokeh.models import DataRange1d, LogScale

from snnlab import Session, learners
from snnlab.data import load_task
from snnlab.learners.snapshot import Snapshot
from snnlab.learners.wp.learner import PLOT_SLICES
from snnlab.ui.lab import build_views
from snnlab.ui.views import MembraneView, RasterView, WeightHistogramView, learner_views
from snnlab.ui.views import base as views_base
from snnlab.ui.views.perturbation import (
    MAX_TIMES,
    EstimatorDiagnosticsView,
    PointwiseErrorView,
    PredictionView,
)


def frame(step, times=(0.0,), cosine=0.5, variance=None, arrays=True):
    """A WP snapshot: 5 points per time of ``u = sin(pi x) exp(-t) - 0.5`` (half negative),
    the model 0.1 above it."""
    scalars = {"loss": 1.0 / step, "rel_l2": 0.5 / step, "estimator_cosine": cosine,
               "estimator_variance": 2.0 / step if variance is None else variance}
    if not arrays:
        return Snapshot(step=step, epoch=0.0, scalars=scalars)
    x = np.tile(np.linspace(0, 1, 5, dtype=np.float32), len(times))
    t = np.repeat(np.asarray(times, np.float32), 5)
    target = np.sin(np.pi * x) * np.exp(-t) - 0.5
    arrays = {"plot_x": x, "plot_t": t, "target": target, "prediction": target + 0.1}
    return Snapshot(step=step, epoch=0.0, scalars=scalars, arrays=arrays)


def shown(view):
    """Lengths of the curve sources, and the texts of the visible legend items."""
    lengths = [len(s.data["x"]) for s in view.curves.values()]
    labels = [item.label.value for item in view.legend.items if item.visible]
    return lengths, labels


def test_prediction_view_draws_one_curve_per_time_from_the_newest_arrays():
    view = PredictionView()
    assert len(view.curves) == MAX_TIMES
    view.push([frame(1), frame(2, times=(0.0, 0.5, 1.0)), frame(3, arrays=False)], [])
    lengths, labels = shown(view)
    assert lengths == [5, 5, 5] + [0] * (MAX_TIMES - 3)
    assert labels == ["model t=0.00", "target t=0.00", "model t=0.50", "target t=0.50",
                      "model t=1.00", "target t=1.00"]
    data = view.curves[1].data
    np.testing.assert_allclose(data["prediction"] - data["target"], 0.1, atol=1e-6)
    assert data["target"].min() < 0  # the negative half is there ...
    assert isinstance(view.figure.y_range, DataRange1d)  # ... and the range follows the data
    view.push([frame(4)], [])  # back to one time: the others are emptied, the legend follows
    assert shown(view) == ([5] + [0] * (MAX_TIMES - 1), ["model", "target"])
    view.reset()
    assert shown(view)[0] == [0] * MAX_TIMES


def test_pointwise_error_view_and_lines_built_for_the_task():
    task = load_task("pde-heat1d", n_collocation=4, n_test=11)
    view = PointwiseErrorView.for_task(task)
    assert len(view.curves) == PLOT_SLICES
    view.push([frame(1, times=(0.0, 0.5, 1.0, 1.5))], [])  # more times than lines: the first
    lengths, labels = shown(view)
    assert lengths == [5, 5, 5] and labels == ["error t=0.00", "error t=0.50", "error t=1.00"]
    np.testing.assert_allclose(view.curves[2].data["error"], 0.1, atol=1e-6)
    one = PointwiseErrorView.for_task(load_task("pde-poisson1d", n_collocation=8))
    assert len(one.curves) == 1


def test_diagnostics_append_every_step_with_nan_where_a_log_axis_cannot_go():
    view = EstimatorDiagnosticsView()
    view.push([frame(1, cosine=0.0, variance=0.0, arrays=False), frame(2)], [])
    view.push([frame(3, cosine=-0.9)], [])
    data = view.source.data
    assert list(data["step"]) == [1, 2, 3]
    assert list(data["estimator_cosine"]) == [0.0, 0.5, -0.9]
    assert data["rel_l2"][-1] == 0.5 / 3
    assert np.isnan(data["estimator_variance"][0]) and data["estimator_variance"][1] == 1.0
    error, cosine, variance = view.figures
    assert isinstance(error.y_scale, LogScale) and isinstance(variance.y_scale, LogScale)
    assert (cosine.y_range.start, cosine.y_range.end) == (-1.05, 1.05)
    view.reset()
    assert len(view.source.data["step"]) == 0 and view.rows_shown == 0


def test_diagnostics_keep_the_newest_rows(monkeypatch):
    monkeypatch.setattr(views_base, "BUFFER_ROWS", 10)
    view = EstimatorDiagnosticsView()
    for step in range(1, 31, 3):
        view.push([frame(s, arrays=False) for s in range(step, step + 3)], [])
    assert view.source.data["step"].tolist() == list(range(21, 31))
    assert view.rows_shown == 30


@pytest.mark.parametrize("make", [PredictionView, PointwiseErrorView, EstimatorDiagnosticsView])
def test_frames_change_data_only(make):
    view = make()
    root = view.__panel__().get_root()
    before = len(list(root.references()))
    for step in range(1, 101):
        times = (0.0, 0.5, 1.0)[: 1 + step % 3]
        view.push([frame(step, arrays=False), frame(step + 1, times=times)], [])
    assert len(list(root.references())) == before
    assert view.frames_drawn == 100


def test_lab_views_for_wp_update_from_real_steps():
    task = load_task("pde-poisson1d", n_collocation=16)
    session = Session(learners.make("wp", hidden=(16,), n_directions=4), task, eval_every=2)
    try:
        views = build_views(session)
        kinds = {type(v) for v in views}
        assert set(learner_views("wp")) <= kinds
        assert {MembraneView, RasterView, WeightHistogramView} <= kinds
        for _ in range(3):
            session.step()
        frames = session.drain()
        assert session.evaluator.wait_idle(30)  # evaluations come from a background thread
        evaluations = session.evaluations_after(0)
        for view in views:
            view.push(frames, evaluations)
            assert view.frames_drawn == 1, type(view).__name__
        prediction = next(v for v in views if isinstance(v, PredictionView))
        assert len(prediction.curves) == 1
        data = prediction.curves[0].data
        np.testing.assert_allclose(data["target"], np.sin(np.pi * data["x"]), atol=1e-6)
        diagnostics = next(v for v in views if isinstance(v, EstimatorDiagnosticsView))
        assert diagnostics.rows_shown == 3
        membrane = next(v for v in views if isinstance(v, MembraneView))
        assert np.isnan(membrane.source.data["potential"]).sum() == membrane.n_traces
    finally:
        session.stop()


def test_wp_views_on_a_space_time_task_draw_every_time():
    task = load_task("pde-heat1d", n_collocation=4, n_test=11)
    session = Session(learners.make("wp", hidden=(8,), n_directions=2), task, eval_every=10)
    try:
        view = PredictionView.for_task(task)
        session.step()
        view.push(session.drain(), [])
        lengths, labels = shown(view)
        assert len(lengths) == PLOT_SLICES and all(n > 0 for n in lengths)
        assert labels[0] == "model t=0.00" and len(labels) == 2 * PLOT_SLICES
    finally:
        session.stop()
