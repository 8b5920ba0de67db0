"""EP's posterior views, driven by synthetic EP snapshots (no server): what lands in their data
sources, redraws on a control change, reset, and a fixed set of Bokeh models while frames come."""

import numpy as np
import pytest

from snnlab import learners
from snnlab.learners.snapshot import Snapshot
from snnlab.ui.views import learner_views
from snnlab.ui.views.ep import (
    MAX_BAND_POINTS,
    MarginalsView,
    PosteriorHistogramView,
    UncertaintyView,
    image_shape,
    sensor_image,
    sorted_band,
)

INPUT_SHAPE = (2, 3, 4)  # polarity, rows, columns
N_IN = 2 * 3 * 4


def frame(step, **arrays):
    return Snapshot(step=step, epoch=0.0, scalars={"loss": 1.0 / step}, arrays=arrays)


def marginals(seed=0, n_neurons=3, n_support=0):
    """``marginal_*`` arrays of ``n_neurons`` neurons (``n_support`` 0: Gaussian weights)."""
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(n_support), size=(n_neurons, N_IN)) if n_support else \
        np.zeros((n_neurons, N_IN, 0))
    return {"marginal_mean": rng.normal(size=(n_neurons, N_IN)).astype(np.float32),
            "marginal_std": rng.uniform(0.1, 1.0, size=(n_neurons, N_IN)).astype(np.float32),
            "marginal_probs": probs.astype(np.float32)}


def posterior(seed=0, n=500, n_support=0):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(n_support), size=n) if n_support else np.zeros((n, 0))
    return {"posterior_mean": rng.normal(size=n).astype(np.float32),
            "posterior_std": rng.uniform(0.1, 1.0, size=n).astype(np.float32),
            "posterior_probs": probs.astype(np.float32)}


def uncertainty(seed=0, n=50, classification=True):
    rng = np.random.default_rng(seed)
    error = (rng.random(n) < 0.3) if classification else rng.uniform(0, 2, n)
    return {"test_uncertainty": rng.uniform(0, 1, n).astype(np.float32),
            "test_error": np.asarray(error, dtype=np.float32)}


def model_ids(view):
    root = view.__panel__().get_root()
    return root, {model.id for model in root.references()}


def test_ep_views_are_registered_and_fed_by_the_learner():
    views = learner_views("ep")
    arrays = learners.learner_class("ep").snapshot_arrays
    assert {MarginalsView, PosteriorHistogramView, UncertaintyView} <= set(views)
    assert all(view.applies_to(arrays) for view in views)


def test_sensor_image_averages_polarity_and_windows():
    values = np.arange(N_IN, dtype=float)
    image = sensor_image(values, INPUT_SHAPE)
    assert image.shape == (3, 4)
    assert image[0, 0] == (0 + 12) / 2
    assert sensor_image(np.arange(10.0), (5,)).tolist() == [[2.5, 3.5, 4.5, 5.5, 6.5]]
    assert sensor_image(np.arange(7.0), (5,)).shape == (1, 7)  # not a multiple: one row
    assert image_shape((2, 3, 4)) == (3, 4) and image_shape((5,)) == (1, 5)


def test_sorted_band_sorts_mean_with_its_std_and_decimates():
    band = sorted_band(np.array([3.0, 1.0, 2.0]), np.array([0.3, 0.1, 0.2]))
    assert band["rank"].tolist() == [0, 1, 2] and band["mean"].tolist() == [1, 2, 3]
    assert np.allclose(band["lower"], [0.9, 1.8, 2.7]) and np.allclose(band["upper"], [1.1, 2.2, 3.3])
    big = sorted_band(np.arange(10_000.0)[::-1], np.ones(10_000))
    assert len(big["rank"]) <= MAX_BAND_POINTS
    assert big["rank"][0] == 0 and big["rank"][-1] == 9999 and big["mean"][-1] == 9999


def test_marginals_view_shows_the_chosen_neuron_gaussian():
    view = MarginalsView(input_shape=INPUT_SHAPE)
    arrays = marginals()
    view.push([frame(1, **arrays)], [])
    mean, std = arrays["marginal_mean"], arrays["marginal_std"]
    assert view.param.neuron.bounds == (0, 2)
    order = np.argsort(mean[0])
    band = view.band_source.data
    assert np.allclose(band["mean"], mean[0][order]) and np.array_equal(band["rank"], np.arange(N_IN))
    assert np.allclose(band["upper"] - band["lower"], 2 * std[0][order], atol=1e-6)
    image = view.mean_source.data["image"][0]
    assert image.shape == (3, 4)
    # upright: the sensor's first row is drawn on top, i.e. the last row Bokeh draws
    assert np.allclose(image[-1], sensor_image(mean[0], INPUT_SHAPE)[0])
    # the colour range holds the image with a tenth of its span to spare on each side
    span = image.max() - image.min()
    assert view.mean_mapper.low == pytest.approx(image.min() - 0.1 * span)
    assert view.mean_mapper.high == pytest.approx(image.max() + 0.1 * span)
    assert np.allclose(view.std_source.data["image"][0][::-1], sensor_image(std[0], INPUT_SHAPE))
    assert view.mean_figure.title.text == "posterior mean"

    view.neuron = 2
    assert np.allclose(view.band_source.data["mean"], np.sort(mean[2]))
    assert np.allclose(view.mean_source.data["image"][0][::-1], sensor_image(mean[2], INPUT_SHAPE))
    assert view.frames_drawn == 1


