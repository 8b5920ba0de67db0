"""One-dimensional regression targets on [0, 1] (the WP paper's toy problems).

- ``"sine"``: ``y = sin(2 pi x)``, smooth.
- ``"step"``: ``y = -1`` for ``x < 0.5``, ``+1`` from 0.5 on: a jump a smooth model cannot fit
  exactly.
- ``"sawtooth"``: ``y = 2 frac(2x) - 1``: ramps with a jump at 0.5.

Training inputs are ``n_train`` uniform draws (sorted) with Gaussian noise of standard deviation
``noise`` added to their targets; the test set is ``n_test`` evenly spaced noise-free points, so
it plots as a curve. The task has no time axis: ``n_steps = 1`` and ``dt = 1.0`` are
placeholders; a spiking learner encodes ``x`` itself (a current, or a rate/latency code from
:mod:`snnlab.encoders`).
"""

from __future__ import annotations

import numpy as np

from snnlab.data.task import Split, Task

TARGETS = {
    "sine": lambda x: np.sin(2.0 * np.pi * x),
    "step": lambda x: np.where(x < 0.5, -1.0, 1.0),
    "sawtooth": lambda x: 2.0 * ((2.0 * x) % 1.0) - 1.0,
}


def load_regression_sine(
    *,
    n_train: int = 256,
    n_test: int = 1000,
    noise: float = 0.0,
    target: str = "sine",
    seed: int = 0,
) -> Task:
    """``x`` ``(n, 1)`` float32 in [0, 1] -> ``y`` ``(n, 1)`` float32 (see the module docstring)."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {sorted(TARGETS)}, got {target!r}")
    for name, value in (("n_train", n_train), ("n_test", n_test)):
        if not isinstance(value, (int, np.integer)) or value < 2:
            raise ValueError(f"{name} must be an integer >= 2, got {value!r}")
    if not noise >= 0:
        raise ValueError(f"noise must be a standard deviation >= 0, got {noise!r}")
    f = TARGETS[target]
    rng = np.random.default_rng(seed)
    x_train = np.sort(rng.uniform(0.0, 1.0, n_train))
    y_train = f(x_train) + noise * rng.standard_normal(n_train)
    x_test = np.linspace(0.0, 1.0, n_test)

    def column(values):
        return np.asarray(values, dtype=np.float32)[:, None]

    return Task(
        name="regression-sine",
        kind="regression",
        train=Split(x=column(x_train), y=column(y_train)),
        test=Split(x=column(x_test), y=column(f(x_test))),
        n_inputs=1,
        n_outputs=1,
        n_steps=1,
        dt=1.0,
        options={
            "n_train": int(n_train),
            "n_test": int(n_test),
            "noise": noise,
            "target": target,
            "seed": seed,
        },
    )
