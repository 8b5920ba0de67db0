"""Headless training runs: a config in, a :class:`~snnlab.record.RunRecord` out, and replays."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from snnlab import learners
from snnlab.data import load_task
from snnlab.record import (
    RunRecord,
    metrics_match,
    package_versions,
    read_record,
    states_match,
    write_record,
)
from snnlab.runner import Runner
from snnlab.runs import index_run


DEFAULT_EVAL_EVERY = 50


@dataclass
class RunConfig:
    """Everything a run is a function of.

    Exactly one of ``steps`` (learner updates) and ``epochs`` (passes over the training split)
    sets the budget. ``eval_every`` counts steps (0: evaluate once at the end). ``schedule``
    lists hyperparameter changes made during the run, ``{"step": s, "params": {...}}``, applied
    after step ``s`` (how a live run from the lab is replayed).
    """

    learner: str
    task: str
    seed: int = 0
    params: dict = field(default_factory=dict)
    task_options: dict = field(default_factory=dict)
    steps: int | None = None
    epochs: int | None = None
    eval_every: int = DEFAULT_EVAL_EVERY
    eval_samples: int | None = None
    schedule: list = field(default_factory=list)
    #: the preset ``params``, ``task_options`` and the budget came from (``None``: none)
    preset: str | None = None

    def __post_init__(self):
        if (self.steps is None) == (self.epochs is None):
            raise ValueError("give exactly one of steps and epochs")
        budget = self.steps if self.steps is not None else self.epochs
        if budget < 1:
            raise ValueError(f"steps/epochs must be at least 1, not {budget}")

    def to_dict(self) -> dict:
        return {
            "learner": self.learner,
            "task": self.task,
            "seed": self.seed,
            "params": dict(self.params),
            "task_options": dict(self.task_options),
            "steps": self.steps,
            "epochs": self.epochs,
            "eval_every": self.eval_every,
            "eval_samples": self.eval_samples,
            "schedule": [dict(change) for change in self.schedule],
            "preset": self.preset,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        keys = (
            "learner",
            "task",
            "seed",
            "params",
            "task_options",
            "steps",
            "epochs",
            "eval_every",
            "eval_samples",
            "schedule",
            "preset",
        )
        return cls(**{k: d[k] for k in keys if k in d})


def config_from_preset(
    learner: str,
    task: str,
    preset: str | None = None,
    params: dict | None = None,
    task_options: dict | None = None,
    steps: int | None = None,
    epochs: int | None = None,
    eval_every: int | None = None,
    **settings,
) -> RunConfig:
    """The run of ``learner`` on ``task`` from ``preset`` (``None``: the task's default preset),
    with ``params`` (text or typed) and ``task_options`` on top and the preset's budget unless
    ``steps`` or ``epochs`` is given, and its evaluation interval unless ``eval_every`` is.
    ``settings`` are the other :class:`RunConfig` fields."""
    from snnlab.learners import learner_class
    from snnlab.learners.base import parse_hyperparameters
    from snnlab.learners.presets import choose_preset

    chosen = choose_preset(learner, task, preset)
    overrides = parse_hyperparameters(learner_class(learner), dict(params or {}))
    if chosen is None:
        resolved, options = overrides, dict(task_options or {})
        if steps is None and epochs is None:
            raise ValueError(
                f"{learner!r} has no preset for task {task!r}; give --steps or --epochs"
            )
    else:
        resolved = chosen.resolved_params(overrides)
        options = {**chosen.task_options, **(task_options or {})}
        if steps is None and epochs is None:
            steps, epochs = chosen.steps, chosen.epochs
        if eval_every is None:
            eval_every = chosen.eval_every
    return RunConfig(
        learner=learner,
        task=task,
        params=_jsonable(resolved),
        task_options=options,
        steps=steps,
        epochs=epochs,
        preset=chosen.name if chosen else None,
        eval_every=DEFAULT_EVAL_EVERY if eval_every is None else eval_every,
        **settings,
    )


def run(config: RunConfig, progress: bool = False) -> RunRecord:
    """Train as ``config`` says and return the record (nothing is written)."""
    learner = learners.make(config.learner, seed=config.seed, **config.params)
    task = load_task(config.task, **config.task_options)
    runner = Runner(learner, task, eval_every=config.eval_every, eval_samples=config.eval_samples)
    learner.with_arrays = False  # nobody draws a headless run's snapshots: scalars only
    total = config.steps if config.steps is not None else config.epochs * runner.steps_per_epoch
    bar = _progress_bar(total, f"{config.learner} on {config.task}", progress)
    changes: dict[int, dict] = {}
    for change in config.schedule:  # several changes at one step apply in order, all of them
        changes.setdefault(int(change["step"]), {}).update(change["params"])
    for params in changes.values():
        rebuilding = set(params) & set(learner.rebuild_params)
        if rebuilding:
            raise ValueError(
                f"a schedule cannot change {sorted(rebuilding)}: they rebuild the network"
            )
    for _ in range(total):
        if learner.step_ in changes:
            learner.set_hyperparameters(**changes[learner.step_])
        runner.advance()
        bar.update(1)
        if getattr(learner, "converged_", False):
            break
        if runner.history and learner.step_ == runner.history[-1].step:
            bar.set_postfix(_short(runner.history[-1].values), refresh=False)
    if not runner.history or runner.history[-1].step != learner.step_:
        runner.evaluate()
    bar.close()
    return make_record(config, runner)


def make_record(config: RunConfig, runner: Runner) -> RunRecord:
    """The record of a run that ``runner`` has done as ``config`` says."""
    record_config = config.to_dict()
    record_config.update(
        hyperparameters=_jsonable(runner.learner.hyperparameters()),
        task_info=runner.task.describe(),
        versions=package_versions(),
    )
    return RunRecord(
        config=record_config,
        metrics=[e.row() for e in runner.history],
        state=runner.learner.state_dict(),
    )


def train(config: RunConfig, out: str | Path, progress: bool = False) -> RunRecord:
    """:func:`run`, write the record into ``out`` and index it (see :mod:`snnlab.runs`)."""
    record = run(config, progress=progress)
    write_record(out, record)
    index_run(record, path=out, source="train")
    return record


def replay(folder: str | Path, progress: bool = False) -> tuple[bool, str]:
    """Re-run a record's config; whether the same metrics and the same final weights come
    out, and the first difference."""
    recorded = read_record(folder)
    config = RunConfig.from_dict(recorded.config)
    reproduced = run(config, progress=progress)
    same, detail = metrics_match(recorded.metrics, reproduced.metrics)
    if not same:
        return same, detail
    same_state, state_detail = states_match(recorded.state, reproduced.state)
    return same_state, f"{detail}, {state_detail}" if same_state else state_detail


def _progress_bar(total: int, description: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, unit="step", disable=not enabled, leave=True)


def _short(values: dict) -> dict:
    return {k: f"{v:.3g}" for k, v in values.items() if isinstance(v, float)}


def _jsonable(values: dict) -> dict:
    out = {}
    for k, v in values.items():
        out[k] = list(v) if isinstance(v, tuple) else v
    return out
