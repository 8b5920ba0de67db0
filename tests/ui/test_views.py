"""Viewers built and driven without a server: views, controls, URL state, exports."""

import io
import zipfile

import numpy as np
import pytest
from bokeh.models import Plot
from toy_tasks import toy_classification, toy_regression

from snnlab import Session, learners
from snnlab.learners.snapshot import Snapshot
from snnlab.runner import Evaluation
from snnlab.ui import export
from snnlab.ui.controls import HyperparameterPanel
from snnlab.ui.lab import Lab, build_views
from snnlab.ui.url_state import parse_query, to_query
from snnlab.ui.views import LearningCurveView, MembraneView, RasterView, WeightHistogramView
from snnlab.ui.views.membrane import traces_with_breaks
from snnlab.ui.views.raster import MAX_POINTS, raster_points, select_neurons


@pytest.fixture
def session():
    s = Session(learners.make("readout", lr=0.5), toy_classification(), eval_every=2)
    yield s
    s.stop()


def frame(step, **arrays):
    return Snapshot(step=step, epoch=0.0, scalars={"loss": 1.0 / step, "threshold": 0.5},
                    arrays=arrays)


def test_select_neurons_first_most_active_random():
    raster = np.zeros((10, 6), dtype=np.uint8)
    raster[:, 4] = 1
    raster[:5, 1] = 1
    assert list(select_neurons(raster, "first", 3, offset=2)) == [2, 3, 4]
    assert list(select_neurons(raster, "first", 3, offset=5)) == [3, 4, 5]
    assert list(select_neurons(raster, "most active", 2)) == [1, 4]
    random = select_neurons(raster, "random", 3)
    assert len(set(random)) == 3 and list(random) == list(select_neurons(raster, "random", 3))
    points = raster_points(raster, np.array([1, 4]), dt_ms=2.0)
    assert len(points["time"]) == 15 and set(points["neuron"]) == {1, 4}
    assert points["time"].max() == 18.0


def test_raster_view_redraws_with_the_chosen_population_and_neurons():
    view = RasterView(populations=("raster_input", "raster_output"), dt_ms=1.0)
    view.__panel__()
    inputs = np.eye(5, dtype=np.uint8)
    outputs = np.ones((5, 2), dtype=np.uint8)
    view.push([frame(1, raster_input=inputs, raster_output=outputs)], [])
    assert list(view.source.data["neuron"]) == [0, 1, 2, 3, 4]
    assert list(view.source.data["time"]) == [0, 1, 2, 3, 4]
    view.population = "raster_output"
    assert len(view.source.data["neuron"]) == 10
    view.count = 1
    assert set(view.source.data["neuron"]) == {0}
    assert view.frames_drawn == 1
    view.reset()
    assert len(view.source.data["time"]) == 0


def test_raster_sends_at_most_max_points_the_latest_ones():
    raster = np.ones((5000, 100), dtype=np.uint8)
    points = raster_points(raster, np.arange(100), dt_ms=0.1, max_points=MAX_POINTS)
    assert len(points["time"]) == MAX_POINTS
    assert points["time"].max() == pytest.approx(499.9) and points["time"].min() > 400


def test_membrane_view_draws_traces_with_breaks_and_threshold():
    view = MembraneView(populations=("membrane_output",), dt_ms=0.5)
    trace = np.random.rand(20, 3).astype(np.float32)
    view.push([frame(1, membrane_output=trace)], [])
    time_ms, potential = view.source.data["time"], view.source.data["potential"]
    assert view.threshold.location == 0.5 and len(time_ms) == len(potential) == 3 * 21
    assert np.isnan(potential[20]) and np.allclose(potential[21:41], trace[:, 1])
    assert time_ms[19] == pytest.approx(9.5)
    view.n_traces = 1
    assert len(view.source.data["potential"]) == 21


def test_membrane_traces_are_decimated_to_what_a_line_can_show():
    time_ms, values = traces_with_breaks(np.zeros((5000, 2)), dt_ms=0.1, max_points=2000)
    assert len(values) == 2 * (1667 + 1) and np.isnan(values[1667])
    assert time_ms[1] == pytest.approx(0.3)


