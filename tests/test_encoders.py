"""Encoders: rate statistics, determinism per seed, latency order, event frames, input checks."""

import numpy as np
import pytest

from snnlab.data.events import FrameSpec, events_to_frames, make_events
from snnlab.encoders import (
    bernoulli_encode,
    event_frame_encode,
    latency_encode,
    poisson_encode,
)


def test_bernoulli_rate_matches_probability_and_bins_are_independent():
    p = np.array([[0.0, 0.05, 0.3, 0.7, 1.0]]).repeat(40, axis=0)  # (B=40, n=5)
    spikes = bernoulli_encode(p, 2000, seed=1)
    assert spikes.shape == (2000, 40, 5) and spikes.dtype == np.uint8 and spikes.max() == 1
    rate = spikes.mean(axis=(0, 1))
    # 80,000 bins per input: standard error below 0.002
    np.testing.assert_allclose(rate, p[0], atol=0.01)
    assert rate[0] == 0.0 and rate[4] == 1.0
    # consecutive bins of the p = 0.3 input fire together with probability p^2
    s = spikes[:, :, 2].astype(float)
    assert (s[1:] * s[:-1]).mean() == pytest.approx(0.09, abs=0.01)


def test_poisson_counts_have_the_asked_rate_and_fano_factor_one():
    rates = np.full((50, 40), 40.0)  # Hz
    spikes = poisson_encode(rates, 1000, 1e-3, seed=2)
    assert spikes.shape == (1000, 50, 40) and spikes.dtype == np.uint8
    counts = spikes.sum(axis=0).astype(float)  # 2,000 trains of 1 s at 40 Hz
    assert counts.mean() == pytest.approx(40.0, rel=0.02)
    assert counts.var() / counts.mean() == pytest.approx(1.0, abs=0.12)
    # exponential gaps: intervals between spikes of a train have coefficient of variation ~1
    gaps = np.diff(np.flatnonzero(spikes[:, 0, 0] > 0))
    assert gaps.mean() == pytest.approx(25, rel=0.25)


def test_poisson_intensities_scale_by_max_rate():
    values = np.linspace(0.0, 1.0, 6)[None].repeat(200, axis=0)
    spikes = poisson_encode(values, 500, 1e-3, max_rate=100.0, seed=0)
    rate = spikes.sum(axis=0).mean(axis=0) / 0.5
    np.testing.assert_allclose(rate, values[0] * 100.0, atol=3.0)
    assert spikes[:, :, 0].sum() == 0


def test_poisson_counts_several_spikes_in_a_long_bin():
    spikes = poisson_encode(np.full((400, 1), 500.0), 1, 0.01, seed=0)  # 5 spikes per bin
    assert spikes.max() > 1 and spikes.mean() == pytest.approx(5.0, rel=0.05)


@pytest.mark.parametrize(
    "encode",
    [
        lambda v, seed: bernoulli_encode(v, 100, seed=seed),
        lambda v, seed: poisson_encode(v, 100, 1e-3, max_rate=200.0, seed=seed),
    ],
)
def test_rate_codes_are_deterministic_per_seed(encode):
    values = np.random.default_rng(0).random((8, 30)) * 0.5
    np.testing.assert_array_equal(encode(values, 7), encode(values, 7))
    assert not np.array_equal(encode(values, 7), encode(values, 8))


def test_one_dimensional_values_are_one_sample():
    assert bernoulli_encode([0.5, 0.5, 0.5], 10).shape == (10, 1, 3)
    assert latency_encode([0.5], 10).shape == (10, 1, 1)


def test_latency_fires_once_earlier_for_larger_values():
    values = np.array([[1.0, 0.75, 0.5, 0.1, 0.0], [0.0, 0.2, 0.4, 0.6, 0.8]])
    spikes = latency_encode(values, 9)
    assert spikes.shape == (9, 2, 5)
    assert spikes.sum(axis=0).tolist() == [[1, 1, 1, 1, 0], [0, 1, 1, 1, 1]]
    assert spikes[:, 0, :4].argmax(axis=0).tolist() == [0, 2, 4, 7]
    assert spikes[:, 1, 1:].argmax(axis=0).tolist() == [6, 5, 3, 2]
    assert latency_encode(values, 9, threshold=0.5).sum() == 4


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: bernoulli_encode([[0.2, np.nan]], 5), r"probabilities contain NaN .*\(0, 1\)"),
        (lambda: bernoulli_encode([[0.2, 1.5]], 5), r"probabilities must lie in \[0.0, 1.0\]"),
        (lambda: poisson_encode([[-1.0]], 5, 1e-3), r"rates must lie in \[0.0, inf\]"),
        (lambda: poisson_encode([[1.2]], 5, 1e-3, max_rate=10), "values must lie in"),
        (lambda: poisson_encode([[1.0]], 5, 0.0), "dt must be a positive"),
        (lambda: poisson_encode([[0.5]], 5, 1e-3, max_rate=np.nan), "max_rate must be"),
        (lambda: latency_encode([[0.5]], 0), "n_steps must be a positive integer"),
        (lambda: latency_encode(np.zeros((2, 2, 2)), 5), r"must be \(B, n\) or \(n,\)"),
        (lambda: latency_encode([[np.inf]], 5), "values must lie in"),
    ],
)
def test_bad_inputs_are_refused_with_a_clear_message(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_event_frame_encoder_stacks_recordings_time_first():
    rng = np.random.default_rng(0)
    recordings = [
        make_events(
            rng.integers(0, 34, n),
            rng.integers(0, 34, n),
            np.sort(rng.integers(0, 300_000, n)),
            rng.integers(0, 2, n),
        )
        for n in (100, 250, 40)
    ]
    spikes = event_frame_encode(recordings, n_steps=15, pooling=2, polarity="merge")
    assert spikes.shape == (15, 3, 289) and spikes.dtype == np.uint8
    spec = FrameSpec(n_steps=15, pooling=2, polarity="merge")
    for b, events in enumerate(recordings):
        np.testing.assert_array_equal(spikes[:, b], events_to_frames(events, spec))
    assert spikes.reshape(15 * 3, 289).sum() == 390
    assert event_frame_encode(recordings[0], n_steps=15).shape == (15, 1, 2312)
