"""Sweeps: a YAML spec expands into trials, each one ``snnlab train`` run, run on dask.distributed.

A spec (see ``examples/sweep.yaml``)::

    learners: [readout, gem]        # names, or a mapping name -> {params, grid, random}
    tasks: [digits-events]          # names, or a mapping name -> task options
    seeds: [0, 1, 2]                # a list, or a count n meaning 0 .. n-1
    epochs: 1                       # or steps: N (at most one; none: each preset's budget)
    eval_every: 50                  # optional, as in `snnlab train`; also eval_samples
    params: {batch_size: 32}        # optional fixed hyperparameters
    grid:                           # optional: every combination of these values
      lr: [0.01, 0.03, 0.1, 0.3]
    random:                         # optional: `samples` draws from these ranges
      l2: {low: 1.0e-5, high: 1.0e-2, log: true}
      batch_size: {low: 8, high: 64, integer: true}
      features: {choice: [counts, log-counts]}
    samples: 4                      # draws of the random ranges (needs `random`)
    sample_seed: 0                  # seeds those draws
    retries: 2                      # extra attempts of a failed or killed trial
    metric: test_accuracy           # ranks trials ("best so far"); default by task kind

Trials are every learner x task x grid point x random draw x seed; a learner's own ``params``,
``grid`` and ``random`` add to (and override) the top-level ones. Like ``snnlab train``, every
trial starts from the task's default preset of its learner (``snnlab list presets``), or from
the preset a learner section names (``learners: {ep: {preset: hidden-binary}}``; ``preset:
none`` for the learner's own defaults); the spec's values go on top, and without ``steps`` or
``epochs`` each trial takes its preset's budget.

Values are read by each hyperparameter's type (as ``--param`` reads them): the spec's YAML
is read without YAML 1.1's sexagesimal numbers and dates (``1:30`` stays text, never 90), and
``1e-3`` is a number. Every value is checked against
each learner's hyperparameters before anything runs: a parameter a learner does not have is an
error. Learners with an ``n_threads`` hyperparameter get ``n_threads=1`` unless the spec sets
it, so N workers use N cores.

A trial's id is a hash of its config; its record goes to ``OUT/<id>/`` (``config.json``,
``metrics.csv``, ``state.npz``, then a ``done`` marker written last). Workers compute and return
records; this process writes and indexes them as they arrive, so a killed worker or a Ctrl-C
never loses a finished trial, and running the same spec again skips every trial whose record is
complete. A failed attempt (an exception, or the death of its worker) is appended to
``OUT/<id>/errors.jsonl`` and retried up to ``retries`` times; a trial that still fails is
indexed with its error. (A scheduler started elsewhere reschedules a dead worker's trials
itself, up to its ``distributed.scheduler.allowed-failures``, before they count here.)
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import os
import threading
import time
import traceback
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from snnlab.record import RunRecord, read_record, write_record
from snnlab.runs import RunIndex, SweepStatus, headline, is_better
from snnlab.training import RunConfig

SPEC_KEYS = (
    "learners", "tasks", "seeds", "steps", "epochs", "eval_every", "eval_samples", "params",
    "grid", "random", "samples", "sample_seed", "retries", "metric", "name",
)
LEARNER_KEYS = ("params", "grid", "random", "preset")
NO_PRESET = "none"
RECORD_FILES = ("config.json", "metrics.csv", "state.npz", "done")
#: A local scheduler hands a dead worker's trials straight back as failures, so each is recorded
#: and retried here (dask's own default reschedules them silently up to three times).
LOCAL_SCHEDULER_CONFIG = {"distributed.scheduler.allowed-failures": 0}
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "OPENBLAS_NUM_THREADS": "1"}


@dataclass
class SweepSpec:
    """A parsed spec (see module docstring); :func:`expand` turns it into trials."""

    learners: dict[str, dict]
    tasks: dict[str, dict]
    seeds: list[int] | range
    steps: int | None = None
    epochs: int | None = None
    eval_every: int = 50
    eval_samples: int | None = None
    params: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    random: dict = field(default_factory=dict)
    samples: int = 0
    sample_seed: int = 0
    retries: int = 2
    metric: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Trial:
    """One run of a sweep: its id (a hash of the config) and its config."""

    id: str
    config: RunConfig


@dataclass
class SweepResult:
    """What a sweep did: ``skipped`` were complete before it started."""

    out: Path
    total: int
    skipped: int
    done: int
    failed: list[str]
    metric: str | None
    best: float | None
    best_trial: str | None
    seconds: float

    def summary(self) -> dict:
        return {
            "out": str(self.out), "trials": self.total, "skipped": self.skipped,
            "done": self.done, "failed": len(self.failed), "metric": self.metric,
            "best": self.best, "best_trial": self.best_trial, "seconds": round(self.seconds, 2),
        }


# -- spec ------------------------------------------------------------------------------------
MAX_SPEC_BYTES = 1 << 20
#: Values in a spec, counted as used: YAML aliases repeat a value without copying it, so a small
#: file can stand for billions of values ("billion laughs") that a message or a hash would spell.
MAX_VALUES = 100_000
MAX_DEPTH = 16  # a spec nests about 8 deep; a recursive alias nests forever
MAX_INT = 2**63
MAX_SEED = 2**31 - 1  # the bound of every learner's seed hyperparameter


def load_spec(path: str | Path) -> SweepSpec:
    """Read and check the YAML spec at ``path``; a one-line ``ValueError`` if it is malformed."""
    import yaml

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"sweep spec {path} does not exist")
    if not path.is_file():
        raise ValueError(f"sweep spec {path} is not a file")
    try:
        if path.stat().st_size > MAX_SPEC_BYTES:
            raise ValueError(f"sweep spec {path} is over {MAX_SPEC_BYTES:,} bytes")
        text = path.read_bytes()  # bytes: YAML finds the encoding and names a bad byte
    except OSError as err:
        raise ValueError(f"cannot read sweep spec {path}: {err.strerror or err}") from None
    try:
        data = yaml.load(text, Loader=spec_loader())
    except yaml.YAMLError as err:
        raise ValueError(f"{path} is not valid YAML: {_yaml_problem(err)}") from None
    except RecursionError:  # the composer recurses once per level of nesting
        raise ValueError(f"{path} nests deeper than YAML can read") from None
    spec = parse_spec(data)
    if spec.name is None:
        spec.name = path.stem
    return spec


def parse_spec(data: dict) -> SweepSpec:
    """A :class:`SweepSpec` from a mapping; ``ValueError`` saying what is wrong and what is allowed."""
    if not isinstance(data, dict):
        raise ValueError("a sweep spec is a mapping with keys " + ", ".join(SPEC_KEYS))
    _check_values(data)
    unknown = set(data) - set(SPEC_KEYS)
    if unknown:
        raise ValueError(
            f"unknown sweep spec key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(SPEC_KEYS)}"
        )
    for key in ("learners", "tasks"):
        if not data.get(key):
            raise ValueError(f"a sweep spec needs {key!r} (a list of names)")
    if "steps" in data and "epochs" in data:
        raise ValueError("a sweep spec gives at most one of 'steps' and 'epochs'")
    seeds = data.get("seeds", [0])
    if _is_int(seeds) and 0 < seeds <= MAX_SEED + 1:
        seeds = range(seeds)  # not a list: a count over --max-trials is refused, never built
    elif isinstance(seeds, list) and seeds and all(
            _is_int(s) and 0 <= s <= MAX_SEED for s in seeds):
        seeds = list(dict.fromkeys(seeds))
    else:
        raise ValueError(f"'seeds' is a non-empty list of integers 0 .. {MAX_SEED} or a count, "
                         f"not {_show(seeds)}")
    for key in ("metric", "name"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise ValueError(f"{key!r} is text, not {_show(data[key])}")
    name = data.get("name")
    if name is not None and (Path(name).name != name or name in ("", "..")):
        raise ValueError(f"'name' names the sweep's folder: no path, not {_show(name)}")
    spec = SweepSpec(
        learners=_named_sections("learners", data["learners"]),
        tasks=_named_sections("tasks", data["tasks"]),
        seeds=seeds,
        steps=_count(data, "steps", None, minimum=1),
        epochs=_count(data, "epochs", None, minimum=1),
        eval_every=_count(data, "eval_every", 50, minimum=0),
        eval_samples=_count(data, "eval_samples", None, minimum=1),
        params=_mapping(data, "params"),
        grid=_mapping(data, "grid"),
        random=_mapping(data, "random"),
        samples=_count(data, "samples", 0, minimum=0),
        sample_seed=_count(data, "sample_seed", 0, minimum=0),
        retries=_count(data, "retries", 2, minimum=0),
        metric=data.get("metric"),
        name=data.get("name"),
    )
    for name, section in spec.learners.items():
        unknown = set(section) - set(LEARNER_KEYS)
        if unknown:
            raise ValueError(
                f"learner {name!r}: unknown key(s) {', '.join(sorted(unknown))}; "
                f"allowed: {', '.join(LEARNER_KEYS)}"
            )
        for key in ("params", "grid", "random"):
            section[key] = _mapping(section, key, where=f"learner {name!r}: ")
        preset = section.get("preset")
        if preset is not None and not isinstance(preset, str):
            raise ValueError(f"learner {name!r}: 'preset' is a preset name, not {_show(preset)}")
    for where, section in [("", spec.__dict__)] + [
        (f"learner {n!r}: ", s) for n, s in spec.learners.items()
    ]:
        for key, values in section["grid"].items():
            if not isinstance(values, list) or not values:
                raise ValueError(
                    f"{where}grid {key!r} is a non-empty list of values, not {_show(values)}")
        for key, sampler in section["random"].items():
            _check_sampler(key, sampler, where)
    has_random = bool(spec.random) or any(s["random"] for s in spec.learners.values())
    if has_random and spec.samples < 1:
        raise ValueError("a spec with 'random' ranges needs 'samples' (how many draws), at least 1")
    if spec.samples and not has_random:
        raise ValueError("'samples' draws from 'random' ranges, but the spec has none")
    return spec


def spec_loader():
    """A YAML loader for specs: YAML's safe loader less its YAML 1.1 readings that surprise
    (``1:30`` as 90, ``2024-01-01`` as a date, ``0x10``, ``1_000``); numbers are plain decimal
    integers and decimals (``1e-3`` included), anything else stays text for the parameter's
    own reader."""
    import re

    import yaml

    int_tag, float_tag = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
    dropped = {int_tag, float_tag, "tag:yaml.org,2002:timestamp"}

    class SpecLoader(yaml.SafeLoader):
        pass

    SpecLoader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in dropped]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    SpecLoader.add_implicit_resolver(int_tag, re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
    SpecLoader.add_implicit_resolver(
        float_tag, re.compile(r"^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$"),
        list("-+0123456789."))
    return SpecLoader


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _count(data: dict, key: str, default, *, minimum: int):
    value = data.get(key, default)
    if value is None:
        return None
    if not _is_int(value) or value < minimum:
        raise ValueError(f"{key!r} must be an integer >= {minimum}, not {_show(value)}")
    return value


def _mapping(data: dict, key: str, where: str = "") -> dict:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise ValueError(f"{where}{key!r} is a mapping of parameter names, not {_show(value)}")
    if "seed" in value:
        raise ValueError(f"{where}set seeds with the top-level 'seeds' list, not in {key!r}")
    return dict(value)


def _named_sections(key: str, value) -> dict[str, dict]:
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return {name: {} for name in dict.fromkeys(value)}
    if isinstance(value, dict) and all(v is None or isinstance(v, dict) for v in value.values()):
        return {str(name): dict(v or {}) for name, v in value.items()}
    raise ValueError(
        f"{key!r} is a list of names or a mapping name -> settings, not {_show(value)}")


def _check_sampler(key: str, sampler, where: str) -> None:
    if isinstance(sampler, dict) and set(sampler) == {"choice"}:
        if isinstance(sampler["choice"], list) and sampler["choice"]:
            return
    elif isinstance(sampler, dict) and {"low", "high"} <= set(sampler) <= {"low", "high", "log", "integer"}:
        low, high = sampler["low"], sampler["high"]
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
        flags = all(isinstance(sampler.get(k, False), bool) for k in ("log", "integer"))
        # finite bounds a finite distance apart: NumPy draws nothing from a wider range
        if (numbers and flags and low <= high and math.isfinite(float(high) - float(low))
                and (not sampler.get("log") or low > 0)):
            return
    raise ValueError(
        f"{where}random {key!r} is {{low: A, high: B}} (A <= B; add log: true for A > 0 on a log "
        f"scale, integer: true for whole numbers) or {{choice: [values]}}, not {_show(sampler)}"
    )


def _check_values(data) -> None:
    """Refuse what no spec needs and what would blow up later: more than ``MAX_VALUES`` values
    or nesting deeper than ``MAX_DEPTH`` (aliases, recursive ones too), keys that are not text,
    numbers that are not finite or too large, and YAML's other types (dates, bytes, sets)."""
    stack, seen = [(data, "", 0)], 0
    while stack:
        value, where, depth = stack.pop()
        seen += 1
        at = f" at {where}" if where else ""
        if seen > MAX_VALUES:
            raise ValueError(f"the spec holds over {MAX_VALUES:,} values (YAML aliases count "
                             "each time they are used)")
        if depth > MAX_DEPTH:
            raise ValueError(f"the spec nests deeper than {MAX_DEPTH} levels{at} (a recursive "
                             "YAML alias?)")
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    hint = " (quote it: YAML reads yes, no, on, off as true or false)" if (
                        isinstance(key, bool)) else ""
                    raise ValueError(f"keys are names (text), not {_show(key)}{at}{hint}")
                stack.append((item, f"{where}.{key}" if where else key, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value))
        elif isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number{at}")
        elif _is_int(value) and abs(value) >= MAX_INT:
            raise ValueError(f"{_show(value)} is too large{at} (at most {MAX_INT - 1})")
        elif not isinstance(value, (str, int, float, bool)) and value is not None:
            raise ValueError(f"a spec holds text, numbers, true/false, lists and mappings, "
                             f"not {type(value).__name__} {_show(value)}{at}")


