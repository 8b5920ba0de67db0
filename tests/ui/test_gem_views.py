"""GEM's views, driven by synthetic GEM snapshots and evaluations (no server): what lands in
their data sources, redraws on a control change, reset, bounded streams, and a fixed set of
Bokeh models while frames come."""

import numpy as np
import pytest

from snnlab import learners
from snnlab.learners.gem.learner import MAX_SNAPSHOT_COMPARTMENTS
from snnlab.learners.snapshot import Snapshot
from snnlab.runner import Evaluation
from snnlab.ui.views import base, learner_views
from snnlab.ui.views.gem import (
    MAX_STEPS,
    CalibrationView,
    CompartmentRasterView,
    ImportanceWeightView,
    LikelihoodBoundView,
    stacked_bands,
)
from snnlab.ui.views.raster import MAX_POINTS


def frame(step, k=3, **arrays):
    return Snapshot(step=step, epoch=0.0,
                    scalars={"loss": 1.0 / step, "log_likelihood_bound": -0.1 * step,
                             "n_samples": k},
                    arrays=arrays)


def rasters(seed=0, k=3, n_steps=20, n_hidden=6):
    rng = np.random.default_rng(seed)
    return (rng.random((min(k, MAX_SNAPSHOT_COMPARTMENTS), n_steps, n_hidden)) < 0.2).astype(
        np.uint8)


def omega(seed=0, k=3, n_steps=20):
    return np.random.default_rng(seed).dirichlet(np.ones(k), size=n_steps).astype(np.float32)


def evaluation(step, accuracy, ece=0.1, table=None):
    return Evaluation(step=step, epoch=0.0,
                      values={"test_accuracy": accuracy, "ece": ece, "test_log_likelihood": -1.0},
                      arrays={} if table is None else {"reliability": table})


def reliability(seed=0, n_bins=10):
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 5, n_bins).astype(np.float32)
    counts[0] = 0
    confidence = (np.arange(n_bins) + 0.5) / n_bins
    accuracy = rng.random(n_bins)
    return np.stack([confidence * (counts > 0), accuracy * (counts > 0), counts]).astype(np.float32)


def model_ids(view):
    root = view.__panel__().get_root()
    return root, {model.id for model in root.references()}


def test_gem_views_are_registered_and_fed_by_the_learner():
    views = learner_views("gem")
    arrays = learners.learner_class("gem").snapshot_arrays
    assert {CompartmentRasterView, ImportanceWeightView, LikelihoodBoundView,
            CalibrationView} <= set(views)
    assert all(view.applies_to(arrays) for view in views)
    assert "reliability" not in CalibrationView.arrays


def test_compartment_raster_shows_the_chosen_compartment():
    view = CompartmentRasterView()
    spikes = rasters()
    view.push([frame(1, raster_hidden_compartments=spikes)], [])
    assert view.param.compartment.bounds == (0, 2)
    for k in (0, 2, 1):
        view.compartment = k
        t, j = np.nonzero(spikes[k])
        assert np.array_equal(view.source.data["step"], t)
        assert np.array_equal(view.source.data["neuron"], j)
    assert view.frames_drawn == 1
    view.push([frame(2, raster_hidden_compartments=np.ones((2, 400, 50), np.uint8))], [])
    assert len(view.source.data["step"]) == MAX_POINTS  # the latest spikes only
    assert view.source.data["step"][-1] == 399 and view.param.compartment.bounds == (0, 1)
    view.reset()
    assert len(view.source.data["step"]) == 0


def test_stacked_bands_stack_to_one_for_any_k():
    weights = omega(k=3)
    bands = stacked_bands(weights, n_bands=5)
    assert np.array_equal(bands["step"], np.arange(20))
    assert np.allclose(bands["lower_0"], 0) and np.allclose(bands["upper_0"], weights[:, 0])
    assert np.allclose(bands["upper_1"] - bands["lower_1"], weights[:, 1])
    assert np.array_equal(bands["lower_2"], bands["upper_1"])
    assert np.allclose(bands["upper_2"], 1.0, atol=1e-5)
    assert np.isnan(bands["lower_3"]).all() and np.isnan(bands["upper_4"]).all()
    many = omega(k=8)
    bands = stacked_bands(many, n_bands=5)  # the last band holds compartments 4..7
    assert np.allclose(bands["upper_4"], 1.0, atol=1e-5)
    assert np.allclose(bands["upper_4"] - bands["lower_4"], many[:, 4:].sum(axis=1), atol=1e-6)
    long = stacked_bands(omega(k=2, n_steps=5 * MAX_STEPS), n_bands=2)
    assert len(long["step"]) == MAX_STEPS and long["step"][1] == 5


