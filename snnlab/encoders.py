"""Encoders: real values or event recordings -> spike tensors ``(T, B, n)`` uint8.

- :func:`bernoulli_encode`: each bin fires with probability ``p`` (values in [0, 1]).
- :func:`poisson_encode`: a Poisson process per input at a rate in Hz (or ``value * max_rate``);
  the tensor holds spike counts per bin.
- :func:`latency_encode`: one spike per input, earlier for larger values.
- :func:`event_frame_encode`: event recordings binned into frames
  (:func:`snnlab.data.events.events_to_frames`).

Rate codes are drawn as spike lists: for every input the gap to its next spike is drawn
(geometric for Bernoulli, exponential for Poisson) until the window ends, so the cost grows with
the number of spikes, not with ``T x B x n``. The same seed and input give the same tensor.
Input ``values`` are ``(B, n)``, or ``(n,)`` for one sample (``B = 1``).
"""

from __future__ import annotations

import numpy as np

from snnlab.data.events import NMNIST_SENSOR, FrameSpec, events_to_frames

GAP_BLOCK_ELEMENTS = 1 << 22  # gaps drawn per block, bounds the memory of one draw


def _check_steps(n_steps) -> int:
    if not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}")
    return int(n_steps)


def _as_batch(values, name: str, low: float, high: float) -> np.ndarray:
    """``values`` as float64 ``(B, n)``; ``ValueError`` for NaN or values outside [low, high]."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2:
        raise ValueError(f"{name} must be (B, n) or (n,), got shape {array.shape}")
    if np.isnan(array).any():
        where = tuple(int(i) for i in np.argwhere(np.isnan(array))[0])
        raise ValueError(f"{name} contain NaN (first at index {where})")
    bad = (array < low) | (array > high)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} must lie in [{low}, {high}]; found {array[where]} at index {where}"
        )
    return array


def _renewal_spikes(rate, n_steps, draw_gaps, rng, first_position) -> np.ndarray:
    """Counts ``(n_steps, m)`` of independent renewal processes, one per entry of ``rate``.

    rate: ``(m,)`` expected spikes per bin. draw_gaps(rng, rate_rows, k) -> ``(rows, k)`` gaps in
    bins. A spike at position ``s`` lands in bin ``floor(s - first_position)``; positions start
    at 0 and grow by the gaps until they pass the window.
    """
    m = len(rate)
    clock = np.zeros(m)
    active = np.flatnonzero(rate > 0)
    hits = []
    while active.size:
        remaining = rate[active] * (n_steps - clock[active] + first_position)
        expect = remaining.max()
        k = int(np.ceil(expect + 4.0 * np.sqrt(expect) + 2.0))
        rows_per_block = max(1, GAP_BLOCK_ELEMENTS // k)
        still = []
        for start in range(0, active.size, rows_per_block):
            rows = active[start : start + rows_per_block]
            position = clock[rows, None] + np.cumsum(draw_gaps(rng, rate[rows], k), axis=1)
            inside = position - first_position < n_steps
            bins = np.floor(position[inside] - first_position).astype(np.int64)
            hits.append(bins * m + np.broadcast_to(rows[:, None], position.shape)[inside])
            clock[rows] = position[:, -1]
            still.append(rows[inside[:, -1]])
        active = np.concatenate(still)
    flat, counts = np.unique(
        np.concatenate(hits) if hits else np.zeros(0, np.int64), return_counts=True
    )
    out = np.zeros(n_steps * m, dtype=np.uint8)
    out[flat] = np.minimum(counts, 255)
    return out.reshape(n_steps, m)


def bernoulli_encode(probabilities, n_steps: int, *, seed: int = 0) -> np.ndarray:
    """Independent Bernoulli spikes: each bin fires with probability ``probabilities[b, i]``.

    probabilities: ``(B, n)`` or ``(n,)`` in [0, 1]. Returns ``(n_steps, B, n)`` uint8 of 0/1.
    Drawn as geometric gaps between spikes (``P(gap = g) = (1 - p)^(g - 1) p``), which gives
    exactly the per-bin Bernoulli process.
    """
    n_steps = _check_steps(n_steps)
    p = _as_batch(probabilities, "probabilities", 0.0, 1.0)
    rng = np.random.default_rng(seed)

    def gaps(rng, p_rows, k):
        return rng.geometric(p_rows[:, None], size=(len(p_rows), k))

    spikes = _renewal_spikes(p.ravel(), n_steps, gaps, rng, first_position=1.0)
    return spikes.reshape(n_steps, *p.shape)


def poisson_encode(
    values, n_steps: int, dt: float, *, max_rate: float | None = None, seed: int = 0
) -> np.ndarray:
    """Poisson spike counts per bin of ``dt`` seconds.

    values: ``(B, n)`` or ``(n,)``: rates in Hz (``max_rate=None``, values >= 0), or intensities
    in [0, 1] scaled to ``value * max_rate`` Hz. Returns ``(n_steps, B, n)`` uint8 counts
    (saturating at 255; at most one spike per bin whenever ``rate * dt`` is small).
    Drawn as exponential inter-spike intervals of mean ``1 / rate``.
    """
    n_steps = _check_steps(n_steps)
    if not np.isfinite(dt) or dt <= 0:
        raise ValueError(f"dt must be a positive number of seconds, got {dt!r}")
    if max_rate is None:
        rates = _as_batch(values, "rates", 0.0, np.inf)
    else:
        if not np.isfinite(max_rate) or max_rate < 0:
            raise ValueError(f"max_rate must be a finite rate >= 0 in Hz, got {max_rate!r}")
        rates = _as_batch(values, "values", 0.0, 1.0) * max_rate
    rng = np.random.default_rng(seed)

    def gaps(rng, per_bin, k):
        return rng.exponential(1.0 / per_bin[:, None], size=(len(per_bin), k))

    spikes = _renewal_spikes(rates.ravel() * dt, n_steps, gaps, rng, first_position=0.0)
    return spikes.reshape(n_steps, *rates.shape)


def latency_encode(values, n_steps: int, *, threshold: float = 0.0) -> np.ndarray:
    """Time-to-first-spike code: one spike per input, earlier for larger values.

    values: ``(B, n)`` or ``(n,)`` in [0, 1]. A value ``v > threshold`` fires once in bin
    ``round((1 - v) (n_steps - 1))`` (1 -> bin 0, just above 0 -> the last bin); values at or below
    ``threshold`` stay silent. Returns ``(n_steps, B, n)`` uint8.
    """
    n_steps = _check_steps(n_steps)
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"threshold must lie in [0, 1), got {threshold!r}")
    v = _as_batch(values, "values", 0.0, 1.0)
    out = np.zeros((n_steps, *v.shape), dtype=np.uint8)
    b, i = np.nonzero(v > threshold)
    out[np.rint((1.0 - v[b, i]) * (n_steps - 1)).astype(np.int64), b, i] = 1
    return out


def event_frame_encode(
    recordings,
    *,
    n_steps: int = 30,
    duration_us: int = 300_000,
    polarity: str = "split",
    pooling: int = 1,
    crop=None,
    binary: bool = False,
    sensor_size: tuple[int, int] = NMNIST_SENSOR,
) -> np.ndarray:
    """Event recordings (structured arrays, ``snnlab.data.events.EVENT_DTYPE``) -> ``(T, B, n)``.

    The options are those of :class:`snnlab.data.events.FrameSpec`; ``n`` is its ``n_inputs``.
    """
    spec = FrameSpec(n_steps, duration_us, polarity, pooling, crop, binary, tuple(sensor_size))
    if isinstance(recordings, np.ndarray) and recordings.dtype.names:
        recordings = [recordings]
    frames = [events_to_frames(events, spec) for events in recordings]
    if not frames:
        return np.zeros((spec.n_steps, 0, spec.n_inputs), dtype=np.uint8)
    return np.ascontiguousarray(np.stack(frames, axis=1))