def _show(value, limit: int = 80) -> str:
    """``value`` for a message: its repr, cut short (a spec's value may be huge or recursive)."""
    import reprlib

    short = reprlib.Repr()
    short.maxlevel, short.maxstring, short.maxother, short.maxlong = 3, limit, limit, limit
    text = short.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _yaml_problem(err) -> str:
    """A YAML error on one line: what is wrong and where (PyYAML's own text spans lines)."""
    mark = getattr(err, "problem_mark", None)
    if getattr(err, "problem", None):
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        context = f"{err.context}: " if getattr(err, "context", None) else ""
        return " ".join(f"{context}{err.problem}".split()) + where
    if hasattr(err, "reason"):  # a ReaderError: bad bytes or control characters
        return f"{err.reason} (byte {err.position}, character {err.character!r})"
    return " ".join(str(err).split())


# -- trials ----------------------------------------------------------------------------------
def trial_id(config: RunConfig) -> str:
    """A stable 12-hex-digit hash of ``config`` (the folder name of its record)."""
    text = json.dumps(config.to_dict(), sort_keys=True, default=list)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


MAX_TRIALS = 10_000


def count_trials(spec: SweepSpec) -> int:
    """How many trials ``spec`` expands to (at most; duplicates merge), without building them."""
    total = 0
    for section in spec.learners.values():
        grid = {**spec.grid, **section["grid"]}
        ranges = {**spec.random, **section["random"]}
        points = math.prod(len(values) for values in grid.values())
        total += points * (spec.samples if ranges else 1) * len(spec.tasks) * len(spec.seeds)
    return total


