"""NormAD training throughput, Numba kernels against their vectorised NumPy twins; prints JSON.

Scenario: the 3-layer spike-pattern task, 100 inputs -> 50 hidden -> 10 outputs, one pattern
of 500 ms at 0.1 ms (T = 5000), 20 Hz Poisson inputs, ~10 Hz desired trains. One epoch = one
NormAD step on the pattern: forward pass of both layers (membrane recorded), synaptic and
filtered traces d̂, output errors, errors carried back to hidden spikes, normalised updates of
both layers (:func:`snnlab.learners.normad.normad_updates`). Both backends train from the same
initial weights; ``numba`` uses :mod:`snnlab._kernels`, ``numpy`` the reference twins
(vectorised over neurons and batch, a Python loop over time steps for the neuron).

Reported: epochs per second of each and their ratio (target >= 10). Run with
``python -m snnlab.learners.normad.benchmark`` or import :func:`run`.
"""

from __future__ import annotations

import json
import time

import numpy as np

from snnlab import learners
from snnlab.data import load_task
from snnlab.learners.normad.learner import NUMBA, forward, normad_updates
from snnlab.learners.normad.reference import twin_backend

SIZES = {"n_inputs": 100, "hidden": 50, "n_outputs": 10}
TARGET_RATIO = 10.0


def train_epochs(x, y, layers, neuron, settings, backend, n_epochs):
    """``n_epochs`` NormAD steps on one pattern in place; seconds taken."""
    start = time.perf_counter()
    for _ in range(n_epochs):
        runs = forward(x, layers, neuron, backend)
        changes, _ = normad_updates(x, y, layers, runs, neuron, backend=backend, **settings)
        for w, dw in zip(layers, changes):
            w += dw
    return time.perf_counter() - start


def run(quick: bool = False) -> dict:
    task = load_task(
        "spike-pattern", n_inputs=SIZES["n_inputs"], n_outputs=SIZES["n_outputs"], seed=0
    )
    learner = learners.make("normad", hidden=(SIZES["hidden"],), lr=300.0, seed=0).setup(task)
    neuron = learner.neuron()
    settings = {
        "lr": learner.lr,
        "hidden_lr_scale": learner.hidden_lr_scale,
        "tau_approx": learner.tau_approx,
        "backprop_window": learner.backprop_window,
    }
    batch = task.batch(np.arange(1))
    x, y = batch.x, batch.y
    initial = [w.copy() for w in learner.layers()]
    repeats = {"numba": 5 if quick else 20, "numpy": 1 if quick else 3}
    train_epochs(x, y, [w.copy() for w in initial], neuron, settings, NUMBA, 1)  # compile
    seconds = {}
    for name, backend in (("numba", NUMBA), ("numpy", twin_backend())):
        layers = [w.copy() for w in initial]
        seconds[name] = train_epochs(x, y, layers, neuron, settings, backend, repeats[name])
    rates = {name: repeats[name] / seconds[name] for name in seconds}
    return {
        "scenario": (
            f"{SIZES['n_inputs']} -> {SIZES['hidden']} -> {SIZES['n_outputs']} NormAD, one "
            f"pattern of {task.n_steps} steps at {task.dt * 1e3:g} ms"
        ),
        "epochs_per_second": {k: round(v, 2) for k, v in rates.items()},
        "epochs_timed": repeats,
        "ratio_numba_over_numpy": round(rates["numba"] / rates["numpy"], 1),
        "target_ratio": TARGET_RATIO,
        "meets_target": bool(rates["numba"] / rates["numpy"] >= TARGET_RATIO),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
