"""GEM training throughput on N-MNIST: samples per second at K = 1, 5 and 8, Numba vs NumPy.

Network at the size the GEM authors' code was timed at: 2x2-pooled 17x17 = 289 inputs
(polarities merged, binary), 16 hidden neurons, 10 outputs, T = 30 bins, 8 raised-cosine bases
over 10 steps, rule ``gem`` with per-step updates. The Numba kernel
(:func:`snnlab.learners.gem.network.gem_train_example`, ``n_threads`` threads, default 1) and its
vectorised NumPy twin (:mod:`snnlab.learners.gem.reference`, all compartments as whole-array
expressions) learn the same examples in the same process; the ratios are what to read, not the
absolute times. Each example is timed by the wall clock and by the CPU time of the calling
thread (``time.thread_time``; with one Numba thread the kernel runs in that thread): on a shared
machine the wall clock also counts the time other processes hold the core, the CPU time does
not, so the targets are read from the CPU-time medians. Uses the real recordings under ``--data`` (default
``../shared/data/nmnist``).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from snnlab._kernels.rng import make_streams
from snnlab.data import load_task
from snnlab.learners.gem import kernels, reference
from snnlab.learners.gem.learner import class_targets, numba_threads
from snnlab.learners.gem.network import (
    GEMConfig,
    GEMWorkspace,
    GLMNetworkShape,
    gem_train_example,
    init_glm_network,
)

DATA = "../shared/data/nmnist"
N_HIDDEN = 16
MEMORY = 10


def timed(call) -> tuple[float, float]:
    """Wall-clock and calling-thread CPU seconds of ``call()``."""
    wall, cpu = time.perf_counter(), time.thread_time()
    call()
    return time.perf_counter() - wall, time.thread_time() - cpu


def numba_seconds(net, x, y, n_comp: int, n_threads: int) -> np.ndarray:
    """Median (wall, CPU) seconds per training example of the Numba kernel over ``x``."""
    config = GEMConfig(n_threads=n_threads)
    streams = make_streams(0, n_comp)
    workspace = GEMWorkspace(net.shape, n_comp, "gem")
    times = []
    with numba_threads(n_threads):
        gem_train_example(net, x[0], y[:, 0], streams, config, workspace=workspace)
        for i in range(len(x)):
            times.append(timed(lambda i=i: gem_train_example(
                net, x[i], y[:, i], streams, config, workspace=workspace)))
    return np.median(times, axis=0)


def numpy_seconds(net, x, y, n_comp: int) -> np.ndarray:
    """Median (wall, CPU) seconds per training example of the NumPy twin."""
    streams = make_streams(0, n_comp)
    times = []
    for i in range(len(x)):
        times.append(timed(lambda i=i: reference.gem_train_example(
            x[i], y[:, i], True, net.theta, net.basis, net.feedback_kernel, N_HIDDEN,
            kernels.GEM, 0.05, False, 0.05, True, 0.05, 1.0, 0.3, streams,
        )))
    return np.median(times, axis=0)


def run(quick: bool = False, data: str = DATA, n_threads: int = 1) -> dict:
    task = load_task("nmnist", root=data, n_steps=30, pooling=2, polarity="merge", binary=True)
    n_numba, n_numpy = (40, 4) if quick else (200, 12)
    x = np.ascontiguousarray(task.train.x[:n_numba])
    y = class_targets(task.train.y[:n_numba], task.n_steps, task.n_outputs)
    shape = GLMNetworkShape(task.n_inputs, N_HIDDEN, task.n_outputs, 8, MEMORY)
    out = {
        "task": "nmnist, 2x2 pooling, polarity merged, binary, T = 30",
        "network": f"{task.n_inputs}-{N_HIDDEN}-{task.n_outputs}, 8 bases, memory {MEMORY}",
        "rule": "gem, per-step updates",
        "numba_threads": n_threads,
    }
    for n_comp in (1, 5, 8):
        numba_s = numba_seconds(init_glm_network(shape, 0), x, y, n_comp, n_threads)
        numpy_s = numpy_seconds(init_glm_network(shape, 0), x[:n_numpy], y, n_comp)
        for clock, column in (("wall", 0), ("cpu", 1)):
            key = f"K{n_comp}_{clock}"
            out[f"{key}_numba_ms_per_sample"] = 1e3 * numba_s[column]
            out[f"{key}_numba_samples_per_s"] = 1.0 / numba_s[column]
            out[f"{key}_numpy_samples_per_s"] = 1.0 / numpy_s[column]
            out[f"{key}_speedup_vs_numpy"] = numpy_s[column] / numba_s[column]
    for clock in ("wall", "cpu"):
        out[f"K8_over_K1_cost_{clock}"] = (
            out[f"K1_{clock}_numba_samples_per_s"] / out[f"K8_{clock}_numba_samples_per_s"]
        )
    # the GEM authors' PyTorch code at this size on this machine kind: 48 ms (K = 1) and 218 ms
    # (K = 5) per training sample (figures given with the task, not measured here)
    for n_comp, authors_ms in ((1, 48.0), (5, 218.0)):
        out[f"K{n_comp}_cpu_speedup_vs_authors_48ms_218ms"] = (
            authors_ms / out[f"K{n_comp}_cpu_numba_ms_per_sample"])
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--data", default=DATA)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(run(quick=args.quick, data=args.data, n_threads=args.threads), indent=2))