def expand(spec: SweepSpec, max_trials: int = MAX_TRIALS) -> list[Trial]:
    """Every trial of ``spec``, checked against each learner and task before anything runs.

    A spec of more than ``max_trials`` trials raises ``ValueError`` before any is built."""
    count = count_trials(spec)
    if count > max_trials:
        raise ValueError(f"the spec makes {count:,} trials, more than the limit of "
                         f"{max_trials:,}; shrink the grid or raise --max-trials")
    from snnlab.data import task_options
    from snnlab.data.registry import TASK_KINDS
    from snnlab.learners import learner_class
    from snnlab.learners.base import check_hyperparameters, parse_hyperparameters
    from snnlab.learners.presets import choose_preset

    for task, options in spec.tasks.items():
        allowed = task_options(task)
        unknown = set(options) - set(allowed)
        if unknown:
            raise ValueError(
                f"task {task!r} has no option {', '.join(sorted(unknown))}; "
                f"its options are {', '.join(sorted(allowed)) or 'none'}"
            )
    trials = []
    for learner, section in spec.learners.items():
        cls = learner_class(learner)
        known = [k for k in cls.param if k not in ("name", "seed")]
        fixed = {**spec.params, **section["params"]}
        grid = {**spec.grid, **section["grid"]}
        ranges = {**spec.random, **section["random"]}
        for key in [*fixed, *grid, *ranges]:
            if key not in known:
                raise ValueError(
                    f"learner {learner!r} has no parameter {key!r}; it has {', '.join(sorted(known))}"
                )
        if "n_threads" in known and "n_threads" not in {*fixed, *grid, *ranges}:
            fixed["n_threads"] = 1
        draws = _draws(ranges, spec.samples, spec.sample_seed) if ranges else [{}]
        for task, options in spec.tasks.items():
            kind = TASK_KINDS.get(task)
            if kind is not None and kind not in cls.task_kinds:
                raise ValueError(
                    f"learner {learner!r} cannot learn task {task!r} ({kind}); "
                    f"it takes {', '.join(cls.task_kinds)} tasks"
                )
            named = section.get("preset")
            preset = None if named == NO_PRESET else choose_preset(learner, task, named)
            steps, epochs = spec.steps, spec.epochs
            if steps is None and epochs is None:
                if preset is None:
                    raise ValueError(f"learner {learner!r} has no preset for task {task!r}; "
                                     "give the spec 'steps' or 'epochs'")
                steps, epochs = preset.steps, preset.epochs
            for point in itertools.product(*grid.values()):
                for draw in draws:
                    values = {**fixed, **dict(zip(grid, point)), **draw}
                    try:
                        params = parse_hyperparameters(cls, values)
                        if preset is not None:
                            params = preset.resolved_params(params)
                        check_hyperparameters(cls, params)
                    except (ValueError, OverflowError) as err:  # float(huge) overflows
                        raise ValueError(f"learner {learner!r}: {_show(str(err), 300)[1:-1]}"
                                         ) from None
                    for seed in spec.seeds:
                        config = RunConfig(
                            learner=learner, task=task, seed=seed, params=params,
                            task_options={**(preset.task_options if preset else {}), **options},
                            steps=steps, epochs=epochs, eval_every=spec.eval_every,
                            eval_samples=spec.eval_samples,
                            preset=preset.name if preset else None,
                        )
                        trials.append(Trial(trial_id(config), config))
    return list({t.id: t for t in trials}.values())


