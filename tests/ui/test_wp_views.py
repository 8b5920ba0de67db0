"""WP views built and driven without a server, from synthetic and real snapshots."""

import numpy as np

from snnlab import Session, learners
from snnlab.data import load_task
from snnlab.learners.snapshot import Snapshot
from snnlab.ui.lab import build_views
from snnlab.ui.views import (
    LEARNER_VIEWS,
    EstimatorDiagnosticsView,
    MembraneView,
    PointwiseErrorView,
    PredictionView,
    RasterView,
    WeightHistogramView,
)


def frame(step, times=(0.0,), cosine=0.5):
    x = np.tile(np.linspace(0, 1, 5, dtype=np.float32), len(times))
    t = np.repeat(np.asarray(times, np.float32), 5)
    target = np.sin(np.pi * x) * np.exp(-t)
    arrays = {"plot_x": x, "plot_t": t, "target": target, "prediction": target + 0.1}
    scalars = {"loss": 1.0 / step, "rel_l2": 0.5 / step, "estimator_cosine": cosine,
               "estimator_variance": 2.0 / step}
    return Snapshot(step=step, epoch=0.0, scalars=scalars, arrays=arrays)


def test_prediction_and_error_views_draw_one_curve_per_time():
    prediction, error = PredictionView(), PointwiseErrorView()
    for view in (prediction, error):
        view.__panel__()
        view.push([frame(1), frame(2, times=(0.0, 0.5, 1.0))], [])
        assert view.frames_drawn == 1
    data = prediction.pipe.data
    assert sorted(data) == [0.0, 0.5, 1.0]
    _, model, target = data[0.5]
    np.testing.assert_allclose(model - target, 0.1, atol=1e-6)
    assert len(prediction._plot(data)) == 6  # model and target per time
    assert len(error._plot(error.pipe.data)) == 4  # an error curve per time and the zero line


def test_diagnostics_append_every_step():
    view = EstimatorDiagnosticsView()
    view.__panel__()
    view.push([frame(1, cosine=0.0), frame(2)], [])
    view.push([frame(3, cosine=0.9)], [])
    data = view.buffer.data
    assert list(data["step"]) == [1, 2, 3]
    assert list(data["estimator_cosine"]) == [0.0, 0.5, 0.9]
    assert data["rel_l2"].iloc[-1] == 0.5 / 3
    view.reset()
    assert len(view.buffer.data) == 0 and view.rows_shown == 0


def test_lab_views_for_wp_update_from_real_steps():
    task = load_task("pde-poisson1d", n_collocation=16)
    session = Session(learners.make("wp", hidden=(16,), n_directions=4), task, eval_every=2)
    try:
        views = build_views(session)
        kinds = {type(v) for v in views}
        assert set(LEARNER_VIEWS["wp"]) <= kinds
        assert {MembraneView, RasterView, WeightHistogramView} <= kinds
        for view in views:
            view.__panel__()
        for _ in range(3):
            session.step()
        frames = session.drain()
        evaluations = list(session.runner.history)
        for view in views:
            view.push(frames, evaluations)
            assert view.frames_drawn == 1, type(view).__name__
        prediction = next(v for v in views if isinstance(v, PredictionView))
        x, _, exact = prediction.pipe.data[0.0]
        np.testing.assert_allclose(exact, np.sin(np.pi * x), atol=1e-6)
        membrane = next(v for v in views if isinstance(v, MembraneView))
        (time_ms, potential), _ = membrane.pipe.data
        assert np.isnan(potential).sum() == 4  # the view's default number of traces, each ended by NaN
    finally:
        session.stop()
