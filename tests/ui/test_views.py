"""Viewers built and driven without a server: views, controls, URL state, exports."""

import io
import zipfile

import numpy as np
import pytest

from snnlab import Session, learners
from snnlab.learners.snapshot import Snapshot
from snnlab.runner import Evaluation
from snnlab.ui import export
from snnlab.ui.controls import HyperparameterPanel
from snnlab.ui.lab import Lab, build_views
from snnlab.ui.url_state import parse_query, to_query
from snnlab.ui.views import LearningCurveView, MembraneView, RasterView, WeightHistogramView
from snnlab.ui.views.raster import raster_points, select_neurons
from toy_tasks import toy_classification


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
    view.panel = view.__panel__()
    sent = []
    view.pipe.add_subscriber(lambda data: sent.append(data))
    inputs = np.eye(5, dtype=np.uint8)
    outputs = np.ones((5, 2), dtype=np.uint8)
    view.push([frame(1, raster_input=inputs, raster_output=outputs)], [])
    assert len(sent[-1]["neuron"]) == 5
    view.population = "raster_output"
    assert len(sent[-1]["neuron"]) == 10
    view.count = 1
    assert set(sent[-1]["neuron"]) == {0}
    assert view.frames_drawn == 1


def test_membrane_view_draws_traces_and_threshold():
    view = MembraneView(populations=("membrane_output",), dt_ms=0.5)
    trace = np.random.rand(20, 3).astype(np.float32)
    view.push([frame(1, membrane_output=trace)], [])
    (time_ms, potential), threshold = view.pipe.data
    assert threshold == 0.5 and len(time_ms) == len(potential) == 3 * 21
    assert np.isnan(potential[20]) and np.allclose(potential[21:41], trace[:, 1])
    assert time_ms[19] == pytest.approx(9.5)
    view.n_traces = 1
    assert len(view.pipe.data[0][1]) == 21


def test_weight_histogram_counts_every_weight():
    view = WeightHistogramView(layers=("weights_output",))
    w = np.random.default_rng(0).normal(size=(10, 30))
    view.push([frame(1, weights_output=w)], [])
    counts, edges = view.pipe.data
    assert counts.sum() == 300 and len(edges) == view.bins + 1


def test_weight_histogram_skips_a_declared_but_empty_layer():
    view = WeightHistogramView(layers=("weights_hidden", "weights_output"))
    view.push([frame(1, weights_hidden=np.zeros((0, 0)), weights_output=np.ones((2, 3)))], [])
    assert view.layer == "weights_output" and view.pipe.data[0].sum() == 6


def test_learning_curves_append_rows_and_lose_none():
    view = LearningCurveView(kind="classification")
    view.push([frame(1), frame(2), frame(3)], [Evaluation(2, 0.1, {"test_accuracy": 0.5})])
    view.push([frame(4)], [Evaluation(4, 0.2, {"test_accuracy": 0.7, "ece": 0.1})])
    assert list(view.loss_buffer.data["step"]) == [1, 2, 3, 4]
    assert list(view.metric_buffer.data["test_accuracy"]) == [0.5, 0.7]
    assert np.isnan(view.metric_buffer.data["ece"].iloc[0])
    view.reset()
    assert len(view.loss_buffer.data) == 0


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


def test_query_round_trip_and_bad_values_fall_back_with_a_notice():
    state = parse_query({"learner": "readout", "task": "digits-events", "seed": "3",
                         "lr": "0.2"}, "readout", "digits-events")
    assert (state.learner, state.seed, state.params, state.problems) == ("readout", 3,
                                                                        {"lr": 0.2}, [])
    query = to_query("readout", "digits-events", 3, {"lr": 0.2, "l2": 1e-4},
                     {"lr": 0.05, "l2": 1e-4})
    assert query == {"learner": "readout", "task": "digits-events", "seed": "3", "lr": "0.2"}
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
    png = export.plots_png(session.drain()[-1] if session.snapshots else None, record)
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
        assert "steps/s" in lab.speed.object
        lab.reset()
        assert lab.session.learner.step_ == 0
        assert isinstance(io.BytesIO(lab._record_file().getvalue()), io.BytesIO)
    finally:
        lab.close()
    assert lab.session.state == "stopped"


def test_neuron_demo_redraws_when_a_slider_moves():
    from snnlab.ui.neuron_demo import NeuronDemo

    demo = NeuronDemo()
    demo.__panel__()
    before = demo.pipe.data
    demo.model.threshold = 0.2
    after = demo.pipe.data
    assert demo.redraws == 2
    assert after["lif_spikes"].sum() > before["lif_spikes"].sum()
    assert np.array_equal(after["input_raster"], before["input_raster"])  # same seed, same inputs
    demo.model.param.update(input_rate=0.0, noise=0.0)
    silent = demo.pipe.data
    assert silent["input_count"].sum() == 0 and silent["lif_spikes"].sum() == 0


@pytest.mark.parametrize("learner", __import__("snnlab").learners.learner_names())
def test_every_learners_lab_renders_to_bokeh_and_redraws(learner):
    """Rendering builds every HoloViews plot: an element that cannot draw its initial or live
    data fails here, without a browser."""
    import panel as pn

    lab = Lab(learner=learner)
    try:
        root = pn.panel(lab).get_root()
        lab.step()
        lab.step()
        assert root is not None and all(v.frames_drawn >= 2 for v in lab.views)
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
