"""Spike-train measures and event-count images.

Spike trains are arrays of spike counts per time bin, ``(T, n)`` or ``(T, B, n)`` (time first,
normally 0/1), with a spike in bin ``k`` at time ``k * dt_ms``. Times are in milliseconds.

- :func:`van_rossum_distance`: van Rossum (2001) distance with the normalisation
  ``D = sqrt((1/tau) int_0^inf f(t)^2 dt)``, ``f`` the difference of the two trains filtered by
  ``exp(-t/tau) H(t)``. One unmatched spike gives ``sqrt(1/2)``; ``n`` unmatched spikes far
  apart give ``sqrt(n/2)``; two single spikes ``Delta`` apart give ``sqrt(1 - exp(-Delta/tau))``.
  Default ``tau = 10 ms``, the membrane time constant of the NormAD neuron: spikes closer than
  about tau count as near misses.
- :func:`schreiber_similarity`: Schreiber et al. (2003) correlation measure, the cosine of the
  two trains after Gaussian smoothing (standard deviation sigma, default 2 ms), in [0, 1].
  Two single spikes ``Delta`` apart give ``exp(-Delta^2 / (4 sigma^2))``. Both trains empty:
  1 (identical); exactly one empty: 0.
- :func:`firing_rates`: spikes per second per neuron.
- :func:`event_count_image`: event-camera events (tonic's structured arrays) to a count image.

Both measures are exact for spikes on bin times (no smoothing grid), computed in float64.
"""

from __future__ import annotations

import math

import numpy as np

from snnlab._kernels import spike_trains as kernels

SCHREIBER_CUTOFF_SIGMAS = 10.0  # spike pairs further apart weigh less than exp(-25)


def _as_spike_trains(name: str, train) -> np.ndarray:
    train = np.asarray(train)
    if train.ndim not in (2, 3):
        raise ValueError(f"{name} must have shape (T, n) or (T, B, n), got {train.shape}")
    if train.dtype == np.bool_:
        return train.view(np.uint8)
    if not np.issubdtype(train.dtype, np.integer):
        raise ValueError(
            f"{name} must hold integer spike counts (uint8 or bool), got {train.dtype}"
        )
    if train.size and (train.min() < 0 or train.max() > 255):
        raise ValueError(f"{name} must hold spike counts between 0 and 255 per bin")
    return train.astype(np.uint8, copy=False)


def _pair(train_a, train_b) -> tuple[np.ndarray, np.ndarray]:
    train_a = _as_spike_trains("train_a", train_a)
    train_b = _as_spike_trains("train_b", train_b)
    if train_a.shape != train_b.shape:
        raise ValueError(
            f"train_a and train_b must have the same shape, got {train_a.shape} and {train_b.shape}"
        )
    return train_a, train_b