def test_weight_histogram_counts_every_weight():
    view = WeightHistogramView(layers=("weights_output",))
    w = np.random.default_rng(0).normal(size=(10, 30))
    view.push([frame(1, weights_output=w)], [])
    assert view.source.data["top"].sum() == 300 and len(view.source.data["left"]) == view.bins
    assert view.source.data["left"][0] == pytest.approx(w.min())


def test_weight_histogram_drops_a_declared_but_empty_layer():
    view = WeightHistogramView(layers=("weights_hidden", "weights_output"))
    view.push([frame(1, weights_hidden=np.zeros((0, 0)), weights_output=np.ones((2, 3)))], [])
    assert view.layer == "weights_output" and view.source.data["top"].sum() == 6
    assert view.param.layer.objects == ["weights_output"]


def test_learning_curves_append_rows_lose_none_and_gaps_are_nan():
    view = LearningCurveView(kind="classification")
    view.push([frame(1), frame(2), frame(3)], [Evaluation(2, 0.1, {"test_accuracy": 0.5})])
    view.push([frame(4)], [Evaluation(4, 0.2, {"test_accuracy": 0.7, "ece": 0.1})])
    assert list(view.loss_source.data["step"]) == [1, 2, 3, 4]
    assert list(view.metric_source.data["test_accuracy"]) == [0.5, 0.7]
    assert np.isnan(view.metric_source.data["ece"][0])
    view.reset()
    assert len(view.loss_source.data["step"]) == 0


def test_streamed_rows_roll_over(monkeypatch):
    from snnlab.ui.views import curves

    monkeypatch.setattr(curves, "BUFFER_ROWS", 50)
    view = LearningCurveView(kind="regression")
    for start in range(0, 200, 20):
        view.push([frame(s) for s in range(start + 1, start + 21)], [])
    assert list(view.loss_source.data["step"]) == list(range(151, 201))


def test_a_frame_changes_data_only_the_model_count_stays(session):
    import panel as pn

    lab = Lab(session)
    root = pn.panel(lab).get_root()
    try:
        session.step()
        lab.draw_frame()
        before = {m.id for m in root.references()}
        for _ in range(100):
            session.step()
            lab.draw_frame()
        assert {m.id for m in root.references()} == before  # no model created or replaced
        assert sum(len(s.data.get("loss", [])) for v in lab.views for s in v.sources()) == 101
    finally:
        lab.close()


def test_build_views_follows_declared_snapshot_arrays(session):
    names = {type(v).__name__ for v in build_views(session)}
    assert {"RasterView", "LearningCurveView", "WeightHistogramView",
            "ClassProbabilityView"} <= names
    assert "MembraneView" not in names  # readout declares no membrane


def test_hyperparameter_panel_applies_live_and_holds_rebuilds(session):
    panel = HyperparameterPanel(session)
    panel.draft.lr = 0.25
    assert session.learner.lr == 0.25
    session.step()
    panel.draft.features = "counts"
    assert panel.pending == {"features": "counts"}
    assert session.learner.features == "log-counts"  # held back
    panel.cancel_rebuild()
    assert panel.draft.features == "log-counts" and not panel.pending
    panel.draft.features = "counts"
    panel.confirm_rebuild()
    assert session.learner.features == "counts" and session.learner.step_ == 0


def test_layer_widths_are_typed_as_text_and_a_bad_entry_is_refused_with_a_notice():
    wp = Session(learners.make("wp", hidden=(8,), n_directions=2), toy_regression())
    panel = HyperparameterPanel(wp)
    field = panel.editors["hidden"]
    assert field.value == "8"
    field.value = "6, 4"
    assert panel.pending == {"hidden": (6, 4)} and wp.learner.hidden == (8,)
    for bad in ("0", "abc", "1.5", "[3", "99999"):
        field.value = bad
        assert "hidden" in panel.notice and panel.pending == {"hidden": (6, 4)}
        assert field.value == "6, 4"  # the field shows the value waiting for the rebuild again
    panel.cancel_rebuild()
    assert field.value == "8" and not panel.pending
    field.value = ""
    panel.confirm_rebuild()
    assert wp.learner.hidden == () and wp.learner.step_ == 0


