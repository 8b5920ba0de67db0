"""Presets: named, declared recipes for one learner on one task.

A preset is the single source of truth for a recipe: its hyperparameters, the task options it
needs, its training budget (steps or passes over the training split, with any learning-rate
schedule among the hyperparameters), a one-line description and how it was chosen. Each learner
package declares its presets in its ``LEARNER`` spec; one of them is the ``default`` for each
task it names. ``snnlab train``, the lab, links, sweeps, experiments, benchmarks and notebooks
resolve recipes here; none carries its own.

The result a default preset reaches is measured, not declared: ``snnlab experiment presets``
trains every default preset and writes ``docs/results/presets/results.json``, which
:func:`measured_result` reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from snnlab.learners.registry import learner_names, learner_spec

RESULTS = Path(__file__).resolve().parents[2] / "docs" / "results" / "presets" / "results.json"


@dataclass(frozen=True)
class Preset:
    """One recipe: ``learner`` on ``task`` with ``params`` and ``task_options`` for a budget of
    ``steps`` learner updates or ``epochs`` passes (exactly one is set)."""

    name: str
    learner: str
    task: str
    description: str
    chosen: str
    params: dict = field(default_factory=dict)
    task_options: dict = field(default_factory=dict)
    steps: int | None = None
    epochs: int | None = None
    #: steps between evaluations (``None``: ``snnlab train``'s 50); a run stops at the first
    #: evaluation that finds it converged, so learners that converge evaluate often
    eval_every: int | None = None
    default: bool = False
    #: the measure the results table reports, and the target it should reach
    headline: str = "test_accuracy"
    target: float | None = None

    def __post_init__(self):
        if (self.steps is None) == (self.epochs is None):
            raise ValueError(f"preset {self.name!r} must give exactly one of steps and epochs")
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        object.__setattr__(self, "task_options", MappingProxyType(dict(self.task_options)))

    @property
    def budget(self) -> str:
        return f"{self.steps} steps" if self.steps is not None else f"{self.epochs} epoch(s)"

    def resolved_params(self, overrides: dict | None = None) -> dict:
        """The preset's hyperparameters with ``overrides`` on top, checked against the bounds."""
        from snnlab.learners.base import check_hyperparameters, restore_types

        cls = learner_spec(self.learner).learner
        values = restore_types(cls, {**self.params, **(overrides or {})})
        check_hyperparameters(cls, values)
        return values


def _declared(learner: str) -> tuple[Preset, ...]:
    return tuple(learner_spec(learner).presets)


def all_presets() -> list[Preset]:
    """Every declared preset, by learner name then declaration order."""
    return [p for name in learner_names() for p in _declared(name)]


def presets_of(learner: str, task: str | None = None) -> list[Preset]:
    """The presets of ``learner`` (on ``task`` only, when given)."""
    return [p for p in _declared(learner) if task is None or p.task == task]


def preset_names(learner: str, task: str | None = None) -> list[str]:
    return [p.name for p in presets_of(learner, task)]


def find_preset(learner: str, name: str) -> Preset:
    """The preset ``name`` of ``learner``; ``ValueError`` listing its presets otherwise."""
    for p in _declared(learner):
        if p.name == name:
            return p
    known = ", ".join(preset_names(learner)) or "none"
    raise ValueError(f"learner {learner!r} has no preset {name!r}; its presets: {known}")


def default_preset(learner: str, task: str) -> Preset | None:
    """The preset ``learner`` uses on ``task`` when none is named (``None``: the learner's own
    defaults, and the caller gives a budget)."""
    for p in presets_of(learner, task):
        if p.default:
            return p
    return None


def choose_preset(learner: str, task: str, name: str | None) -> Preset | None:
    """The preset named ``name`` (which must be for ``task``), or the task's default one."""
    if name is None:
        return default_preset(learner, task)
    chosen = find_preset(learner, name)
    if chosen.task != task:
        on_task = ", ".join(preset_names(learner, task)) or "none"
        raise ValueError(
            f"preset {name!r} of {learner!r} is for task {chosen.task!r}, not {task!r}; "
            f"presets for {task!r}: {on_task}"
        )
    return chosen


def measured_results() -> dict:
    """``{"learner/preset": {...}}`` as ``snnlab experiment presets`` last wrote them."""
    try:
        return json.loads(RESULTS.read_text())["presets"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def measured_result(preset: Preset) -> str:
    """The preset's measured headline (mean ± std over seeds) or ``"not measured"``."""
    entry = measured_results().get(f"{preset.learner}/{preset.name}")
    if not isinstance(entry, dict) or "mean" not in entry:
        return "not measured"
    return f"{preset.headline} {entry['mean']:.3f} ± {entry.get('std', 0.0):.3f} " \
           f"({entry.get('seeds', '?')} seeds)"