def test_importance_weight_view_shows_k_bands():
    view = ImportanceWeightView()
    weights = omega(k=3)
    view.push([frame(1, omega=weights)], [])
    data = view.source.data
    assert len(data) == 1 + 2 * MAX_SNAPSHOT_COMPARTMENTS
    assert np.allclose(data["upper_2"], 1.0, atol=1e-5)
    assert np.allclose(data["upper_0"], weights[:, 0])
    assert [item.visible for item in view.legend_items].count(True) == 3
    view.push([frame(2, k=20, omega=omega(k=20))], [])
    assert all(item.visible for item in view.legend_items)
    assert np.allclose(view.source.data[f"upper_{MAX_SNAPSHOT_COMPARTMENTS - 1}"], 1.0, atol=1e-5)
    view.reset()
    assert all(len(column) == 0 for column in view.source.data.values())


def test_likelihood_bound_view_shows_example_and_steps():
    view = LikelihoodBoundView()
    bound = np.linspace(-2.0, -1.0, 30).astype(np.float32)
    frames = [frame(1), frame(2), frame(3, loglik_bound=bound)]
    view.push(frames, [])
    assert np.allclose(view.example_source.data["bound"], bound)
    assert np.array_equal(view.example_source.data["time_step"], np.arange(1, 31))
    assert view.source.data["step"].tolist() == [1, 2, 3]
    assert np.allclose(view.source.data["log_likelihood_bound"], [-0.1, -0.2, -0.3])
    view.push([frame(4)], [])  # no arrays: the example stays, the step is appended
    assert len(view.example_source.data["bound"]) == 30 and len(view.source.data["step"]) == 4
    view.reset()
    assert len(view.source.data["step"]) == 0 and len(view.example_source.data["bound"]) == 0


def test_likelihood_bound_stream_keeps_the_newest_rows(monkeypatch):
    monkeypatch.setattr(base, "BUFFER_ROWS", 5)
    view = LikelihoodBoundView()
    for start in (1, 4, 7):
        view.push([frame(step) for step in range(start, start + 3)], [])
    assert view.source.data["step"].tolist() == [5, 6, 7, 8, 9]
    assert view.rows_shown == 9


def test_calibration_view_shows_the_newest_reliability_table():
    view = CalibrationView()
    first, second = reliability(seed=1), reliability(seed=2)
    view.push([frame(1)], [evaluation(1, 0.5, table=first), evaluation(1, 0.6, table=second)])
    used = second[2] > 0
    data = view.reliability_source.data
    assert np.allclose(data["confidence"], second[0][used])
    assert np.allclose(data["accuracy"], second[1][used])
    assert np.allclose(data["count"], second[2][used])
    view.push([frame(2)], [evaluation(2, 0.7)])  # no table: the last one stays
    assert np.allclose(view.reliability_source.data["count"], second[2][used])


def test_calibration_view_files_evaluations_under_their_k():
    view = CalibrationView()
    view.push([], [evaluation(0, 0.2)])  # before any snapshot told K: waits
    assert len(view.by_k_source.data["K"]) == 0
    view.push([frame(1, k=2), frame(2, k=2), frame(3, k=2)], [evaluation(2, 0.4, ece=0.3)])
    assert view.by_k_source.data["K"].tolist() == [2]
    assert view.by_k_source.data["test_accuracy"].tolist() == pytest.approx([0.3])
    view.push([frame(4, k=4), frame(5, k=4)], [evaluation(4, 0.8, ece=0.1)])
    # an evaluation of step 3 that comes late is still filed under the K of step 3
    view.push([frame(6, k=4)], [evaluation(3, 0.5), evaluation(6, 0.6, ece=0.3)])
    data = view.by_k_source.data
    assert data["K"].tolist() == [2, 4]
    assert data["test_accuracy"].tolist() == pytest.approx([(0.2 + 0.4 + 0.5) / 3, 0.7])
    assert data["ece"].tolist() == pytest.approx([(0.1 + 0.3 + 0.1) / 3, 0.2])
    assert data["test_log_likelihood"].tolist() == pytest.approx([-1.0, -1.0])
    view.reset()
    assert len(view.by_k_source.data["K"]) == 0 and len(view.reliability_source.data["count"]) == 0
    view.push([frame(7, k=5)], [evaluation(7, 0.9)])
    assert view.by_k_source.data["K"].tolist() == [5]


@pytest.mark.parametrize("make_view, frame_of", [
    (CompartmentRasterView,
     lambda i: frame(i, k=1 + i % 5, raster_hidden_compartments=rasters(i, k=1 + i % 5))),
    (ImportanceWeightView, lambda i: frame(i, k=1 + i % 20, omega=omega(i, k=1 + i % 20))),
    (LikelihoodBoundView, lambda i: frame(i, loglik_bound=np.random.rand(20))),
    (CalibrationView, lambda i: frame(i, k=1 + i // 10)),
])
def test_frames_change_data_not_models(make_view, frame_of):
    view = make_view()
    root, before = model_ids(view)
    for i in range(1, 101):
        view.push([frame_of(i), frame(i)], [evaluation(i, 0.5, table=reliability(i))])
        if isinstance(view, CompartmentRasterView):
            view.compartment = min(i % 3, view.param.compartment.bounds[1])
    assert view.frames_drawn == 100
    assert {model.id for model in root.references()} == before
    assert all(len(next(iter(s.data.values()))) for s in view.sources())