def _draws(ranges: dict, samples: int, seed: int) -> list[dict]:
    # The generator is seeded by the ranges themselves too, so learners that share ranges get
    # the same points and re-reading the spec gives the same trials (resume needs that).
    text = json.dumps(ranges, sort_keys=True)
    rng = np.random.default_rng([seed, zlib.crc32(text.encode())])
    draws = []
    for _ in range(samples):
        draw = {}
        for key, sampler in ranges.items():
            if "choice" in sampler:
                draw[key] = sampler["choice"][int(rng.integers(len(sampler["choice"])))]
                continue
            low, high = float(sampler["low"]), float(sampler["high"])
            if sampler.get("log"):
                value = math.exp(rng.uniform(math.log(low), math.log(high)))
            else:
                value = rng.uniform(low, high)
            draw[key] = round(value) if sampler.get("integer") else float(f"{value:.6g}")
        draws.append(draw)
    return draws


def is_complete(folder: str | Path) -> bool:
    """Whether ``folder`` holds a finished trial's record (all files, ``done`` written last)."""
    folder = Path(folder)
    return all((folder / name).is_file() for name in RECORD_FILES)


# -- running ---------------------------------------------------------------------------------
def run_trial(config: RunConfig) -> tuple[RunRecord, dict]:
    """A worker's part of a trial: the run's record and where and how long it ran."""
    import socket

    from tqdm.std import tqdm

    from snnlab.training import run

    if not hasattr(tqdm, "_lock"):
        # tqdm's default lock holds a named semaphore; a worker killed mid-trial (Ctrl-C) would
        # leak it, and the resource tracker would warn at exit. A worker runs one trial at once.
        tqdm.set_lock(threading.RLock())
    start = time.perf_counter()
    record = run(config)
    return record, {"seconds": time.perf_counter() - start, "host": socket.gethostname(),
                    "pid": os.getpid()}


