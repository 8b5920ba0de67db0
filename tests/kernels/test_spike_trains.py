"""Spike-train measures and event-count images: kernels vs twins, and hand-computed cases."""

import math
from pathlib import Path

import numpy as np
import pytest

from snnlab._kernels import spike_trains as kernels
from snnlab._kernels.reference import spike_trains as twins
from snnlab.spike_trains import (
    event_count_image,
    firing_rates,
    schreiber_similarity,
    van_rossum_distance,
)

NMNIST = Path(__file__).resolve().parents[3] / "shared" / "data" / "nmnist"
EVENT_DTYPE = np.dtype([("x", np.int64), ("y", np.int64), ("p", np.int64), ("t", np.int64)])


def random_trains(rng, shape, rate):
    trains = (rng.random(shape) < rate).astype(np.uint8)
    trains[rng.random(shape) < rate / 10] = 2  # a few bins with two spikes
    return trains


def single_spikes(n_steps, *positions):
    """One (T, len(positions)) train per position list: a spike at each given bin."""
    train = np.zeros((n_steps, 1), np.uint8)
    for k in positions:
        train[k, 0] += 1
    return train


def test_van_rossum_kernel_matches_twin():
    rng = np.random.default_rng(0)
    a, b = random_trains(rng, (300, 3, 7), 0.05), random_trains(rng, (300, 3, 7), 0.05)
    results = []
    for function in (kernels.van_rossum_squared, twins.van_rossum_squared):
        out = np.empty((3, 7))
        function(a, b, math.exp(-0.5 / 8.0), out)
        results.append(out)
    assert results[0].min() > 0
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12, atol=1e-12)


def test_schreiber_kernel_matches_twin():
    rng = np.random.default_rng(1)
    a, b = random_trains(rng, (400, 2, 6), 0.02), random_trains(rng, (400, 2, 6), 0.02)
    a[:, 0, 0] = 0  # one empty, one both empty
    a[:, 1, 1] = b[:, 1, 1] = 0
    results = []
    for function in (kernels.schreiber_similarity, twins.schreiber_similarity):
        out = np.empty((2, 6))
        function(a, b, 1.0 / 3.0, 30, out)
        results.append(out)
    assert results[0][0, 0] == 0.0 and results[0][1, 1] == 1.0
    np.testing.assert_allclose(results[0], results[1], rtol=1e-9, atol=1e-12)


def test_event_counts_kernel_matches_twin():
    rng = np.random.default_rng(2)
    n = 2000
    x, y = rng.integers(0, 34, n), rng.integers(0, 20, n)
    p, t = rng.integers(0, 2, n), np.sort(rng.integers(0, 300_000, n))
    for split in (True, False):
        results = []
        for function in (kernels.event_counts, twins.event_counts):
            out = np.zeros((2 if split else 1, 20, 34), np.int32)
            function(x, y, p, t, 50_000, 200_000, split, out)
            results.append(out)
        np.testing.assert_array_equal(results[0], results[1])
        assert results[0].sum() == np.sum((t >= 50_000) & (t < 200_000))


def test_van_rossum_hand_cases():
    tau, dt = 10.0, 0.5
    empty = single_spikes(200)
    for position in (0, 57, 199):  # the tail after the window is integrated too
        assert van_rossum_distance(single_spikes(200, position), empty, dt_ms=dt, tau_ms=tau) == (
            pytest.approx(math.sqrt(0.5), rel=1e-12)
        )
    far_apart = single_spikes(2000, 10, 900, 1800)
    assert van_rossum_distance(far_apart, single_spikes(2000), dt_ms=dt, tau_ms=tau) == (
        pytest.approx(math.sqrt(1.5), rel=1e-6)
    )
    a = single_spikes(200, 40, 41, 90)
    assert van_rossum_distance(a, a.copy(), dt_ms=dt) == 0.0
    distances = []
    for shift in range(0, 60, 3):
        b = single_spikes(200, 40 + shift)
        d_ab = van_rossum_distance(single_spikes(200, 40), b, dt_ms=dt, tau_ms=tau)
        assert d_ab == van_rossum_distance(b, single_spikes(200, 40), dt_ms=dt, tau_ms=tau)
        assert d_ab == pytest.approx(math.sqrt(1 - math.exp(-shift * dt / tau)), abs=1e-12)
        distances.append(d_ab)
    assert np.all(np.diff(distances) > 0)


def test_van_rossum_population_and_batches():
    rng = np.random.default_rng(3)
    a, b = random_trains(rng, (150, 4, 5), 0.04), random_trains(rng, (150, 4, 5), 0.04)
    per_neuron = van_rossum_distance(a, b, dt_ms=1.0, per_neuron=True)
    total = van_rossum_distance(a, b, dt_ms=1.0)
    assert per_neuron.shape == (4, 5) and total.shape == (4,)
    np.testing.assert_allclose(total, np.sqrt((per_neuron**2).sum(axis=1)))
    np.testing.assert_allclose(
        van_rossum_distance(a[:, 2], b[:, 2], dt_ms=1.0, per_neuron=True), per_neuron[2]
    )


