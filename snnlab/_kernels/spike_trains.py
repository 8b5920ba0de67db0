"""Spike-train measures on a time grid and event-count images.

Spike trains are ``(T, B, n)`` uint8 arrays of spike counts per bin; a spike in bin ``k`` sits
at time ``k dt``. Both distance measures are the continuous-time values for spikes at those
times (no discretisation error), accumulated in float64.
"""

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def van_rossum_squared(train_a, train_b, decay, out):
    """Squared van Rossum distance per neuron, ``D^2 = (1/tau) int_0^inf f(t)^2 dt``.

    ``f = (s_a - s_b) * exp(-t/tau) H(t)``. Between bins ``f`` decays from its value
    ``f_k`` just after bin ``k``, so ``int_{t_k}^{t_{k+1}} f^2 = f_k^2 (tau/2)(1 - q^2)`` with
    ``q = decay = exp(-dt/tau)``, and after the last bin the tail gives ``f_{T-1}^2 tau/2``.

    train_a, train_b: (T, B, n) uint8.  out: (B, n) float64, filled.
    """
    n_steps, n_batch, n = train_a.shape
    step_weight = 0.5 * (1.0 - decay * decay)
    f = np.zeros((n_batch, n))
    out[:, :] = 0.0
    for k in range(n_steps):  # time outermost: contiguous (B, n) slabs
        weight = 0.5 if k == n_steps - 1 else step_weight
        for b in range(n_batch):
            for j in range(n):
                f[b, j] = f[b, j] * decay + (float(train_a[k, b, j]) - float(train_b[k, b, j]))
                out[b, j] += weight * f[b, j] * f[b, j]


@njit(cache=True, nogil=True)
def _gaussian_overlap(times_a, counts_a, times_b, counts_b, coefficient, max_lag):
    """``sum_{pairs} c_a c_b exp(-coefficient * lag^2)`` over spike pairs ``|lag| <= max_lag``.

    Spike bins in each list are increasing; lags are in bins.
    """
    n_a, n_b = times_a.size, times_b.size
    total = 0.0
    first = 0
    for i in range(n_a):
        while first < n_b and times_b[first] < times_a[i] - max_lag:
            first += 1
        k = first
        while k < n_b and times_b[k] <= times_a[i] + max_lag:
            lag = float(times_b[k] - times_a[i])
            total += counts_a[i] * counts_b[k] * math.exp(-coefficient * lag * lag)
            k += 1
    return total


@njit(cache=True, nogil=True)
def spike_lists(train):
    """Spike bins of every (batch, neuron) train in CSR form, from two time-major passes.

    train: (T, B, n) uint8. Returns ``offsets`` (B*n + 1,) int64 and ``times`` int64 /
    ``counts`` float64 of length ``offsets[-1]``; train ``b * n + j`` owns
    ``times[offsets[b*n + j]:offsets[b*n + j + 1]]``, increasing.
    """
    n_steps, n_batch, n = train.shape
    offsets = np.zeros(n_batch * n + 1, np.int64)
    for k in range(n_steps):
        for b in range(n_batch):
            for j in range(n):
                if train[k, b, j] != 0:
                    offsets[b * n + j + 1] += 1
    for m in range(n_batch * n):
        offsets[m + 1] += offsets[m]
    fill = offsets[:-1].copy()
    times = np.empty(offsets[-1], np.int64)
    counts = np.empty(offsets[-1], np.float64)
    for k in range(n_steps):
        for b in range(n_batch):
            for j in range(n):
                if train[k, b, j] != 0:
                    times[fill[b * n + j]] = k
                    counts[fill[b * n + j]] = train[k, b, j]
                    fill[b * n + j] += 1
    return offsets, times, counts


@njit(cache=True, nogil=True)
def schreiber_similarity(train_a, train_b, dt_over_sigma, max_lag, out):
    """Correlation-based similarity of Schreiber et al. (2003) per neuron.

    Each train is convolved with a Gaussian of standard deviation sigma; the similarity is the
    cosine ``<g_a, g_b> / (|g_a| |g_b|)``. For Gaussians, ``int G(t - u) G(t - v) dt`` is
    proportional to ``exp(-(u - v)^2 / (4 sigma^2))``, so the inner products are exact sums
    over spike pairs; pairs further apart than ``max_lag`` bins (pass ``ceil(10 sigma/dt)``,
    weight below e^-25) are skipped. Both trains empty: 1; exactly one empty: 0.

    train_a, train_b: (T, B, n) uint8.  dt_over_sigma: dt / sigma.  out: (B, n) float64.
    """
    _, n_batch, n = train_a.shape
    coefficient = 0.25 * dt_over_sigma * dt_over_sigma
    offsets_a, times_a, counts_a = spike_lists(train_a)
    offsets_b, times_b, counts_b = spike_lists(train_b)
    for b in range(n_batch):
        for j in range(n):
            m = b * n + j
            ta = times_a[offsets_a[m] : offsets_a[m + 1]]
            ca = counts_a[offsets_a[m] : offsets_a[m + 1]]
            tb = times_b[offsets_b[m] : offsets_b[m + 1]]
            cb = counts_b[offsets_b[m] : offsets_b[m + 1]]
            if ta.size == 0 or tb.size == 0:
                out[b, j] = 1.0 if ta.size == tb.size else 0.0
                continue
            ab = _gaussian_overlap(ta, ca, tb, cb, coefficient, max_lag)
            aa = _gaussian_overlap(ta, ca, ta, ca, coefficient, max_lag)
            bb = _gaussian_overlap(tb, cb, tb, cb, coefficient, max_lag)
            out[b, j] = ab / math.sqrt(aa * bb)


@njit(cache=True, nogil=True)
def event_counts(x, y, p, t, t_start, t_end, split_polarity, out):
    """Count events per pixel: ``out[c, y, x] += 1`` for events with ``t_start <= t < t_end``.

    x, y, p, t: (n_events,) int64 (t in microseconds); coordinates must lie inside ``out``.
    split_polarity: channel 1 for ``p > 0``, channel 0 otherwise; else everything in channel 0.
    out: (n_channels, H, W) int32, added to (zero it first for a fresh image).
    """
    for e in range(x.shape[0]):
        if t_start <= t[e] < t_end:
            channel = 1 if (split_polarity and p[e] > 0) else 0
            out[channel, y[e], x[e]] += 1
