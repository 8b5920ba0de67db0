"""The declared recipes of the readout learner (see :mod:`snnlab.learners.presets`)."""

from snnlab.learners.presets import Preset

# Chosen on the held-out fifth of the training split (`--option validation=true`), 3 seeds.
PRESETS = (
    Preset(
        name="one-pass",
        learner="readout",
        task="nmnist",
        description="One online pass, one recording per step, predicting with the weights "
        "averaged over the second half of the pass: the reference a spiking learner should "
        "reach.",
        chosen="validation fifth of the N-MNIST training split, seeds 0-2: lr in {0.25, 0.5, 1, "
        "2, 8} x batch size in {1, 2, 4, 32} without averaging (best lr 1, batch 1: 0.783), then "
        "averaging from example {0, 200, 300, 400} x lr {1, 2, 4, 8}: lr 2 from 400 did best "
        "(0.843).",
        params={"lr": 2.0, "batch_size": 1, "average_start": 400},
        epochs=1,
        default=True,
        target=0.80,
    ),
    Preset(
        name="twenty-passes",
        learner="readout",
        task="digits-events",
        description="Twenty passes over the 400 bundled recordings, 8 a step (a second).",
        chosen="lr in {1, 4, 8} x batch size in {8, 32} x {5, 20, 50} passes, validation "
        "fifth of the digits-events training split, seeds 0-2: all within 0.89-0.90; lr 8, "
        "batch 8, 20 passes had the best log-likelihood of the 20-pass runs (-0.34).",
        params={"lr": 8.0, "batch_size": 8},
        epochs=20,
        default=True,
        target=0.80,
    ),
)
