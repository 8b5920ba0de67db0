"""Scores shared by learners, records and views: accuracy, log-likelihood, calibration, errors;
and, in one place, which metric ranks runs of each task kind and which way is better.

Shapes: ``proba`` is ``(n, n_classes)`` rows summing to 1, ``labels`` is ``(n,)`` int.
"""

from __future__ import annotations

import numpy as np

PROB_FLOOR = 1e-12  # keeps log-likelihood finite when a model is certain and wrong

#: the metric that ranks runs of each task kind (run index, run browser, compare, presets table)
HEADLINE = {
    "classification": "test_accuracy",
    "regression": "rel_l2",
    "pde": "rel_l2",
    "spike-train": "van_rossum",
}
HIGHER_IS_BETTER = frozenset(
    {"test_accuracy", "train_accuracy", "test_log_likelihood", "correlation", "converged"}
)


def better(metric: str, value: float, than: float) -> bool:
    """Whether ``value`` of ``metric`` beats ``than`` (higher or lower, by the metric)."""
    return value > than if metric in HIGHER_IS_BETTER else value < than


def accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.asarray(predicted) == np.asarray(labels)))


def log_likelihood(proba: np.ndarray, labels: np.ndarray) -> float:
    """Mean log-probability given to the true class (nats per sample)."""
    p = proba[np.arange(len(labels)), labels]
    return float(np.mean(np.log(np.clip(p, PROB_FLOOR, 1.0))))


def reliability(proba: np.ndarray, labels: np.ndarray, n_bins: int = 10):
    """Per confidence bin: mean confidence, accuracy and count (all ``(n_bins,)``).

    Confidence is the top class probability; bins split [0, 1] evenly. Empty bins hold NaN.
    """
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == labels
    which = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    counts = np.bincount(which, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.bincount(which, weights=confidence, minlength=n_bins) / counts
        acc = np.bincount(which, weights=correct, minlength=n_bins) / counts
    return conf, acc, counts


def expected_calibration_error(proba: np.ndarray, labels: np.ndarray, n_bins: int = 10) -> float:
    """ECE: sum over bins of (bin share) x |accuracy - confidence| (Guo et al. 2017)."""
    conf, acc, counts = reliability(proba, labels, n_bins)
    used = counts > 0
    return float(np.sum(counts[used] / counts.sum() * np.abs(acc[used] - conf[used])))


def rmse(predicted: np.ndarray, target: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(predicted) - np.asarray(target)) ** 2)))


def relative_l2(predicted: np.ndarray, target: np.ndarray) -> float:
    """||predicted - target||_2 / ||target||_2."""
    target = np.asarray(target)
    return float(np.linalg.norm(np.asarray(predicted) - target) / np.linalg.norm(target))


def classification_report(proba: np.ndarray, labels: np.ndarray, prefix: str = "test") -> dict:
    """Accuracy, log-likelihood and ECE under ``{prefix}_...`` names, as run records store them."""
    labels = np.asarray(labels)
    return {
        f"{prefix}_accuracy": accuracy(proba.argmax(axis=1), labels),
        f"{prefix}_log_likelihood": log_likelihood(proba, labels),
        "ece" if prefix == "test" else f"{prefix}_ece": expected_calibration_error(proba, labels),
    }
