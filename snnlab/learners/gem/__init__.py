"""The ``gem`` learner: multi-sample online learning of a probabilistic (GLM) spiking network.

Beside the common modules (architecture.md, "How to add a learner"): :mod:`.network`, the
GLM network the rule trains."""

from snnlab.learners.gem.learner import GEM
from snnlab.learners.gem.presets import PRESETS
from snnlab.learners.spec import LearnerSpec

LEARNER = LearnerSpec(
    name="gem",
    learner=GEM,
    presets=PRESETS,
    views=("snnlab.ui.views.gem:CompartmentRasterView", "snnlab.ui.views.gem:ImportanceWeightView",
           "snnlab.ui.views.gem:LikelihoodBoundView", "snnlab.ui.views.gem:CalibrationView"),
    quick_settings={"lr": 0.05, "average_start": -1, "n_samples": 2},
    benchmark="snnlab.learners.gem.benchmark:run",
)

__all__ = ["GEM", "LEARNER", "PRESETS"]
