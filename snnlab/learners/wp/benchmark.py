"""WP forward throughput: perturbed spiking-MLP passes per second, Numba vs NumPy, K = 16.

One pass = one perturbed network evaluated over all evaluation points of one Poisson 1-D
estimate (64 collocation points x 3 stencil points + 2 boundary points = 194 points, T = 16,
the ``wp`` default network 1 -> 64 LIF -> 1 readout). One call evaluates the K + 1 = 17
parameter sets of a forward-difference estimate. Engines, timed in the same run, interleaved:
the Numba kernel on 1 and 2 threads and its vectorised NumPy twin
(:mod:`snnlab.learners.wp.reference`, batched float64 matrix products over all
units and points). Targets: Numba >= 10x NumPy, and 2 threads >= 1.6x 1 thread. Read the
ratios, not the absolute times (the machine may be shared).
"""

from __future__ import annotations

import json
import time

import numba
import numpy as np

from snnlab.data import load_task
from snnlab.learners import make
from snnlab.learners.wp import reference

K = 16


def _median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def run(quick: bool = False, seed: int = 0) -> dict:
    task = load_task("pde-poisson1d")
    learner = make("wp", seed=seed, n_directions=K, estimator="forward").setup(task)
    net = learner.net_
    batch = task.batch(np.arange(len(task.train)))
    points, _ = learner._batch_points(batch)
    rng = np.random.default_rng(seed)
    deltas = (0.02 * rng.standard_normal((K + 1, net.n_params))).astype(np.float32)
    deltas[0] = 0.0
    threads = min(2, numba.config.NUMBA_NUM_THREADS)
    engines = {
        "numba_1_thread": lambda: net.forward(points, learner.theta_, deltas, n_threads=1),
        f"numba_{threads}_threads": lambda: net.forward(points, learner.theta_, deltas,
                                                        n_threads=threads),
        "numpy_reference": lambda: net.forward(points, learner.theta_, deltas, module=reference),
    }
    outputs = {name: fn().out for name, fn in engines.items()}  # compile and check
    for name, out in outputs.items():
        if not np.allclose(out, outputs["numpy_reference"], rtol=1e-5, atol=1e-6):
            raise RuntimeError(f"{name} disagrees with the NumPy reference")
    rounds = 3 if quick else 7
    seconds = {name: [] for name in engines}
    for _ in range(rounds):  # interleaved, so load changes hit every engine alike
        for name, fn in engines.items():
            seconds[name].append(_median_seconds(fn, 1 if name == "numpy_reference" else 5))
    median = {name: float(np.median(s)) for name, s in seconds.items()}
    passes = {name: (K + 1) / s for name, s in median.items()}
    best = max(passes["numba_1_thread"], passes[f"numba_{threads}_threads"])
    return {
        "what": "perturbed spiking-MLP forward passes per second (K = 16, Poisson 1-D)",
        "points_per_pass": len(points),
        "n_steps": net.n_steps,
        "sizes": list(net.sizes),
        "passes_per_second": passes,
        "speedup_numba_vs_numpy": best / passes["numpy_reference"],
        "speedup_numba_1_thread_vs_numpy": passes["numba_1_thread"] / passes["numpy_reference"],
        f"thread_scaling_{threads}_vs_1": passes[f"numba_{threads}_threads"]
        / passes["numba_1_thread"],
        "targets": {"speedup_numba_vs_numpy": 10.0, f"thread_scaling_{threads}_vs_1": 1.6},
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
