"""The declared recipes of the wp learner (see :mod:`snnlab.learners.presets`)."""

from snnlab.learners.presets import Preset

# Learning-rate half-lives were chosen by the final *training* (residual) loss of 5-CPU-minute
# runs in `snnlab experiment wp-estimators --criteria` (never by the error against the exact
# solution); the step budgets keep each run within 5 CPU-minutes on one thread. The reference
# gradient behind the estimator cosine costs about five steps' work, so the presets compute it
# every 1,000 steps (every 25, the class default, made a run six times slower).
_DIAGNOSTICS = {"diagnostic_every": 1000}
PRESETS = (
    Preset(
        name="sine",
        learner="wp",
        task="regression-sine",
        description="1 -> 64 LIF -> 1, central differences with 16 directions, Adam; the rate "
        "halves every 2,000 steps.",
        chosen="half-life 2,000 steps fixed in advance (wp-estimators --criteria); 20,000 "
        "steps, by when the rate is 1/1000 of its start.",
        params={"lr_half_life": 2000, **_DIAGNOSTICS},
        steps=20_000,
        eval_every=1000,
        default=True,
        headline="rel_l2",
        target=0.05,
    ),
    Preset(
        name="heat",
        learner="wp",
        task="pde-heat1d",
        description="Physics-informed: the heat-equation residual and boundary terms, rate "
        "halving every 2,000 steps.",
        chosen="half-life 2,000 steps as for sine (wp-estimators --criteria); 20,000 steps.",
        params={"lr_half_life": 2000, **_DIAGNOSTICS},
        steps=20_000,
        eval_every=1000,
        default=True,
        headline="rel_l2",
        target=0.10,
    ),
    Preset(
        name="poisson",
        learner="wp",
        task="pde-poisson1d",
        description="Physics-informed Poisson 1-D, sin(pi x); the rate halves every 30,000 "
        "steps (the residual keeps falling long after 2,000).",
        chosen="half-life among 10k, 30k and 100k steps by the final residual loss "
        "(wp-estimators --criteria); 80,000 steps fit in 5 CPU-minutes with room to spare.",
        params={"lr_half_life": 30000, **_DIAGNOSTICS},
        task_options={"solution": "sin"},
        steps=80_000,
        eval_every=1000,
        default=True,
        headline="rel_l2",
        target=0.05,
    ),
    Preset(
        name="burgers",
        learner="wp",
        task="pde-burgers1d",
        description="Physics-informed viscous Burgers, nu = 0.05, against its Cole-Hopf "
        "solution; the rate halves every 30,000 steps.",
        chosen="half-life between 2,000 and 30,000 steps by the final residual loss "
        "(wp-estimators --criteria); the Poisson preset's budget.",
        params={"lr_half_life": 30000, **_DIAGNOSTICS},
        task_options={"nu": 0.05},
        steps=80_000,
        eval_every=1000,
        default=True,
        headline="rel_l2",
    ),
)