def _as_batched(train: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(train[:, None, :] if train.ndim == 2 else train)


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite positive number of milliseconds, got {value!r}")
    return value


def _unbatch(values: np.ndarray, batched: bool):
    """Drop the batch axis added to (T, n) inputs; a single value becomes a float."""
    if batched:
        return values
    return float(values[0]) if values.ndim == 1 else values[0]


def van_rossum_distance(
    train_a, train_b, *, dt_ms: float, tau_ms: float = 10.0, per_neuron: bool = False
):
    """van Rossum distance between two spike trains of the same shape.

    train_a, train_b: (T, n) or (T, B, n) spike counts. dt_ms: bin width; tau_ms: filter time
    constant. Returns per neuron ``D_j`` ((n,) or (B, n)) when ``per_neuron``, else the
    population distance ``sqrt(sum_j D_j^2)`` (float or (B,)), i.e. the same integral over the
    vector of all neurons' differences.
    """
    train_a, train_b = _pair(train_a, train_b)
    dt_ms, tau_ms = _positive("dt_ms", dt_ms), _positive("tau_ms", tau_ms)
    a, b = _as_batched(train_a), _as_batched(train_b)
    squared = np.zeros(a.shape[1:], dtype=np.float64)
    if a.shape[0] > 0:
        kernels.van_rossum_squared(a, b, math.exp(-dt_ms / tau_ms), squared)
    np.maximum(squared, 0.0, out=squared)  # guards the square root against rounding
    distance = np.sqrt(squared if per_neuron else squared.sum(axis=-1))
    return _unbatch(distance, train_a.ndim == 3)


def schreiber_similarity(
    train_a, train_b, *, dt_ms: float, sigma_ms: float = 2.0, per_neuron: bool = False
):
    """Schreiber et al. (2003) correlation-based similarity, in [0, 1].

    train_a, train_b: (T, n) or (T, B, n) spike counts. dt_ms: bin width; sigma_ms: standard
    deviation of the Gaussian smoothing. Returns per neuron values ((n,) or (B, n)) when
    ``per_neuron``, else their mean over neurons (float or (B,)).
    """
    train_a, train_b = _pair(train_a, train_b)
    dt_ms, sigma_ms = _positive("dt_ms", dt_ms), _positive("sigma_ms", sigma_ms)
    a, b = _as_batched(train_a), _as_batched(train_b)
    values = np.empty(a.shape[1:], dtype=np.float64)
    max_lag = math.ceil(SCHREIBER_CUTOFF_SIGMAS * sigma_ms / dt_ms)
    kernels.schreiber_similarity(a, b, dt_ms / sigma_ms, max_lag, values)
    return _unbatch(values if per_neuron else values.mean(axis=-1), train_a.ndim == 3)


def firing_rates(spikes, *, dt_ms: float) -> np.ndarray:
    """Mean firing rate in spikes per second: (T, n) -> (n,), (T, B, n) -> (B, n)."""
    spikes = _as_spike_trains("spikes", spikes)
    dt_ms = _positive("dt_ms", dt_ms)
    if spikes.shape[0] == 0:
        raise ValueError("spikes must hold at least one time bin to define a rate")
    duration_s = spikes.shape[0] * dt_ms * 1e-3
    return spikes.sum(axis=0, dtype=np.int64) / duration_s


def event_count_image(
    events,
    sensor_size,
    *,
    split_polarity: bool = True,
    t_start_us: int | None = None,
    t_end_us: int | None = None,
) -> np.ndarray:
    """Count events per pixel.

    events: structured array with integer fields ``x``, ``y``, ``p``, ``t`` (tonic's layout,
    ``t`` in microseconds; field order does not matter). sensor_size: ``(width, height)`` or
    tonic's ``(width, height, n_polarities)``. Only events with
    ``t_start_us <= t < t_end_us`` count (either bound may be None: unbounded).
    Returns int32 counts ``(2, height, width)`` with channel 1 for ``p > 0`` and channel 0
    otherwise (N-MNIST: 1 = ON), or ``(height, width)`` when ``split_polarity`` is False.
    """
    events = np.asarray(events)
    names = events.dtype.names or ()
    missing = [f for f in ("x", "y", "p", "t") if f not in names]
    if missing:
        raise ValueError(
            f"events must be a structured array with fields x, y, p, t; missing {missing}"
        )
    if events.ndim != 1:
        raise ValueError(f"events must be one-dimensional, got shape {events.shape}")
    if len(sensor_size) not in (2, 3):
        raise ValueError(
            f"sensor_size must be (width, height) or (width, height, n_polarities), got {sensor_size}"
        )
    width, height = int(sensor_size[0]), int(sensor_size[1])
    if width <= 0 or height <= 0:
        raise ValueError(f"sensor width and height must be positive, got {width} x {height}")
    fields = []
    for name in ("x", "y", "p", "t"):
        column = events[name]
        if not (np.issubdtype(column.dtype, np.integer) or column.dtype == np.bool_):
            raise ValueError(f"events field {name!r} must be integer, got {column.dtype}")
        fields.append(np.ascontiguousarray(column, dtype=np.int64))
    x, y, p, t = fields
    if x.size and (x.min() < 0 or x.max() >= width or y.min() < 0 or y.max() >= height):
        raise ValueError(
            f"event coordinates must lie inside the {width} x {height} sensor: x in "
            f"[{x.min()}, {x.max()}], y in [{y.min()}, {y.max()}]"
        )
    info = np.iinfo(np.int64)
    t_start = info.min if t_start_us is None else int(t_start_us)
    t_end = info.max if t_end_us is None else int(t_end_us)
    counts = np.zeros((2 if split_polarity else 1, height, width), dtype=np.int32)
    kernels.event_counts(x, y, p, t, t_start, t_end, bool(split_polarity), counts)
    return counts if split_polarity else counts[0]
