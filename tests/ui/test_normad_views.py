"""NormAD views driven without a server, from real learner snapshots and from synthetic ones."""

import numpy as np
from toy_tasks import toy_spike_train

from snnlab import Session, learners
from snnlab.learners.snapshot import Snapshot
from snnlab.ui.lab import build_views
from snnlab.ui.views import LEARNER_VIEWS
from snnlab.ui.views.normad import ErrorSignalView, SpikeDistanceView, SpikeOverlayView


def frame(step, pattern=0, observed=(), desired=(), n_steps=50):
    out = np.zeros((n_steps, 1), np.uint8)
    want = np.zeros((n_steps, 1), np.uint8)
    out[list(observed), 0] = 1
    want[list(desired), 0] = 1
    error = want.astype(np.float32) - out
    return Snapshot(
        step=step,
        epoch=0.0,
        scalars={
            "loss": 1.0,
            "van_rossum": 1.0 / step,
            "correlation": 0.1 * step,
            "pattern": float(pattern),
        },
        arrays={
            "raster_output": out,
            "raster_desired": want,
            "error_output": error,
            "error_hidden": np.zeros((n_steps, 0), np.float32),
        },
    )


def test_overlay_stacks_observed_spikes_per_step_and_marks_errors():
    view = SpikeOverlayView(dt_ms=0.5)
    view.panel = view.__panel__()
    sent = []
    view.pipe.add_subscriber(lambda data: sent.append(data))
    view.push([frame(1, observed=[10, 30], desired=[12]), frame(2, pattern=1, observed=[5])], [])
    data = sent[-1]
    assert data["observed"]["time"].tolist() == [5.0, 15.0]  # pattern 1 is not shown
    assert data["observed"]["step"].tolist() == [1, 1]
    assert data["desired"].tolist() == [6.0]
    assert data["missing"].tolist() == [6.0] and data["spurious"].tolist() == [5.0, 15.0]
    view.push([frame(3, observed=[12], desired=[12])], [])
    assert sent[-1]["observed"]["step"].tolist() == [1, 1, 3]
    assert len(sent[-1]["missing"]) == 0 and len(sent[-1]["spurious"]) == 0
    view.pattern = 1  # a new selection starts a new history
    assert len(sent[-1]["observed"]) == 0 and view.rows_shown == 0


def test_error_view_and_distance_view_take_the_newest_frames():
    errors = ErrorSignalView(dt_ms=1.0)
    errors.panel = errors.__panel__()
    sent = []
    errors.pipe.add_subscriber(lambda data: sent.append(data))
    errors.push([frame(1, observed=[3], desired=[7])], [])
    output, hidden = sent[-1]
    assert sorted(map(tuple, output[:, :2])) == [(3.0, -1.0), (7.0, 1.0)]
    assert hidden.shape == (0, 2)
    curves = SpikeDistanceView()
    curves.panel = curves.__panel__()
    curves.push([frame(1), frame(2)], [])
    assert curves.rows_shown == 2
    assert curves.buffer.data["van_rossum"].tolist() == [1.0, 0.5]


def test_lab_views_update_from_a_live_normad_session():
    task = toy_spike_train()
    session = Session(learners.make("normad", hidden=(5,), lr=1000.0), task, eval_every=2)
    try:
        views = build_views(session)
        kinds = {type(v) for v in views}
        assert set(LEARNER_VIEWS["normad"]) <= kinds
        for view in views:
            view.panel = view.__panel__()
        snaps = [session.runner.advance() for _ in range(4)]
        evaluations = list(session.runner.history)
        for view in views:
            view.push(snaps, evaluations)
            assert view.frames_drawn == 1, type(view).__name__
        snap = snaps[-1]
        assert snap.arrays["raster_hidden"].shape == (task.n_steps, 5)
        assert snap.arrays["membrane_hidden"].shape == (task.n_steps, 5)
        assert evaluations and "van_rossum" in evaluations[-1].values
    finally:
        session.stop()
