"""What a run record's ``config.json`` may hold, checked with ``jsonschema`` before use.

Records come from strangers (a downloaded ``run.zip``, a shared folder): a record is checked
against :data:`CONFIG_SCHEMA` (types, bounds, sizes) and its learner and task must be known,
before it is indexed, listed or replayed. :func:`config_problem` says what is wrong in one
line, or returns ``None``.
"""

from __future__ import annotations

import functools

MAX_NAME = 64
MAX_STEPS = 10_000_000  # a replay longer than this is refused before it starts
MAX_EPOCHS = 100_000
MAX_SCHEDULE = 100_000
MAX_METRIC_ROWS = 1_000_000
MAX_DEPTH = 32  # nesting of lists and objects; a record nests four deep

_NAME = {"type": "string", "minLength": 1, "maxLength": MAX_NAME, "pattern": r"^[A-Za-z0-9_.-]+$"}
_COUNT_OR_NULL = {"type": ["integer", "null"], "minimum": 1}

CONFIG_SCHEMA = {
    "type": "object",
    "required": ["learner", "task"],
    "properties": {
        "learner": _NAME,
        "task": _NAME,
        "preset": {"anyOf": [_NAME, {"type": "null"}]},
        "seed": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
        "params": {"type": "object"},
        "hyperparameters": {"type": "object"},
        "task_options": {"type": "object"},
        # the index files a run under its task's kind: text, never a list or an object
        "task_info": {"type": "object", "properties": {"kind": _NAME}},
        "versions": {"type": "object"},
        "steps": {**_COUNT_OR_NULL, "maximum": MAX_STEPS},
        "epochs": {**_COUNT_OR_NULL, "maximum": MAX_EPOCHS},
        "eval_every": {"type": "integer", "minimum": 0},
        "eval_samples": _COUNT_OR_NULL,
        "schedule": {
            "type": "array",
            "maxItems": MAX_SCHEDULE,
            "items": {
                "type": "object",
                "required": ["step", "params"],
                "properties": {"step": {"type": "integer", "minimum": 0},
                               "params": {"type": "object"}},
            },
        },
    },
}


def config_problem(config) -> str | None:
    """``None`` when ``config`` is a usable record config, else what is wrong, in one line."""
    import jsonschema

    if _too_deep(config, MAX_DEPTH):
        return f"config: lists and objects nest more than {MAX_DEPTH} deep"
    validator = _validator_class()(CONFIG_SCHEMA)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "config"
        return f"{where}: {_short(error.message)}"
    from snnlab.data import task_names
    from snnlab.learners import learner_names

    if config["learner"] not in learner_names():
        return f"learner: {_short(repr(config['learner']))} is not a known learner"
    if config["task"] not in task_names():
        return f"task: {_short(repr(config['task']))} is not a known task"
    return None


@functools.cache
def _validator_class():
    """Draft 2020-12 where an integer is an ``int``: JSON Schema counts ``2.0`` as an integer,
    but a budget or a seed of ``2.0`` breaks ``range`` and random generators."""
    import jsonschema

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine(
        "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool))
    return jsonschema.validators.extend(base, type_checker=checker)


def _too_deep(value, limit: int) -> bool:
    """Whether lists and dicts nest deeper than ``limit`` in ``value`` (without recursion: a
    crafted value may nest deeper than Python's stack)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        elif not isinstance(item, list):
            continue
        if depth > limit:
            return True
        stack.extend((v, depth + 1) for v in item)
    return False


def check_config(config, where: str) -> None:
    """Raise ``ValueError`` naming ``where`` when ``config`` is not a usable record config."""
    problem = config_problem(config)
    if problem is not None:
        raise ValueError(f"{where} is not a valid run record: {problem}")


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
