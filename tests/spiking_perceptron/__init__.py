"""A fifth learner, used only by the tests, added the way any learner is: this package and the
module's name in ``SNNLAB_LEARNERS`` (set by ``tests/conftest.py``). Nothing else names it."""

from snnlab.learners.presets import Preset
from snnlab.learners.spec import LearnerSpec
from spiking_perceptron.learner import SpikingPerceptron

PRESETS = (
    Preset(
        name="sample-one-pass",
        learner="perceptron",
        task="digits-events",
        description="One pass over the bundled sample, 8 recordings a step.",
        chosen="lr in {0.01, 0.03, 0.1, 0.5, 2} x margin in {2, 5} on the validation fifth of "
        "the digits-events training split, seed 0: lr 0.03, margin 5 (0.63).",
        params={"lr": 0.03, "margin": 5, "batch_size": 8},
        epochs=1,
        default=True,
    ),
)

LEARNER = LearnerSpec(
    name="perceptron",
    learner=SpikingPerceptron,
    presets=PRESETS,
    views=("spiking_perceptron.views:SpikeCountView",),
    starting_task="digits-events",
    quick_settings={"lr": 1.0, "batch_size": 8},
)
