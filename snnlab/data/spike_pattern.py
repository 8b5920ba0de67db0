"""Spike-train mapping: random Poisson input trains -> random desired output trains (NormAD).

Each of ``n_patterns`` patterns pairs ``n_inputs`` Poisson input trains at ``input_rate`` Hz
with ``n_outputs`` desired output trains. Desired trains are Poisson with a dead time: gaps are
``min_isi + Exp`` with the exponential's mean chosen so the mean rate is ``output_rate``
(``1 / output_rate > min_isi`` is required), so targets have a few well-separated spikes, none
before ``min_isi`` (an output cannot fire before inputs have driven it), and at least one each.
The training and test splits hold the same patterns: the task is to learn the mapping.
"""

from __future__ import annotations

import numpy as np

from snnlab.data.task import Split, Task
from snnlab.encoders import poisson_encode

MAX_REDRAWS = 1000


def _target_times(rng, rate: float, min_isi: float, duration: float) -> np.ndarray:
    """One desired train (seconds): gaps ``min_isi + Exp(mean 1/rate - min_isi)``, >= 1 spike."""
    mean_free = 1.0 / rate - min_isi
    for _ in range(MAX_REDRAWS):
        n = int(np.ceil(duration * rate * 2 + 10))
        times = np.cumsum(min_isi + rng.exponential(mean_free, n))
        times = times[times < duration]
        if len(times):
            return times
    raise ValueError(
        f"could not draw a target spike within {duration} s at {rate} Hz with min_isi "
        f"{min_isi} s; raise output_rate or duration"
    )


def load_spike_pattern(
    *,
    n_inputs: int = 100,
    n_outputs: int = 1,
    n_patterns: int = 1,
    duration: float = 0.5,
    dt: float = 1e-4,
    input_rate: float = 20.0,
    output_rate: float = 10.0,
    min_isi: float = 0.01,
    seed: int = 0,
) -> Task:
    """Random spike-train mapping task (see the module docstring); times in seconds, rates in Hz.

    x: ``(n_patterns, T, n_inputs)`` 0/1 spikes; y: ``(n_patterns, T, n_outputs)`` 0/1 desired
    spikes, ``T = round(duration / dt)``. Deterministic per ``seed``.
    """
    for name, value in (
        ("n_inputs", n_inputs),
        ("n_outputs", n_outputs),
        ("n_patterns", n_patterns),
    ):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not dt > 0 or not duration > dt:
        raise ValueError(f"need 0 < dt < duration, got dt={dt!r}, duration={duration!r}")
    if not input_rate >= 0:
        raise ValueError(f"input_rate must be >= 0 Hz, got {input_rate!r}")
    if not min_isi >= dt:
        raise ValueError(f"min_isi must be at least one bin (dt = {dt} s), got {min_isi!r}")
    if not 0 < output_rate < 1.0 / min_isi:
        raise ValueError(
            f"output_rate must lie in (0, 1/min_isi = {1.0 / min_isi:g}) Hz, got {output_rate!r}"
        )
    n_steps = round(duration / dt)
    input_seed, target_seed = np.random.SeedSequence(seed).spawn(2)
    rates = np.full((n_patterns, n_inputs), float(input_rate))
    spikes = poisson_encode(rates, n_steps, dt, seed=input_seed)
    x = np.ascontiguousarray(np.minimum(spikes, 1).swapaxes(0, 1))
    rng = np.random.default_rng(target_seed)
    y = np.zeros((n_patterns, n_steps, n_outputs), dtype=np.uint8)
    for k in range(n_patterns):
        for j in range(n_outputs):
            bins = np.floor(_target_times(rng, output_rate, min_isi, duration) / dt).astype(int)
            y[k, np.minimum(bins, n_steps - 1), j] = 1
    options = {
        "n_inputs": int(n_inputs),
        "n_outputs": int(n_outputs),
        "n_patterns": int(n_patterns),
        "duration": duration,
        "dt": dt,
        "input_rate": input_rate,
        "output_rate": output_rate,
        "min_isi": min_isi,
        "seed": seed,
    }
    return Task(
        name="spike-pattern",
        kind="spike-train",
        train=Split(x=x, y=y),
        test=Split(x=x.copy(), y=y.copy()),
        n_inputs=int(n_inputs),
        n_outputs=int(n_outputs),
        n_steps=n_steps,
        dt=dt,
        options=options,
    )