def test_schreiber_hand_cases():
    sigma, dt = 2.0, 0.1
    a = single_spikes(1000, 100, 101, 400)
    assert schreiber_similarity(a, a.copy(), dt_ms=dt) == pytest.approx(1.0, rel=1e-12)
    values = []
    for shift in range(0, 100, 7):
        b = single_spikes(1000, 300 + shift)
        c_ab = schreiber_similarity(single_spikes(1000, 300), b, dt_ms=dt, sigma_ms=sigma)
        assert c_ab == schreiber_similarity(b, single_spikes(1000, 300), dt_ms=dt, sigma_ms=sigma)
        delta = shift * dt
        assert c_ab == pytest.approx(math.exp(-(delta**2) / (4 * sigma**2)), rel=1e-12)
        values.append(c_ab)
    assert np.all(np.diff(values) < 0) and 0.0 <= values[-1]
    empty = single_spikes(1000)
    assert schreiber_similarity(empty, empty, dt_ms=dt) == 1.0
    assert schreiber_similarity(a, empty, dt_ms=dt) == 0.0
    assert schreiber_similarity(empty, a, dt_ms=dt) == 0.0


def test_schreiber_mean_over_neurons_and_range():
    rng = np.random.default_rng(4)
    a, b = random_trains(rng, (500, 3, 4), 0.02), random_trains(rng, (500, 3, 4), 0.02)
    per_neuron = schreiber_similarity(a, b, dt_ms=0.5, per_neuron=True)
    assert np.all((per_neuron >= 0) & (per_neuron <= 1 + 1e-12))
    np.testing.assert_allclose(schreiber_similarity(a, b, dt_ms=0.5), per_neuron.mean(axis=1))


def test_firing_rates():
    spikes = np.zeros((200, 2, 3), np.uint8)
    spikes[::10, 0, 0] = 1  # 20 spikes in 200 bins of 0.5 ms = 0.1 s
    spikes[5, 1, 2] = 2
    rates = firing_rates(spikes, dt_ms=0.5)
    assert rates.shape == (2, 3)
    assert rates[0, 0] == pytest.approx(200.0) and rates[1, 2] == pytest.approx(20.0)
    assert rates.sum() == pytest.approx(220.0)
    np.testing.assert_allclose(firing_rates(spikes[:, 0].astype(bool), dt_ms=0.5), rates[0])


def test_event_count_image_hand_case():
    events = np.array(
        [(0, 0, 1, 10), (0, 0, 1, 20), (3, 1, 0, 30), (3, 1, 1, 40), (2, 2, 0, 50)],
        dtype=EVENT_DTYPE,
    )
    image = event_count_image(events, (4, 3, 2))
    assert image.shape == (2, 3, 4) and image.dtype == np.int32
    assert image[1, 0, 0] == 2 and image[0, 1, 3] == 1 and image[1, 1, 3] == 1
    assert image[0, 2, 2] == 1 and image.sum() == 5
    merged = event_count_image(events, (4, 3), split_polarity=False)
    np.testing.assert_array_equal(merged, image.sum(axis=0))
    window = event_count_image(events, (4, 3), t_start_us=20, t_end_us=50)
    assert window.sum() == 3 and window[1, 0, 0] == 1
    reordered = np.empty(len(events), [("x", int), ("y", int), ("t", int), ("p", int)])  # tonic's
    for name in EVENT_DTYPE.names:
        reordered[name] = events[name]
    np.testing.assert_array_equal(event_count_image(reordered, (4, 3)), image)


def test_event_count_image_on_nmnist_recording():
    tonic = pytest.importorskip("tonic")
    files = sorted((NMNIST / "train").glob("*/*.bin"))
    if not files:
        pytest.skip(f"N-MNIST recordings not found under {NMNIST}")
    events = tonic.io.read_mnist_file(str(files[0]), dtype=tonic.datasets.NMNIST.dtype)
    image = event_count_image(events, tonic.datasets.NMNIST.sensor_size)
    assert image.shape == (2, 34, 34) and image.sum() == len(events)
    for polarity in (0, 1):
        chosen = events[events["p"] == polarity]
        expected = np.zeros((34, 34), np.int64)
        np.add.at(expected, (chosen["y"], chosen["x"]), 1)
        np.testing.assert_array_equal(image[polarity], expected)


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: van_rossum_distance(np.zeros((5, 2)), np.zeros((5, 2), np.uint8), dt_ms=1),
            "integer",
        ),
        (
            lambda: van_rossum_distance(np.zeros((5, 2), int), np.zeros((5, 3), int), dt_ms=1),
            "same shape",
        ),
        (lambda: van_rossum_distance(np.zeros(5, int), np.zeros(5, int), dt_ms=1), r"\(T, n\)"),
        (
            lambda: schreiber_similarity(np.zeros((5, 2), int), np.zeros((5, 2), int), dt_ms=0),
            "dt_ms",
        ),
        (lambda: firing_rates(np.full((5, 2), -1), dt_ms=1.0), "between 0 and 255"),
        (lambda: event_count_image(np.zeros(3, [("x", int), ("y", int)]), (4, 4)), "missing"),
        (
            lambda: event_count_image(np.array([(4, 0, 1, 0)], EVENT_DTYPE), (4, 4)),
            "inside the 4 x 4 sensor",
        ),
    ],
)
def test_bad_inputs_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()
