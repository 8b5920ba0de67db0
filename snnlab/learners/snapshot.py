"""What a learner hands to the outside world after each step: copied, decimated arrays + scalars."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Snapshot:
    """One step's view of a learner, safe to hand to another thread.

    step: number of updates done so far (after this one).
    epoch: passes over the training split completed (fractional).
    scalars: e.g. ``{"loss": 0.7, "train_accuracy": 0.5}``; keys are the learner's
        ``snapshot_scalars``.
    arrays: e.g. ``{"raster_input": (T, n) uint8, "membrane": (T, n) float32}``; keys are the
        learner's ``snapshot_arrays``. Arrays are copies: the learner never writes to them again.
    """

    step: int
    epoch: float
    scalars: dict = field(default_factory=dict)
    arrays: dict = field(default_factory=dict)

    def is_finite(self) -> bool:
        """False when any scalar or float array holds NaN or inf (a diverging run)."""
        if not all(np.isfinite(v) for v in self.scalars.values()):
            return False
        return all(
            np.isfinite(a).all() for a in self.arrays.values() if np.issubdtype(a.dtype, np.floating)
        )