def check_tasks(tasks: list[tuple[str, dict]]) -> list[str]:
    """Load each ``(task, options)`` here; the problems found (missing data, bad options)."""
    from snnlab.data import load_task

    problems = []
    for name, options in tasks:
        try:
            load_task(name, **options)
        except Exception as err:  # any failure to load is reported, not raised, by a worker
            problems.append(f"task {name!r} {options or ''}: {err}")
    return problems


def default_workers() -> int:
    """Local workers by default: one per core this process may use."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:
        return max(os.cpu_count() or 1, 1)


@contextmanager
def connect(workers: int | None = None, scheduler: str | None = None):
    """A dask client: to the scheduler at ``scheduler``, or to a new local cluster of processes.

    The local cluster has ``workers`` single-threaded worker processes (default: one per core)
    on 127.0.0.1 without a dashboard. Ctrl-C raises ``KeyboardInterrupt`` with every local
    worker stopped (see :func:`_ctrl_c_noted`).
    """
    opened = _remote(scheduler) if scheduler is not None else _local(workers)
    with _ctrl_c_noted(), opened as client:
        yield client
    if _interrupted.is_set():  # a Ctrl-C Python dropped while the cluster closed
        raise KeyboardInterrupt


#: Set by Ctrl-C while :func:`connect` is open (the sweep's loop checks it), and by the close;
#: ``_deferring`` is true where the handler only notes a Ctrl-C (see :func:`_sigint_deferred`).
_interrupted = threading.Event()
_closing = threading.Event()
_deferring = False


@contextmanager
def _ctrl_c_noted():
    """SIGINT raises ``KeyboardInterrupt`` where Python can, and is noted in ``_interrupted``.

    Python drops an exception raised in a gc callback, a finalizer or a weakref callback
    ("Exception ignored in"), and a Ctrl-C handled there would be lost, the sweep running on.
    So the handler does not raise inside a gc callback or ``__del__``, and a thread sends the
    signal again every 0.25 s until the close begins; the sweep's loop checks the note too.
    While the close runs, or a block that must not be cut (:func:`_sigint_deferred`), the
    handler only notes it. (A signal mask cannot defer it: Python runs the handler in the main
    thread whichever thread the signal reaches.)"""
    import gc
    import signal

    main = threading.main_thread().ident

    def resend(signum):
        while not _closing.wait(0.25):
            signal.pthread_kill(main, signum)  # a real signal: it also wakes a blocked wait

    def handler(signum, frame):
        if not _interrupted.is_set():
            _interrupted.set()
            threading.Thread(target=resend, args=(signum,), daemon=True).start()
        if _deferring or _closing.is_set():
            return
        codes = {getattr(getattr(cb, "__func__", cb), "__code__", None) for cb in gc.callbacks}
        while frame is not None:
            if frame.f_code in codes or frame.f_code.co_name == "__del__":
                return
            frame = frame.f_back
        raise KeyboardInterrupt

    _interrupted.clear()
    _closing.clear()
    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: signals are not ours to handle
        yield
        return
    try:
        yield
    finally:
        _closing.set()
        signal.signal(signal.SIGINT, previous)


@contextmanager
def _remote(scheduler: str):
    from distributed import Client

    try:
        client = Client(scheduler, timeout="20s")
    except (OSError, TimeoutError) as err:
        raise ValueError(f"cannot reach a dask scheduler at {scheduler}: {err}") from None
    try:
        yield client
    finally:
        _closing.set()
        client.close()


class _InterruptedSyncFilter(logging.Filter):
    """A Ctrl-C that lands while the main thread waits in distributed's ``sync()`` makes its
    ``cancel`` callback run before the future it cancels exists; Tornado then logs that
    callback's NameError with a traceback (a bug of distributed.utils.sync). The interrupt is
    already handled: the record becomes one debug line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, NameError) and "sync.<locals>.cancel" in record.getMessage():
            logging.getLogger(__name__).debug("interrupted a wait on the cluster: %s", error)
            return False
        return True


