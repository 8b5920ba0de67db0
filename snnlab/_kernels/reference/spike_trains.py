"""NumPy twins of :mod:`snnlab._kernels.spike_trains`, computed another way where possible."""

import numpy as np
from scipy.signal import lfilter


def van_rossum_squared(train_a, train_b, decay, out):
    """Twin: the exponential filter by ``scipy.signal.lfilter``, then the same exact weights."""
    difference = train_a.astype(np.float64) - train_b.astype(np.float64)
    f = lfilter([1.0], [1.0, -decay], difference, axis=0)  # f_k = decay f_{k-1} + x_k
    weights = np.full(train_a.shape[0], 0.5 * (1.0 - decay * decay))
    weights[-1] = 0.5
    out[...] = np.einsum("k,kbn->bn", weights, f * f)


def schreiber_similarity(train_a, train_b, dt_over_sigma, max_lag, out):
    """Twin: dense matrix of all spike pairs (no lag cut-off)."""
    coefficient = 0.25 * dt_over_sigma * dt_over_sigma
    _, n_batch, n = train_a.shape
    for b in range(n_batch):
        for j in range(n):
            spikes_a = np.repeat(np.arange(train_a.shape[0]), train_a[:, b, j]).astype(np.float64)
            spikes_b = np.repeat(np.arange(train_b.shape[0]), train_b[:, b, j]).astype(np.float64)
            if spikes_a.size == 0 or spikes_b.size == 0:
                out[b, j] = 1.0 if spikes_a.size == spikes_b.size else 0.0
                continue

            def overlap(u, v):
                return np.exp(-coefficient * (u[:, None] - v[None, :]) ** 2).sum()

            out[b, j] = overlap(spikes_a, spikes_b) / np.sqrt(
                overlap(spikes_a, spikes_a) * overlap(spikes_b, spikes_b)
            )


def event_counts(x, y, p, t, t_start, t_end, split_polarity, out):
    """Twin: ``np.add.at`` over the events inside the window."""
    inside = (t >= t_start) & (t < t_end)
    channel = (p[inside] > 0).astype(np.int64) if split_polarity else np.zeros(inside.sum(), int)
    np.add.at(out, (channel, y[inside], x[inside]), 1)
