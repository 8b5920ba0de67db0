"""The ``wp`` learner: weight perturbation / randomized forward gradients for regression and PDEs."""

from snnlab.learners.spec import LearnerSpec
from snnlab.learners.wp.learner import WP
from snnlab.learners.wp.presets import PRESETS

LEARNER = LearnerSpec(
    name="wp",
    learner=WP,
    presets=PRESETS,
    views=("snnlab.ui.views.perturbation:PredictionView",
           "snnlab.ui.views.perturbation:PointwiseErrorView",
           "snnlab.ui.views.perturbation:EstimatorDiagnosticsView"),
    starting_task="regression-sine",
    quick_settings={"hidden": (16,), "lr": 0.02, "n_directions": 8, "diagnostic_every": 0},
    benchmark="snnlab.learners.wp.benchmark:run",
)

__all__ = ["LEARNER", "PRESETS", "WP"]
