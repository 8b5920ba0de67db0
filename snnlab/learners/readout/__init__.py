"""The ``readout`` learner: logistic regression on spike counts, the non-spiking reference."""

from snnlab.learners.readout.learner import Readout
from snnlab.learners.readout.presets import PRESETS
from snnlab.learners.spec import LearnerSpec

LEARNER = LearnerSpec(
    name="readout",
    learner=Readout,
    presets=PRESETS,
    views=("snnlab.ui.views.probabilities:ClassProbabilityView",),
    quick_settings={"lr": 2.0},
)

__all__ = ["LEARNER", "PRESETS", "Readout"]
