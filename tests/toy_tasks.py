"""Small synthetic tasks for contract tests: built in memory, learnable in a few steps."""

import numpy as np

from snnlab.data.task import Split, Task


def toy_classification(n_classes=3, n_inputs=20, n_steps=10, n_train=96, n_test=48, seed=0) -> Task:
    """Poisson inputs whose rates depend on the class: each class drives its own input group."""
    rng = np.random.default_rng(seed)
    rates = np.full((n_classes, n_inputs), 0.05)
    for c in range(n_classes):
        rates[c, c::n_classes] = 0.5

    def split(n):
        y = rng.integers(0, n_classes, size=n)
        x = (rng.random((n, n_steps, n_inputs)) < rates[y][:, None, :]).astype(np.uint8)
        return Split(x=x, y=y.astype(np.int64))

    return Task(
        name="toy-classes", kind="classification", train=split(n_train), test=split(n_test),
        n_inputs=n_inputs, n_outputs=n_classes, n_steps=n_steps, dt=1e-3,
        classes=tuple(range(n_classes)),
    )


def toy_regression(n_train=128, n_test=64, seed=0) -> Task:
    """y = sin(2 pi x) on [0, 1]."""
    rng = np.random.default_rng(seed)

    def split(n):
        x = rng.random((n, 1)).astype(np.float32)
        return Split(x=x, y=np.sin(2 * np.pi * x).astype(np.float32))

    return Task(
        name="toy-sine", kind="regression", train=split(n_train), test=split(n_test),
        n_inputs=1, n_outputs=1, n_steps=1, dt=1.0,
    )


def toy_spike_train(n_inputs=20, n_outputs=1, n_steps=300, dt=1e-4, seed=0) -> Task:
    """One random input pattern mapped to one desired output train with three spikes."""
    rng = np.random.default_rng(seed)
    x = (rng.random((1, n_steps, n_inputs)) < 0.01).astype(np.uint8)
    y = np.zeros((1, n_steps, n_outputs), dtype=np.uint8)
    for j in range(n_outputs):
        y[0, rng.choice(np.arange(30, n_steps - 10), size=3, replace=False), j] = 1
    data = Split(x=x, y=y)
    return Task(
        name="toy-pattern", kind="spike-train", train=data, test=data,
        n_inputs=n_inputs, n_outputs=n_outputs, n_steps=n_steps, dt=dt,
    )


TOY_TASKS = {
    "classification": toy_classification,
    "regression": toy_regression,
    "spike-train": toy_spike_train,
}