def _drop_interrupted_sync_tracebacks() -> None:
    tornado_log = logging.getLogger("tornado.application")
    if not any(isinstance(f, _InterruptedSyncFilter) for f in tornado_log.filters):
        tornado_log.addFilter(_InterruptedSyncFilter())


@contextmanager
def _local(workers: int | None):
    import dask
    from distributed import Client, LocalCluster

    n = workers or default_workers()
    if n < 1:
        raise ValueError(f"--workers must be at least 1, not {n}")
    _drop_interrupted_sync_tracebacks()
    # The workers start with Ctrl-C blocked (a child inherits the signal mask): a terminal sends
    # SIGINT to the whole process group, and workers that died of it on their own would print
    # tracebacks and leave their nannies waiting. This process stops them instead.
    # A Ctrl-C during the start waits for it (a cluster half started could leave workers).
    mask = _block_sigint()
    cluster = client = None
    aborted = True
    try:
        with _sigint_deferred(check=False):
            try:
                with dask.config.set(LOCAL_SCHEDULER_CONFIG):
                    cluster = LocalCluster(
                        n_workers=n, threads_per_worker=1, processes=True,
                        dashboard_address=None, host="127.0.0.1", env=dict(WORKER_ENV),
                        silence_logs=logging.ERROR,
                    )
            finally:
                _restore_sigmask(mask)  # a Ctrl-C held back by the mask is noted now
        try:  # the scheduler's gc callback only logs (silenced here); Ctrl-C lands badly in it
            from distributed.gc import disable_gc_diagnosis

            disable_gc_diagnosis()
        except ImportError:
            pass
        if _interrupted.is_set():  # a Ctrl-C during the start
            raise KeyboardInterrupt
        client = Client(cluster)
        yield client
        aborted = False
    finally:
        if cluster is not None:
            _close_local(client, cluster, abort=aborted)


