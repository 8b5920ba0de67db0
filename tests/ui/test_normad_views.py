"""NormAD views driven without a server: what lands in their data sources, from synthetic
snapshots and from real learner steps."""

import numpy as np
import pytest
from toy_tasks import toy_spike_train

from snnlab import Session, learners
from snnlab.data import load_task
from snnlab.learners.snapshot import Snapshot
from snnlab.ui.lab import build_views
from snnlab.ui.views import learner_views
from snnlab.ui.views import normad as normad_views
from snnlab.ui.views.base import latest
from snnlab.ui.views.normad import (
    ErrorSignalView,
    SpikeDistanceView,
    SpikeOverlayView,
    hidden_error_columns,
)


def frame(step, pattern=0, observed=(), desired=(), n_steps=50, hidden=None, arrays=True):
    """A NormAD snapshot of one output neuron; ``arrays=False``: scalars only (an older
    snapshot of a frame)."""
    out = np.zeros((n_steps, 1), np.uint8)
    want = np.zeros((n_steps, 1), np.uint8)
    out[list(observed), 0] = 1
    want[list(desired), 0] = 1
    error = want.astype(np.float32) - out
    scalars = {"loss": 1.0, "van_rossum": 1.0 / step, "correlation": 0.1 * step,
               "pattern": float(pattern)}
    if not arrays:
        return Snapshot(step=step, epoch=0.0, scalars=scalars)
    return Snapshot(step=step, epoch=0.0, scalars=scalars, arrays={
        "raster_output": out,
        "raster_desired": want,
        "error_output": error,
        "error_hidden": np.zeros((n_steps, 0), np.float32) if hidden is None else hidden,
    })


def model_count(view) -> tuple:
    root = view.__panel__().get_root()
    return root, len(list(root.references()))


def test_overlay_stacks_observed_spikes_per_step_and_marks_errors():
    view = SpikeOverlayView(dt_ms=0.5)
    view.push([frame(1, observed=[10, 30], desired=[12]), frame(2, pattern=1, observed=[5])], [])
    assert view.observed.data["time"].tolist() == [5.0, 15.0]  # pattern 1 is not shown
    assert view.observed.data["step"].tolist() == [1, 1]
    assert view.desired.data["time"].tolist() == [6.0]
    assert view.missing.data["time"].tolist() == [6.0]
    assert view.missing.data["step"].tolist() == [1]
    assert view.spurious.data["time"].tolist() == [5.0, 15.0]
    assert (view.figure.x_range.start, view.figure.x_range.end) == (0.0, 25.0)  # the sample
    view.push([frame(3, observed=[12], desired=[12])], [])
    assert view.observed.data["step"].tolist() == [1, 1, 3]
    assert len(view.missing.data["time"]) == len(view.spurious.data["time"]) == 0
    assert view.rows_shown == 3
    view.pattern = 1  # a new selection starts a new history
    assert all(len(s.data["time"]) == 0 for s in view.sources()) and view.rows_shown == 0


def test_overlay_samples_the_snapshots_that_carry_arrays():
    view = SpikeOverlayView()
    view.push([frame(1, arrays=False), frame(2, arrays=False), frame(3, observed=[4])], [])
    assert view.observed.data["step"].tolist() == [3]
    view.push([frame(4, arrays=False)], [])  # nothing to sample: the plot stays
    assert view.observed.data["step"].tolist() == [3] and view.frames_drawn == 2
    view.neuron = 3  # past the output layer: nothing drawn, nothing broken
    view.push([frame(5, observed=[4])], [])
    assert len(view.observed.data["time"]) == 0


def test_overlay_history_is_bounded_by_rollover(monkeypatch):
    monkeypatch.setattr(normad_views, "OVERLAY_ROWS", 5)
    view = SpikeOverlayView()
    for step in range(1, 6):
        view.push([frame(step, observed=[1, 2])], [])
    assert view.observed.data["step"].tolist() == [3, 4, 4, 5, 5]
    assert view.rows_shown == 10
    view.reset()
    assert len(view.observed.data["time"]) == 0 and view.frames_drawn == 0


def test_error_view_draws_output_errors_and_says_when_there_is_no_hidden_layer():
    view = ErrorSignalView(dt_ms=1.0)
    view.push([frame(1, observed=[3], desired=[7, 9])], [])
    out = view.output.data
    assert sorted(zip(out["time"], out["error"])) == [(3.0, -1.0), (7.0, 1.0), (9.0, 1.0)]
    assert len(out["color"]) == 3 and set(out["neuron"]) == {0.0}
    assert view.output_figure.title.text == "output error e(t): 2 missing, 1 spurious"
    assert len(view.hidden.data["time"]) == 0
    assert "no hidden layer" in view.hidden_figure.title.text
    assert view.output_figure.x_range.end == 50.0
    view.output_figure.x_range.end = 20.0  # a zoom in the browser stays ...
    view.push([frame(2, observed=[3])], [])
    assert view.output_figure.x_range.end == 20.0
    view.push([frame(3, observed=[3], n_steps=80)], [])  # ... until the sample length changes
    assert view.output_figure.x_range.end == 80.0
    view.reset()
    assert all(len(s.data["time"]) == 0 for s in view.sources())


