"""EP training throughput: samples per second for one pass over N-MNIST, Numba vs NumPy.

Network: one hidden layer of 100 Heaviside units, Gaussian weights, ``batch_mode="sum"`` with
batches of 32 (the mode whose samples run in parallel), binary per-recording inputs
(2 x 34 x 34 = 2312). The Numba kernels (all threads Numba has) and their vectorised NumPy
twin (:mod:`snnlab.learners.ep.reference`) run the same training steps in the same process;
the ratio is what to read, not the absolute times. Uses the real recordings under
``--data`` (default ``../shared/data/nmnist``).
"""

from __future__ import annotations

import argparse
import json
import time

import numba
import numpy as np

from snnlab.data import load_task
from snnlab.learners.ep import kernels, reference
from snnlab.learners.ep.learner import EP

DATA = "../shared/data/nmnist"


def one_pass(module, learner: EP, x: np.ndarray, y: np.ndarray, batch_size: int,
             n_threads: int) -> float:
    """Seconds for one pass of summed EP updates over ``x`` with ``module``'s functions."""
    widths, bias = learner.widths_, int(learner.bias)
    mean, var = learner.w_mean_.copy(), learner.w_var_.copy()
    start = time.perf_counter()
    for lo in range(0, len(x), batch_size):
        a, c = learner._inputs(x[lo: lo + batch_size])
        targets = learner._targets(y[lo: lo + batch_size])
        act_mean, act_var, pre_mean, pre_var = learner._buffers(a, c)
        grad_m, grad_v = np.zeros_like(pre_mean), np.zeros_like(pre_mean)
        log_z = np.zeros(len(a))
        module.ep_forward_backward(mean, var, widths, bias, 0.0, 0.0, targets,
                                   kernels.LIKELIHOOD_PROBIT, 1.0, np.ones(len(targets[0])),
                                   act_mean, act_var, pre_mean, pre_var, grad_m, grad_v, log_z,
                                   n_threads)
        module.ep_update(mean, var, learner.log_probs_, learner.support_, widths, bias,
                         act_mean, act_var, grad_m, grad_v, 0.0, 1e-6, 1.0, 1e-4, n_threads)
    return time.perf_counter() - start


def run(quick: bool = False, data: str = DATA) -> dict:
    task = load_task("nmnist", root=data, n_steps=3)
    n = 128 if quick else len(task.train)
    x, y = task.train.x[:n], task.train.y[:n]
    learner = EP(hidden=(100,), input_encoding="binary").setup(task)
    threads = numba.config.NUMBA_NUM_THREADS
    one_pass(kernels, learner, x[:32], y[:32], 32, threads)  # compile / load the cache
    numba_s = min(one_pass(kernels, learner, x, y, 32, threads) for _ in range(2 if quick else 3))
    numpy_s = one_pass(reference, learner, x, y, 32, 1)
    return {
        "task": "nmnist",
        "samples": n,
        "network": "2312-100-10, gaussian weights, batch 32, batch_mode sum",
        "numba_threads": threads,
        "numba_samples_per_s": n / numba_s,
        "numpy_samples_per_s": n / numpy_s,
        "speedup": numpy_s / numba_s,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--data", default=DATA)
    args = parser.parse_args()
    print(json.dumps(run(quick=args.quick, data=args.data), indent=2))
