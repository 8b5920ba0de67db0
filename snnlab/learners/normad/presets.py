"""The declared recipes of the normad learner (see :mod:`snnlab.learners.presets`)."""

from snnlab.learners.presets import Preset

PRESETS = (
    Preset(
        name="xor-hidden",
        learner="normad",
        task="spike-xor",
        description="3 -> 40 -> 1 LIF network: a hidden layer, as XOR needs.",
        chosen="r = 1000 is the single-layer rate chosen on validation seeds 100-115 "
        "(docs/results/normad-convergence/validation.md); the hidden layer learns at 0.3 r. "
        "Seeds 0-19 of `snnlab experiment normad-convergence` checked it (20/20 converge).",
        params={"hidden": (40,), "lr": 1000.0, "hidden_lr_scale": 0.3},
        epochs=300,
        eval_every=4,  # every epoch of the four patterns: the run stops once it has converged
        default=True,
        headline="converged",
        target=0.9,
    ),
    Preset(
        name="xor-one-layer",
        learner="normad",
        task="spike-xor",
        description="One layer, 3 -> 1: cannot solve XOR (kept to show why a hidden layer).",
        chosen="the learner's defaults at the rate r = 1000 of the single-layer validation.",
        params={"lr": 1000.0},
        epochs=300,
        eval_every=4,
        headline="converged",
    ),
    Preset(
        name="pattern-one-layer",
        learner="normad",
        task="spike-pattern",
        description="One layer, 100 inputs -> 1: the NormAD paper's single-neuron task.",
        chosen="r and tau_L' on validation seeds 100-115 "
        "(docs/results/normad-convergence/validation.md).",
        params={"lr": 1000.0},
        epochs=500,
        eval_every=1,  # one pattern: a step is an epoch
        default=True,
        headline="converged",
        target=0.9,
    ),
    Preset(
        name="pattern-hidden",
        learner="normad",
        task="spike-pattern",
        description="Three layers, 100 -> 50 -> 1.",
        chosen="hidden rate 0.3 r and hidden init std 3 as in `snnlab experiment "
        "normad-convergence` (95% of seeds 0-19 converge within 600 epochs).",
        params={"hidden": (50,), "lr": 300.0, "hidden_lr_scale": 0.3, "hidden_init_std": 3.0},
        epochs=600,
        eval_every=1,
        headline="converged",
    ),
)
