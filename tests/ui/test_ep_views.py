"""EP's posterior views, driven by real EP snapshots (no server)."""

import numpy as np
import pytest

from snnlab import Session, learners
from snnlab.ui.views.ep import MarginalsView, PosteriorHistogramView, UncertaintyView, sensor_image
from toy_tasks import toy_classification


def test_sensor_image_averages_polarity_and_windows():
    values = np.arange(2 * 3 * 4, dtype=float)
    image = sensor_image(values, (2, 3, 4))
    assert image.shape == (3, 4)
    assert image[0, 0] == (0 + 12) / 2
    assert sensor_image(np.arange(5.0), (5,)).shape == (1, 5)


@pytest.mark.parametrize("weight_kind", ["gaussian", "ternary"])
def test_ep_views_show_the_learners_posterior(weight_kind):
    task = toy_classification(n_inputs=12)
    learner = learners.make("ep", weight_kind=weight_kind, batch_size=8)
    with Session(learner, task) as session:
        frames = [session.step() for _ in range(3)]
        marginals = learner.marginals()[0]
    view = MarginalsView.for_task(task)
    view.push(frames, [])
    mean, std = view.sorted_pipe.data
    assert np.allclose(np.sort(marginals["mean"][0]), mean, atol=1e-6)
    assert np.allclose(std, np.sqrt(marginals["var"][0])[np.argsort(marginals["mean"][0])], atol=1e-6)
    shown, _, label = view.maps_pipe.data
    if weight_kind == "ternary":
        assert label.startswith("P(w") and np.allclose(shown.ravel(), marginals["probs"][0][:, -1], atol=1e-6)
    view.neuron = 2
    assert np.allclose(view.sorted_pipe.data[0], np.sort(marginals["mean"][2]), atol=1e-6)

    histograms = PosteriorHistogramView()
    histograms.push(frames, [])
    counts, _ = histograms.pipes["posterior std"].data
    assert counts.sum() == frames[-1].arrays["posterior_std"].size
    if weight_kind == "ternary":
        assert histograms.pipes["max probability (discrete weights)"].data[0].sum() == len(frames[-1].arrays["posterior_probs"])

    uncertainty = UncertaintyView.for_task(task)
    uncertainty.push(frames, [])
    entropy, error = uncertainty.pipe.data
    assert len(entropy) == len(error) == len(task.test)
    assert (entropy >= 0).all() and (entropy <= np.log(task.n_outputs) + 1e-6).all()
