"""The ``normad`` learner: normalised approximate descent for LIF neurons, one or more layers."""

from snnlab.learners.normad.learner import NormAD
from snnlab.learners.normad.presets import PRESETS
from snnlab.learners.spec import LearnerSpec

LEARNER = LearnerSpec(
    name="normad",
    learner=NormAD,
    presets=PRESETS,
    views=("snnlab.ui.views.normad:SpikeOverlayView", "snnlab.ui.views.normad:ErrorSignalView",
           "snnlab.ui.views.normad:SpikeDistanceView"),
    starting_task="spike-pattern",
    quick_settings={"lr": 1000.0},
    benchmark="snnlab.learners.normad.benchmark:run",
)

__all__ = ["LEARNER", "PRESETS", "NormAD"]
