"""LIF engine throughput against NumPy baselines measured in the same run; prints JSON.

Scenario: 784 inputs -> 1000 LIF neurons, 1 s at 1 ms steps (T = 1000), 20 Hz Poisson
inputs (p = 0.02 per step), batch 1 and batch 32, membrane not recorded. Timed per run:

- numba: :func:`snnlab.neurons.lif.simulate_lif` on 1 and 2 threads, end to end (scan of the
  input for active entries, output allocation, simulation);
- numpy_events: per step and batch element, sum the weight rows of the active inputs;
- numpy_gemm: per step, one ``(B, n_in) @ (n_in, n_out)`` float32 matrix product
  (BLAS limited to one thread).

Targets: batch 1, numba >= 10x numpy_events; batch 32, numba >= 20x numpy_gemm (best of the
two thread counts). Inputs are drawn outside the timed region as spike lists (gaps to the
next spike) and turned into the ``(T, B, n_in)`` uint8 tensor. Run with
``python -m snnlab.benchmarks.engine`` or import :func:`run`.
"""

from __future__ import annotations

import json
import os
import time
from functools import partial

import numpy as np
from threadpoolctl import threadpool_limits

from snnlab.neurons.lif import LIFParameters, simulate_lif

N_IN, N_OUT, T, RATE_PER_STEP = 784, 1000, 1000, 0.02
PARAMS = LIFParameters(beta=0.95, threshold=1.0, reset="subtract", refractory=0)
TARGETS = {1: ("numpy_events", 10.0), 32: ("numpy_gemm", 20.0)}