def test_query_round_trip_and_bad_values_fall_back_with_a_notice():
    state = parse_query({"learner": "readout", "task": "digits-events", "seed": "3",
                         "lr": "0.2"}, "readout", "digits-events")
    assert (state.learner, state.seed, state.params, state.problems) == ("readout", 3,
                                                                        {"lr": 0.2}, [])
    assert state.preset == "twenty-passes"  # the task's default preset
    query = to_query("readout", "digits-events", 3, {"lr": 0.2, "l2": 1e-4},
                     {"lr": 0.05, "l2": 1e-4}, preset="twenty-passes")
    assert query == {"learner": "readout", "task": "digits-events", "preset": "twenty-passes",
                     "seed": "3", "lr": "0.2"}
    assert parse_query({**query, "preset": "none"}, "readout", "digits-events").preset is None
    bad = parse_query({"learner": "nope", "task": "nmnist-xyz", "seed": "-1", "lr": "nan",
                       "batch_size": "[1,2", "zzz": "1"}, "readout", "digits-events")
    assert bad.learner == "readout" and bad.task == "digits-events" and bad.seed == 0
    assert bad.params == {}
    text = " ".join(bad.problems)
    for word in ("nope", "nmnist-xyz", "seed", "lr", "batch_size", "zzz"):
        assert word in text


def test_exports_are_a_replayable_record_a_png_and_arrays(session, tmp_path):
    for _ in range(3):
        session.step()
    record = session.record()
    archive = zipfile.ZipFile(export.record_zip(record))
    assert sorted(archive.namelist()) == ["run/config.json", "run/metrics.csv", "run/state.npz"]
    png = export.plots_png(session.drain()[0], record)
    assert png.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    arrays = np.load(export.arrays_npz(None, record))
    assert list(arrays["metrics/step"]) == [row["step"] for row in record.metrics]


def test_lab_steps_and_draws_without_a_server():
    lab = Lab(learner="readout", task="digits-events")
    lab.__panel__()
    try:
        lab.step()
        lab.step()
        assert lab.session.learner.step_ == 2
        assert all(v.frames_drawn >= 1 for v in lab.views)
        assert "steps/s" in lab.speed.text
        lab.reset()
        assert lab.session.learner.step_ == 0
        assert isinstance(io.BytesIO(lab._record_file().getvalue()), io.BytesIO)
    finally:
        lab.close()
    assert lab.session.state == "stopped"


@pytest.mark.parametrize("learner", __import__("snnlab").learners.learner_names())
def test_every_learners_lab_renders_to_bokeh_and_redraws(learner):
    """Rendering builds every view's Bokeh models; two frames of real data reach every view
    without a server."""
    import panel as pn

    lab = Lab(learner=learner)
    try:
        root = pn.panel(lab).get_root()
        lab.session.runner.eval_every = 2  # views of evaluations need one
        lab.step()
        lab.step()
        assert lab.session.evaluator.wait_idle(60)
        lab.draw_frame()
        assert all(v.frames_drawn >= 2 for v in lab.views)
        filled = [v for v in lab.views if any(len(next(iter(s.data.values()), ())) for s in
                                              v.sources())]
        assert len(filled) == len(lab.views), [type(v).__name__ for v in lab.views
                                               if v not in filled]
        assert len(list(root.select({"type": Plot}))) >= len(lab.views)
    finally:
        lab.close()


def test_switching_learner_keeps_a_learnable_task_and_stops_the_old_session():
    import panel as pn

    lab = Lab()
    pn.panel(lab).get_root()
    try:
        old = lab.session
        lab.learner = "wp"
        assert old.state == "stopped"
        assert lab.session.learner.key == "wp" and lab.session.task.name == "regression-sine"
        lab.step()
        lab.learner = "readout"
        assert lab.session.task.name == "digits-events"
        assert {type(v).__name__ for v in lab.views} >= {"RasterView", "ClassProbabilityView"}
    finally:
        lab.close()
