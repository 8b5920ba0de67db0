"""The lab's state in the URL query: learner, task, preset, seed and hyperparameters.

A shared link reproduces a run: ``preset=`` names the recipe (the task's default preset when
absent) and every hyperparameter that differs from it follows, rebuild parameters included. Anything in a query can be crafted, so every value is checked
against the same bounds as the API; a bad value is dropped with a notice that says what was wrong
and what is allowed, and the default stands. Nothing here raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from snnlab.data import tasks_of_kind
from snnlab.learners import learner_class, learner_names, learner_spec
from snnlab.learners.base import parse_hyperparameters
from snnlab.learners.presets import default_preset, find_preset, preset_names

RESERVED = ("learner", "task", "seed", "preset")
#: refusals listed one by one in the notice; past this they are counted (a crafted link may
#: carry thousands of names)
MAX_PROBLEMS = 12
QUOTE_LIMIT = 40  # characters of a refused name or value quoted in a notice
NO_PRESET = "none"  # ``preset=none``: the learner's own defaults


@dataclass
class LabState:
    """What a query asks for, after checking; ``problems`` says what was refused and why."""

    learner: str
    task: str
    seed: int
    preset: str | None = None
    params: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def lab_tasks(learner: str, available: list[str] | None = None) -> list[str]:
    """Tasks that ``learner`` can learn (restricted to ``available`` when given)."""
    names = tasks_of_kind(*learner_class(learner).task_kinds)
    return [n for n in names if available is None or n in available]


def starting_task(learner: str, available: list[str] | None = None) -> str:
    """The task a learner starts on when none (or one it cannot learn) is asked for: the one its
    spec names, else the first task of its kinds."""
    tasks = lab_tasks(learner, available)
    preferred = learner_spec(learner).starting_task
    return preferred if preferred in tasks else tasks[0]


def query_from_search(search: str) -> dict[str, str]:
    """``{name: text}`` from a URL's search part (``?a=1&b=2``), first value of each name.

    Read from the raw text: Panel's ``location.query_params`` decodes values as JSON, which
    turns ``hidden=[32,32]`` into a list that a query reader cannot tell from repeated names.
    """
    from urllib.parse import parse_qs

    return {k: v[0] for k, v in parse_qs(search.lstrip("?"), keep_blank_values=True).items()}


def parse_query(
    query: dict, default_learner: str, default_task: str, available_tasks: list[str] | None = None
) -> LabState:
    """Check ``query`` (``{name: text}``) and return the state to start from."""
    query = {k: (v[0] if isinstance(v, list) else v) for k, v in query.items()}
    problems = []
    learner = query.get("learner", default_learner)
    if learner not in learner_names():
        problems.append(
            f"learner {_quoted(learner)} is unknown; choose one of {', '.join(learner_names())}"
        )
        learner = default_learner
    tasks = lab_tasks(learner, available_tasks)
    fallback = default_task if default_task in tasks else starting_task(learner, available_tasks)
    task = query.get("task", fallback)
    if task not in tasks:
        problems.append(
            f"task {_quoted(task)} is not available for {learner}; choose one of "
            f"{', '.join(tasks)}"
        )
        task = fallback
    seed = 0
    if "seed" in query:
        try:
            seed = parse_hyperparameters(learner_class(learner), {"seed": query["seed"]})["seed"]
        except ValueError as err:
            problems.append(f"{err}; using seed 0")
    preset = default_preset(learner, task)
    if query.get("preset") == NO_PRESET:
        preset = None
    elif "preset" in query:
        names = preset_names(learner, task)
        if query["preset"] in names:
            preset = find_preset(learner, query["preset"])
        else:
            problems.append(
                f"preset {_quoted(query['preset'])} is not one of {learner}'s presets for {task} "
                f"({', '.join(names) or 'it has none'}); using "
                f"{preset.name if preset else 'the learner defaults'}"
            )
    params = {}
    cls = learner_class(learner)
    known = sorted(k for k in cls.param if k != "name")
    for key, text in query.items():
        if key in RESERVED:
            continue
        if key not in known:  # said here: the key itself may be kilobytes long
            problems.append(f"{learner!r} has no parameter {_quoted(key)}; it has "
                            f"{', '.join(known)}; using the default")
            continue
        try:
            params.update(parse_hyperparameters(cls, {key: text}))
        except ValueError as err:
            problems.append(f"{err}; using the default")
    if len(problems) > MAX_PROBLEMS:
        more = len(problems) - MAX_PROBLEMS
        problems = problems[:MAX_PROBLEMS] + [f"and {more} more settings refused"]
    return LabState(learner=learner, task=task, seed=seed,
                    preset=preset.name if preset else None, params=params, problems=problems)


def _quoted(text: str) -> str:
    """``text`` (from a link) quoted for a notice, cut to ``QUOTE_LIMIT`` characters."""
    return repr(text if len(text) <= QUOTE_LIMIT else text[:QUOTE_LIMIT] + "…")


def preset_values(learner: str, preset: str | None) -> dict:
    """Every hyperparameter of ``learner`` as ``preset`` sets it (the class defaults under it)."""
    cls = learner_class(learner)
    values = {k: p.default for k, p in cls.param.objects().items() if k != "name"}
    if preset is not None:
        values.update(find_preset(learner, preset).resolved_params())
    return values


def to_query(learner: str, task: str, seed: int, params: dict, defaults: dict,
             preset: str | None = None) -> dict:
    """The query that reproduces this state: hyperparameters only where they differ from
    ``defaults`` (the preset's values, see :func:`preset_values`)."""
    query = {"learner": learner, "task": task, "preset": preset or NO_PRESET, "seed": str(seed)}
    for key, value in params.items():
        if key != "seed" and value != defaults.get(key):
            query[key] = _text(value)
    return query


def _text(value) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