def poisson_spike_tensor(rng, n_steps, batch, n_in, p):
    """``(n_steps, batch, n_in)`` uint8 Bernoulli(p) spikes drawn as geometric gaps per train."""
    n_trains = batch * n_in
    n_gaps = int(n_steps * p + 6 * np.sqrt(n_steps * p) + 10)
    times = np.cumsum(rng.geometric(p, size=(n_trains, n_gaps)), axis=1) - 1
    while (times[:, -1] < n_steps).any():  # rare: a train needs more gaps
        more = np.cumsum(rng.geometric(p, size=(n_trains, n_gaps)), axis=1) + times[:, -1:]
        times = np.concatenate([times, more], axis=1)
    train, k = np.nonzero(times < n_steps)
    x = np.zeros((n_steps, batch, n_in), dtype=np.uint8)
    x[times[train, k], train // n_in, train % n_in] = 1
    return x


def numpy_events(x, W, params):
    """Baseline: per step and batch element, ``W[active].sum(0)`` over active inputs (binary x)."""
    n_steps, batch, _ = x.shape
    u = np.zeros((batch, W.shape[1]), dtype=np.float32)
    spikes = np.empty((n_steps, batch, W.shape[1]), dtype=np.uint8)
    beta, threshold = np.float32(params.beta), np.float32(params.threshold)
    current = np.empty_like(u)
    for t in range(n_steps):
        for b in range(batch):
            current[b] = W[np.flatnonzero(x[t, b])].sum(axis=0)
        u *= beta
        u += current
        fire = u >= threshold
        u -= threshold * fire
        spikes[t] = fire
    return spikes


def numpy_gemm(x, W, params):
    """Baseline: per step one dense ``x[t] @ W`` float32 product for the whole batch."""
    n_steps, batch, _ = x.shape
    u = np.zeros((batch, W.shape[1]), dtype=np.float32)
    spikes = np.empty((n_steps, batch, W.shape[1]), dtype=np.uint8)
    beta, threshold = np.float32(params.beta), np.float32(params.threshold)
    for t in range(n_steps):
        u *= beta
        u += x[t].astype(np.float32) @ W
        fire = u >= threshold
        u -= threshold * fire
        spikes[t] = fire
    return spikes


def _median_times(fn, repeats):
    """Median wall time and median CPU time of this process (all threads) over ``repeats``."""
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return float(np.median(wall)), float(np.median(cpu))


def run(repeats: int = 7, quick: bool = False, seed: int = 0) -> dict:
    """Time every engine and baseline for batch 1 and 32; returns the JSON-ready dict.

    repeats: timed runs per numba engine (baselines get fewer: they are slower and steadier).
    quick: 100 steps instead of 1000 and fewer repeats, to check the script runs.
    """
    rng = np.random.default_rng(seed)
    n_steps = 100 if quick else T
    repeats = 2 if quick else repeats
    W = (rng.standard_normal((N_IN, N_OUT)) * 0.1).astype(np.float32)
    simulated_s = n_steps * 1e-3
    report = {
        "scenario": {
            "n_in": N_IN,
            "n_out": N_OUT,
            "steps": n_steps,
            "dt_ms": 1.0,
            "input_rate_hz": RATE_PER_STEP * 1e3,
            "params": vars(PARAMS),
            "record_membrane": False,
            "repeats": repeats,
            "blas_threads": 1,
        },
        "unit": "seconds of wall time per simulated second (median)",
        # Other work on the machine slows every engine, the 2-thread one most.
        "load_average_1min_at_start": os.getloadavg()[0],
    }
    for batch in (1, 32):
        x = poisson_spike_tensor(rng, n_steps, batch, N_IN, RATE_PER_STEP)
        engines = {
            "numba_1_thread": partial(simulate_lif, x, W, PARAMS, record_membrane=False),
            "numba_2_threads": partial(
                simulate_lif, x, W, PARAMS, record_membrane=False, n_threads=2
            ),
            "numpy_events": partial(numpy_events, x, W, PARAMS),
            "numpy_gemm": partial(numpy_gemm, x, W, PARAMS),
        }
        reference_spikes = simulate_lif(x, W, PARAMS, record_membrane=False).spikes
        if not np.array_equal(engines["numba_2_threads"]().spikes, reference_spikes):
            raise RuntimeError("numba on 2 threads disagrees with numba on 1 thread")
        baseline_repeats = max(1, min(repeats, 3 if batch > 1 else 5))
        # One BLAS thread: on a shared 2-core machine a multi-threaded BLAS waits on busy
        # cores and makes the baseline slower and erratic.
        with threadpool_limits(limits=1, user_api="blas"):
            measured = {
                name: _median_times(fn, repeats if name.startswith("numba") else baseline_repeats)
                for name, fn in engines.items()
            }
        seconds = {name: wall / simulated_s for name, (wall, _) in measured.items()}
        cpu_seconds = {name: cpu / simulated_s for name, (_, cpu) in measured.items()}
        n_input_spikes = int(np.count_nonzero(x))
        best = min(seconds["numba_1_thread"], seconds["numba_2_threads"])
        baseline, factor = TARGETS[batch]
        entry = {
            "seconds_per_simulated_second": seconds,
            "cpu_seconds_per_simulated_second": cpu_seconds,
            "neuron_updates_per_s": {
                k: n_steps * batch * N_OUT / (v * simulated_s) for k, v in seconds.items()
            },
            "synaptic_events_per_s": {
                k: n_input_spikes * N_OUT / (v * simulated_s) for k, v in seconds.items()
            },
            "speedup": {
                f"{eng}_vs_{base}": seconds[base] / seconds[eng]
                for eng in ("numba_1_thread", "numba_2_threads")
                for base in ("numpy_events", "numpy_gemm")
            },
            # CPU time ignores waiting for a core held by other work, so on a busy machine
            # the single-thread ratio is steadier by CPU time than by wall time.
            "cpu_speedup_numba_1_thread": {
                f"vs_{base}": cpu_seconds[base] / cpu_seconds["numba_1_thread"]
                for base in ("numpy_events", "numpy_gemm")
            },
            "output_rate_hz": float(reference_spikes.mean() * 1e3),
            "target": {
                "baseline": baseline,
                "required_speedup": factor,
                "best_speedup": seconds[baseline] / best,
                "met": seconds[baseline] / best >= factor,
            },
        }
        report[f"batch_{batch}"] = entry
    report["load_average_1min_at_end"] = os.getloadavg()[0]
    return report


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
