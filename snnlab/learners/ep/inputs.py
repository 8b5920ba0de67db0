"""What EP's network sees: input moments from event counts, and tasks around plain arrays."""

from __future__ import annotations

import numpy as np

from snnlab.data.task import Split, Task


def input_moments(x: np.ndarray, encoding: str) -> tuple[np.ndarray, np.ndarray]:
    """Input means and variances ``(n, n_features)`` float64 from counts ``(n, T, n_inputs)``:
    whether each input spiked (``binary``), ``log(1 + count)`` (``log-counts``), whether it
    spiked in each window (``windows``, ``n_features = T n_inputs``), all with variance 0; or the
    fraction of windows it spiked in, ``r``, with Bernoulli variance ``r (1 - r)`` (``rate``)."""
    x = np.asarray(x)
    n = len(x)
    if encoding == "binary":
        mean = (x.sum(axis=1, dtype=np.int64) > 0).astype(np.float64)
    elif encoding == "log-counts":
        mean = np.log1p(x.sum(axis=1, dtype=np.float64))
    elif encoding == "windows":
        mean = (x > 0).reshape(n, -1).astype(np.float64)
    else:
        rate = (x > 0).mean(axis=1, dtype=np.float64)
        return rate, rate * (1.0 - rate)
    return mean, np.zeros_like(mean)


def array_task(X: np.ndarray, y: np.ndarray, classes=None) -> Task:
    """An in-memory task around plain arrays (2-D inputs), for use outside event tasks."""
    y = np.asarray(y)
    n_inputs = X.shape[1]
    if np.issubdtype(y.dtype, np.integer):
        classes = tuple(range(int(y.max()) + 1)) if classes is None else tuple(classes)
        split = Split(x=X, y=y.astype(np.int64))
        return Task(
            name="arrays",
            kind="classification",
            train=split,
            test=split,
            n_inputs=n_inputs,
            n_outputs=len(classes),
            n_steps=1,
            dt=1.0,
            classes=classes,
        )
    y = y.reshape(len(y), -1).astype(np.float32)
    split = Split(x=X, y=y)
    return Task(
        name="arrays",
        kind="regression",
        train=split,
        test=split,
        n_inputs=n_inputs,
        n_outputs=y.shape[1],
        n_steps=1,
        dt=1.0,
    )