def test_marginals_view_maps_a_support_probability_for_discrete_weights():
    view = MarginalsView(input_shape=INPUT_SHAPE)
    arrays = marginals(n_support=3)
    view.push([frame(1, **arrays)], [])
    probs = arrays["marginal_probs"]
    assert view.mean_figure.title.text == "P(w = support[2])"
    assert np.allclose(view.mean_source.data["image"][0][::-1],
                       sensor_image(probs[0][:, 2], INPUT_SHAPE))
    view.support_value = 0
    assert view.mean_figure.title.text == "P(w = support[0])"
    assert np.allclose(view.mean_source.data["image"][0][::-1],
                       sensor_image(probs[0][:, 0], INPUT_SHAPE))
    view.support_value = 7  # out of range: the last support value
    assert view.mean_figure.title.text == "P(w = support[2])"


def test_marginals_view_uses_the_newest_arrays_and_resets():
    view = MarginalsView(input_shape=INPUT_SHAPE)
    old, new = marginals(seed=1), marginals(seed=2)
    # only the newest snapshot carrying arrays counts; later ones carry scalars only
    view.push([frame(1, **old), frame(2, **new), frame(3)], [])
    assert np.allclose(view.band_source.data["mean"], np.sort(new["marginal_mean"][0]))
    view.reset()
    assert all(len(column) == 0 for s in view.sources() for column in s.data.values())
    assert view.frames_drawn == 0
    view.neuron = 1  # nothing to redraw after a reset
    assert len(view.band_source.data["mean"]) == 0


def test_posterior_histograms_count_every_weight():
    view = PosteriorHistogramView()
    gaussian = posterior()
    view.push([frame(1, **gaussian)], [])
    assert view.histograms["mean"].data["top"].sum() == 500
    assert view.histograms["std"].data["top"].sum() == 500
    assert view.histograms["std"].data["left"][0] == pytest.approx(gaussian["posterior_std"].min())
    assert len(view.histograms["max_probability"].data["top"]) == 0  # Gaussian: no probabilities

    ternary = posterior(seed=3, n=300, n_support=3)
    view.push([frame(2, **ternary)], [])
    shown = view.histograms["max_probability"].data
    assert shown["top"].sum() == 300 and shown["left"][0] == 0 and shown["right"][-1] == 1
    assert view.histograms["mean"].data["top"].sum() == 300
    view.reset()
    assert all(len(s.data["top"]) == 0 for s in view.histograms.values())


def test_uncertainty_view_classification_colours_errors():
    view = UncertaintyView(kind="classification")
    arrays = uncertainty()
    view.push([frame(1, **arrays)], [])
    data = view.source.data
    wrong = arrays["test_error"] > 0.5
    assert np.array_equal(data["sample"], np.arange(50))
    assert np.allclose(data["uncertainty"], arrays["test_uncertainty"])
    assert (np.asarray(data["outcome"]) == "error").tolist() == wrong.tolist()
    entropy = arrays["test_uncertainty"]
    assert f"<b>{entropy[wrong].mean():.3f}</b> on the {wrong.sum()} errors" in view.summary.text
    assert f"<b>{entropy[~wrong].mean():.3f}</b> on the {(~wrong).sum()} correct" in view.summary.text

    right = dict(arrays, test_error=np.zeros(50, dtype=np.float32))
    view._summary_at = 0.0  # the summary text changes at most once a second
    view.push([frame(2, **right)], [])
    assert "all 50 test samples (correct predictions)" in view.summary.text
    view.reset()
    assert len(view.source.data["sample"]) == 0 and view.summary.text == ""


def test_uncertainty_view_regression_maps_the_error():
    view = UncertaintyView(kind="regression")
    arrays = uncertainty(classification=False)
    view.push([frame(1, **arrays)], [])
    error = arrays["test_error"]
    assert np.allclose(view.source.data["error"], error)
    span = error.max() - error.min()
    assert view.error_mapper.low == pytest.approx(error.min() - 0.1 * span)
    assert view.error_mapper.high == pytest.approx(error.max() + 0.1 * span)
    corr = np.corrcoef(arrays["test_uncertainty"], error)[0, 1]
    assert view.summary.text == f"correlation of predictive std with |error|: <b>{corr:.2f}</b>"


@pytest.mark.parametrize("make_view, arrays_of", [
    (lambda: MarginalsView(input_shape=INPUT_SHAPE),
     lambda i: marginals(seed=i, n_support=3 * (i % 2))),
    (PosteriorHistogramView, lambda i: posterior(seed=i, n_support=3 * (i % 2))),
    (lambda: UncertaintyView(kind="classification"), lambda i: uncertainty(seed=i)),
    (lambda: UncertaintyView(kind="regression"),
     lambda i: uncertainty(seed=i, classification=False)),
])
def test_frames_change_data_not_models(make_view, arrays_of):
    view = make_view()
    root, before = model_ids(view)
    for i in range(100):
        view.push([frame(i + 1, **arrays_of(i)), frame(i + 2)], [])
        if isinstance(view, MarginalsView):
            view.neuron = i % 3
    assert view.frames_drawn == 100
    assert {model.id for model in root.references()} == before
    assert any(len(next(iter(s.data.values()))) for s in view.sources())
