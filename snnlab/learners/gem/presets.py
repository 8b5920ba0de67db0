"""The declared recipes of the gem learner (see :mod:`snnlab.learners.presets`)."""

from snnlab.learners.presets import Preset

# One example a step: GEM learns them one after the other whatever the batch size, and the lab
# then shows every update. Chosen on the held-out fifth of the N-MNIST training split
# (`--option validation=true`), seeds 0-2, one pass: 2x34x34 inputs (0.847) beat the paper's
# pooled, merged, binary 17x17 (0.787); then lr in {0.005, 0.01, 0.02, 0.03} (0.845, 0.847,
# 0.860, 0.839), lr_decay in {0.003, 0.01, 0.03} and 32 hidden neurons (0.837).
_ONE_PASS = {"batch_size": 1, "n_samples": 5, "lr": 0.02}
PRESETS = (
    Preset(
        name="one-pass",
        learner="gem",
        task="nmnist",
        description="K = 5 compartments, 2x34x34 inputs, one online pass at lr 0.02 / (1 + "
        "0.01 n); predictions from the parameters averaged from the 200th example on.",
        chosen="inputs, lr, lr_decay and width on the validation fifth of the training split, "
        "seeds 0-2: lr 0.02 did best (0.860; 0.01: 0.847, 0.005: 0.845, 0.03: 0.839).",
        params=_ONE_PASS,
        epochs=1,
        eval_every=400,  # an evaluation (100 test and 256 training samples, 10 compartments)
        # costs about 1,000 training examples: twice a pass
        default=True,
        target=0.85,
    ),
    Preset(
        name="pooled-one-pass",
        learner="gem",
        task="nmnist",
        description="The GEM paper's input: 2x2 pooling, polarities merged, binary (289 "
        "inputs); about 8x faster, less accurate.",
        chosen="the paper's input with the learner's defaults (0.787 on the validation fifth).",
        params={"batch_size": 1, "n_samples": 5},
        task_options={"pooling": 2, "polarity": "merge", "binary": True},
        epochs=1,
        eval_every=400,
    ),
    Preset(
        name="sample-one-pass",
        learner="gem",
        task="digits-events",
        description="The paper's pooled, merged, binary 17x17 input on the bundled sample: "
        "where the lab starts GEM, four times faster a step than 2x34x34.",
        chosen="validation fifth of the digits-events training split, seeds 0-2: 0.858 "
        "against 0.888 for the nmnist recipe; chosen for the lab's pace (35 against ~130 "
        "steps/s watched), not for accuracy.",
        params={"batch_size": 1, "n_samples": 5},
        task_options={"pooling": 2, "polarity": "merge", "binary": True},
        epochs=1,
        eval_every=400,  # an evaluation (100 test and 256 training samples, 10 compartments)
        # costs about 1,000 training examples: twice a pass
        default=True,
    ),
)
