"""The one place a task name is bound to the function that builds it.

Builders are named as ``"module:function"`` and imported on first use, so loading a regression
task never imports tonic.
"""

from __future__ import annotations

import importlib
import inspect

from snnlab.data.task import Task

TASKS: dict[str, str] = {
    "digits-events": "snnlab.data.digits_events:load_digits_events",
    "nmnist": "snnlab.data.nmnist:load_nmnist",
    "spike-xor": "snnlab.data.spike_xor:load_spike_xor",
    "spike-pattern": "snnlab.data.spike_pattern:load_spike_pattern",
    "prediction": "snnlab.data.prediction:load_prediction",
    "regression-sine": "snnlab.data.regression:load_regression_sine",
    "regression-diabetes": "snnlab.data.diabetes:load_regression_diabetes",
    "pde-poisson1d": "snnlab.data.pde:load_pde_poisson1d",
    "pde-heat1d": "snnlab.data.pde:load_pde_heat1d",
    "pde-burgers1d": "snnlab.data.pde:load_pde_burgers1d",
}

# What each task yields (see snnlab.data.task.KINDS), known before loading it: the lab offers a
# learner only the tasks it can learn without reading any data.
TASK_KINDS: dict[str, str] = {
    "digits-events": "classification",
    "nmnist": "classification",
    "spike-xor": "spike-train",
    "spike-pattern": "spike-train",
    "prediction": "spike-train",
    "regression-sine": "regression",
    "regression-diabetes": "regression",
    "pde-poisson1d": "pde",
    "pde-heat1d": "pde",
    "pde-burgers1d": "pde",
}


def task_names() -> list[str]:
    return sorted(TASKS)


def tasks_of_kind(*kinds: str) -> list[str]:
    """Registered task names whose kind is one of ``kinds``."""
    return [name for name in task_names() if TASK_KINDS.get(name) in kinds]


def task_builder(name: str):
    """The function that builds task ``name``; ``ValueError`` listing the known names otherwise."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(task_names())}")
    module, function = TASKS[name].split(":")
    return getattr(importlib.import_module(module), function)


def task_options(name: str) -> dict:
    """Option names of task ``name`` with their defaults (from the builder's signature)."""
    signature = inspect.signature(task_builder(name))
    return {
        p.name: p.default
        for p in signature.parameters.values()
        if p.kind is p.KEYWORD_ONLY or p.default is not p.empty
    }


def load_task(name: str, **options) -> Task:
    """Build task ``name`` with ``options`` (see each builder's docstring).

    Unknown names and unknown options raise ``ValueError`` listing what is allowed.
    """
    builder = task_builder(name)
    allowed = task_options(name)
    unknown = set(options) - set(allowed)
    if unknown:
        raise ValueError(
            f"task {name!r} has no option {', '.join(sorted(unknown))}; "
            f"its options are {', '.join(sorted(allowed)) or 'none'}"
        )
    return builder(**options)