def test_error_view_sums_hidden_errors_over_neurons():
    hidden = np.zeros((50, 3), np.float32)
    hidden[5] = [0.5, -0.25, 0.0]
    hidden[8, 2] = -1.0
    hidden[9] = [1.0, -1.0, 0.0]  # cancels: no bar
    view = ErrorSignalView(dt_ms=2.0)
    view.push([frame(1, desired=[7], hidden=hidden)], [])
    assert view.hidden.data["time"].tolist() == [10.0, 16.0]
    assert view.hidden.data["delta"].tolist() == [0.25, -1.0]
    assert "3 hidden neurons" in view.hidden_figure.title.text
    view.push([frame(2, desired=[7], hidden=np.zeros((50, 3), np.float32))], [])
    assert "no error" in view.hidden_figure.title.text  # ReSuMe: hidden layers get none


def test_hidden_errors_are_binned_past_the_point_budget():
    delta = np.ones((1000, 2), np.float32)
    columns = hidden_error_columns(delta, dt_ms=0.1, max_points=300)
    assert len(columns["time"]) <= 300
    assert columns["delta"].sum() == pytest.approx(2000.0)  # binned, none lost
    assert columns["time"][1] == pytest.approx(0.4)  # bins of 4 steps


def test_distance_view_appends_rows_with_a_pinned_correlation_range():
    view = SpikeDistanceView()
    view.push([frame(1, arrays=False), frame(2)], [])
    assert view.rows_shown == 2
    assert view.source.data["van_rossum"].tolist() == [1.0, 0.5]
    assert view.source.data["correlation"].tolist() == pytest.approx([0.1, 0.2])
    distance, correlation = view.figures
    assert (correlation.y_range.start, correlation.y_range.end) == (-0.05, 1.05)
    assert distance.title.text == "van Rossum distance"
    view.reset()
    assert len(view.source.data["step"]) == 0


@pytest.mark.parametrize("make", [lambda: SpikeOverlayView(dt_ms=0.1),
                                  lambda: ErrorSignalView(dt_ms=0.1), SpikeDistanceView])
def test_frames_change_data_only(make):
    view = make()
    root, before = model_count(view)
    rng = np.random.default_rng(0)
    for step in range(1, 101):
        hidden = (rng.random((50, 2)) < 0.1).astype(np.float32) * (step % 3)
        view.push([frame(step, arrays=False),
                   frame(step + 1, pattern=step % 2, observed=rng.choice(50, 3), desired=[7],
                         hidden=hidden)], [])
    assert len(list(root.references())) == before
    assert view.frames_drawn == 100


def test_lab_views_update_from_a_live_normad_session():
    task = toy_spike_train()
    session = Session(learners.make("normad", hidden=(5,), lr=1000.0), task, eval_every=2)
    try:
        views = build_views(session)
        assert set(learner_views("normad")) <= {type(v) for v in views}
        for _ in range(4):
            session.step()
        frames = session.drain()
        assert session.evaluator.wait_idle(30)  # evaluations come from a background thread
        evaluations = session.evaluations_after(0)
        for view in views:
            view.push(frames, evaluations)
            assert view.frames_drawn == 1, type(view).__name__
        assert latest(frames, "raster_hidden").shape == (task.n_steps, 5)
        assert latest(frames, "error_hidden").shape == (task.n_steps, 5)
        assert evaluations and "van_rossum" in evaluations[-1].values
        errors = next(v for v in views if isinstance(v, ErrorSignalView))
        assert "5 hidden neurons" in errors.hidden_figure.title.text
    finally:
        session.stop()


def test_error_view_shows_the_default_lab_task():
    """The lab starts NormAD on spike-pattern (one layer): output errors, no hidden layer."""
    task = load_task("spike-pattern")
    session = Session(learners.make("normad"), task, eval_every=100)
    try:
        view = ErrorSignalView.for_task(task)
        session.step()
        view.push(session.drain(), [])
        assert len(view.output.data["time"]) > 0  # a fresh network misses desired spikes
        assert view.output_figure.x_range.end == pytest.approx(task.n_steps * task.dt * 1000)
        assert "no hidden layer" in view.hidden_figure.title.text
    finally:
        session.stop()
