"""``regression-diabetes``: scikit-learn's bundled diabetes data (442 patients, 10 features).

Targets are a disease-progression score one year after baseline (Efron et al. 2004). The data
ships inside scikit-learn, so nothing is downloaded. Inputs and target are standardised with the
training split's mean and standard deviation, so an RMSE of 1.0 is as good as predicting the
training mean and numbers compare across runs. The train/test split is a fixed permutation drawn
from ``seed``.
"""

from __future__ import annotations

import numpy as np

from snnlab.data.task import Split, Task


def load_regression_diabetes(*, test_fraction: float = 0.2, seed: int = 0) -> Task:
    """The diabetes regression task: ``x`` ``(n, 10)``, ``y`` ``(n, 1)`` float32, standardised.

    test_fraction: share of the 442 samples held out for testing, in (0, 1).
    seed: seed of the train/test permutation.
    """
    from sklearn.datasets import load_diabetes

    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie in (0, 1), not {test_fraction}")
    x, y = load_diabetes(return_X_y=True, scaled=False)
    y = y.reshape(-1, 1)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = max(1, round(test_fraction * len(x)))
    test, train = order[:n_test], order[n_test:]
    x_mean, x_std = x[train].mean(axis=0), x[train].std(axis=0)
    y_mean, y_std = y[train].mean(axis=0), y[train].std(axis=0)

    def split(index):
        return Split(
            x=((x[index] - x_mean) / x_std).astype(np.float32),
            y=((y[index] - y_mean) / y_std).astype(np.float32),
        )

    return Task(
        name="regression-diabetes", kind="regression", train=split(train), test=split(test),
        n_inputs=x.shape[1], n_outputs=1, n_steps=1, dt=1.0,
        input_shape=(x.shape[1],),
        options={"test_fraction": test_fraction, "seed": seed},
    )
