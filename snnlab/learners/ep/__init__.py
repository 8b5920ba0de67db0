"""The ``ep`` learner: Expectation Propagation, gradient-free posterior marginals of discrete or
continuous weights."""

from snnlab.learners.ep.learner import EP
from snnlab.learners.ep.presets import PRESETS
from snnlab.learners.spec import LearnerSpec

LEARNER = LearnerSpec(
    name="ep",
    learner=EP,
    presets=PRESETS,
    views=("snnlab.ui.views.ep:MarginalsView", "snnlab.ui.views.ep:PosteriorHistogramView",
           "snnlab.ui.views.ep:UncertaintyView",
           "snnlab.ui.views.probabilities:ClassProbabilityView"),
    quick_settings={"batch_size": 8},
    benchmark="snnlab.learners.ep.benchmark:run",
)

__all__ = ["EP", "LEARNER", "PRESETS"]