def _close_local(client, cluster, *, abort: bool) -> None:
    """Close ``client`` and the local ``cluster``, every worker process gone; on ``abort`` (Ctrl-C,
    an error) in about a second, the trials still running killed."""
    import signal

    _closing.set()  # a second Ctrl-C must not cut this short and orphan the workers
    pids = _worker_pids(cluster)
    if abort:
        # Killed first: the trials running are lost anyway, and they hold the cores the close
        # needs. Dask (in this process) would log each killed trial and timed-out wait as errors.
        for name in ("distributed", "tornado"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        _quietly(cluster.sync, _kill_workers, cluster, callback_timeout=5)
    if client is not None:
        _quietly(client.close, timeout=2)
    _quietly(cluster.close, timeout=10)
    for pid in pids:  # a last resort: a worker must never outlive the sweep
        _quietly(os.kill, pid, signal.SIGKILL)


async def _kill_workers(cluster) -> None:
    """Kill the local worker processes now, their nannies closing first so none restarts its
    worker (dask's own close asks a worker to finish its trial and waits 4 s before it kills,
    and a worker left alive meanwhile logs errors as the scheduler goes)."""
    import asyncio
    import signal

    nannies = list(cluster.workers.values())
    closing = [asyncio.ensure_future(n.close(timeout=1)) for n in nannies]
    await asyncio.sleep(0)  # each close has begun: its nanny is marked closing
    for pid in _worker_pids(cluster):
        _quietly(os.kill, pid, signal.SIGKILL)
    await asyncio.gather(*closing, return_exceptions=True)


def _worker_pids(cluster) -> list[int]:
    """The process ids of a local cluster's workers (each a nanny's child process)."""
    pids = []
    for nanny in list(cluster.workers.values()):
        pid = getattr(getattr(getattr(nanny, "process", None), "process", None), "pid", None)
        if isinstance(pid, int) and pid > 0:
            pids.append(pid)
    return pids


def _quietly(func, *args, **kwargs) -> None:
    try:
        func(*args, **kwargs)
    except Exception as err:  # closing what may already be closed, dead or timed out
        logging.getLogger(__name__).debug("%s: %s", getattr(func, "__name__", func), err)


@contextmanager
def _sigint_deferred(check: bool = True):
    """A Ctrl-C under :func:`connect` waits for the end of the block, and raises
    ``KeyboardInterrupt`` there (unless ``check`` is false: the caller looks at the note)."""
    global _deferring
    outer, _deferring = _deferring, True
    try:
        yield
    finally:
        _deferring = outer
    if check and _interrupted.is_set() and not outer and not _closing.is_set():
        raise KeyboardInterrupt


def _block_sigint():
    import signal

    if not hasattr(signal, "pthread_sigmask"):  # Windows: no signal masks
        return None
    from multiprocessing import resource_tracker

    # Started now: a thread that starts it unblocks SIGINT in itself (CPython's
    # ensure_running), and dask's loop thread, which spawns the workers, would be that thread.
    resource_tracker.ensure_running()
    return signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def _restore_sigmask(mask) -> None:
    import signal

    if mask is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def run_sweep(
    spec: SweepSpec,
    out: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    index: RunIndex | None = None,
    progress: bool = False,
    max_trials: int = MAX_TRIALS,
) -> SweepResult:
    """Run every trial of ``spec`` whose record under ``out`` is not complete.

    ``workers``: local worker processes (default one per core); ``scheduler``: the address of
    a running dask scheduler to use instead. Finished trials are written and indexed as they
    arrive; ``index`` defaults to the user's run index. More than ``max_trials`` trials are
    refused before anything runs.
    """
    start = time.perf_counter()
    trials = expand(spec, max_trials)
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    index = index if index is not None else RunIndex()
    sweep_id = str(out)
    metric = spec.metric or _default_metric(spec)
    (out / "sweep.json").write_text(json.dumps(
        {"spec": {k: v for k, v in spec.__dict__.items()}, "trials": [t.id for t in trials]},
        indent=2, sort_keys=True, default=list) + "\n")
    status = SweepStatus(id=sweep_id, name=spec.name or out.name, total=len(trials), metric=metric)
    todo = []
    for trial in trials:
        folder = out / trial.id
        if is_complete(folder):
            record = read_record(folder)
            index.add(record, path=folder, source="sweep", sweep=sweep_id)
            status.done += 1
            _track_best(status, metric, record.final(), trial.id)
        else:
            todo.append(trial)
    skipped = len(trials) - len(todo)
    failed: list[str] = []
    index.update_sweep(status)
    if todo:
        # Indexing checks a record with jsonschema, seconds to load on a busy machine: loaded
        # now, not as the first trial is indexed, when a Ctrl-C would wait for it.
        from snnlab.record_schema import config_problem

        config_problem({})
        bar = _bar(len(trials), skipped, spec.name or out.name, progress)
        try:
            with connect(workers, scheduler) as client:
                _check_workers(client, todo)
                failed = _drive(client, todo, out, spec.retries, index, status, bar)
            status.state = "finished" if not failed else "finished with failures"
        except BaseException:
            status.state = "interrupted"
            status.running = 0
            raise
        finally:
            index.update_sweep(status)
            bar.close()
    else:
        status.state = "finished"
        index.update_sweep(status)
    return SweepResult(
        out=out, total=len(trials), skipped=skipped, done=status.done, failed=failed,
        metric=metric, best=status.best, best_trial=status.best_run,
        seconds=time.perf_counter() - start,
    )


def _default_metric(spec: SweepSpec) -> str | None:
    from snnlab.data.registry import TASK_KINDS

    kinds = {TASK_KINDS.get(t) for t in spec.tasks}
    return headline(kinds.pop(), {})[0] if len(kinds) == 1 else None


def _track_best(status: SweepStatus, metric: str | None, final: dict, trial: str) -> None:
    value = final.get(metric) if metric else None
    if isinstance(value, (int, float)) and is_better(metric, float(value), status.best):
        status.best, status.best_run = float(value), trial


def _check_workers(client, trials: list[Trial]) -> None:
    """Every worker loads every task of the sweep once, before any trial is submitted."""
    client.wait_for_workers(1, timeout=60)
    tasks = {json.dumps([t.config.task, t.config.task_options], sort_keys=True, default=list): (
        t.config.task, t.config.task_options) for t in trials}
    answers = client.run(check_tasks, list(tasks.values()))
    problems = [f"worker {worker}: {p}" for worker, found in answers.items() for p in found]
    if problems:
        raise ValueError("data check failed before submission: " + "; ".join(problems))


def _drive(client, trials, out: Path, retries: int, index: RunIndex, status: SweepStatus, bar) -> list[str]:
    """Submit ``trials``, write each result as it arrives, resubmit failures; the failed ids."""
    from distributed import as_completed

    attempts = dict.fromkeys((t.id for t in trials), 0)

    def submit(trial):
        attempts[trial.id] += 1
        return client.submit(run_trial, trial.config, key=f"snnlab-trial-{trial.id}-{attempts[trial.id]}",
                             pure=False, retries=0)

    futures = {submit(t): t for t in trials}
    queue = as_completed(list(futures))
    failed = []
    last_poll = 0.0
    while futures:
        if _interrupted.is_set():
            raise KeyboardInterrupt
        ready = queue.next_batch(block=False) if queue.has_ready() else []
        for future in ready:
            trial = futures.pop(future)
            folder = out / trial.id
            if future.status == "finished":
                record, info = future.result()
                with _sigint_deferred():  # a Ctrl-C never parts a record from its index entry
                    _write_trial(folder, record, info, attempts[trial.id])
                    index.add(record, path=folder, source="sweep", sweep=status.id)
                    status.done += 1
                _track_best(status, status.metric, record.final(), trial.id)
                bar.update(1)
            else:
                error = _describe(future)
                _append_error(folder, attempts[trial.id], error)
                if attempts[trial.id] <= retries:
                    again = submit(trial)
                    futures[again] = trial
                    queue.add(again)
                else:
                    index.add_failure(trial.config.to_dict(), folder, error, sweep=status.id)
                    status.failed += 1
                    failed.append(trial.id)
                    bar.update(1)
            future.release()
        now = time.monotonic()
        if ready or now - last_poll > 1.0:
            status.running = _running(client, futures)
            bar.set_postfix(_postfix(status), refresh=True)
            index.update_sweep(status)
            last_poll = now
        if not ready:
            time.sleep(0.05)
    status.running = 0
    return failed


def _running(client, futures) -> int:
    """Trials executing now: our keys being processed, at most as many as each worker has threads."""
    ours = {f.key for f in futures}
    try:
        processing = client.processing()
        threads = client.nthreads()
    except Exception:  # the scheduler may be busy replacing a dead worker; the count can wait
        return 0
    return sum(min(sum(k in ours for k in keys), threads.get(w, 1)) for w, keys in processing.items())


def _describe(future) -> str:
    err = future.exception()
    if type(err).__name__ == "KilledWorker":
        return f"KilledWorker: the worker running it died ({err})"
    tb = future.traceback()
    detail = "".join(traceback.format_tb(tb)[-3:]) if tb is not None else ""
    return f"{type(err).__name__}: {err}\n{detail}".strip()


def _write_trial(folder: Path, record: RunRecord, info: dict, attempt: int) -> None:
    for name in RECORD_FILES[::-1]:  # the marker goes first, so a crash leaves it incomplete
        (folder / name).unlink(missing_ok=True)
    write_record(folder, record)
    done = {"attempt": attempt, "finished": time.time(), **info}
    (folder / "done").write_text(json.dumps(done, sort_keys=True) + "\n")


def _append_error(folder: Path, attempt: int, error: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "errors.jsonl", "a") as f:
        f.write(json.dumps({"attempt": attempt, "time": time.time(), "error": error}) + "\n")


def _postfix(status: SweepStatus) -> dict:
    post = {"running": status.running, "failed": status.failed}
    if status.best is not None:
        post[f"best {status.metric}"] = f"{status.best:.4g}"
    return post


def _bar(total: int, initial: int, name: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=f"sweep {name}", unit="trial",
                disable=not enabled, leave=True)
