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
    seeds: list[int]
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
def load_spec(path: str | Path) -> SweepSpec:
    """Read and check the YAML spec at ``path``."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"sweep spec {path} does not exist")
    try:
        data = yaml.load(path.read_text(), Loader=spec_loader())
    except yaml.YAMLError as err:
        raise ValueError(f"{path} is not valid YAML: {err}") from None
    spec = parse_spec(data)
    if spec.name is None:
        spec.name = path.stem
    return spec


def parse_spec(data: dict) -> SweepSpec:
    """A :class:`SweepSpec` from a mapping; ``ValueError`` saying what is wrong and what is allowed."""
    if not isinstance(data, dict):
        raise ValueError("a sweep spec is a mapping with keys " + ", ".join(SPEC_KEYS))
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
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = list(range(seeds))
    if not isinstance(seeds, list) or not seeds or not all(_is_int(s) and s >= 0 for s in seeds):
        raise ValueError(f"'seeds' is a non-empty list of integers >= 0 or a count, not {seeds!r}")
    spec = SweepSpec(
        learners=_named_sections("learners", data["learners"]),
        tasks=_named_sections("tasks", data["tasks"]),
        seeds=list(dict.fromkeys(seeds)),
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
            raise ValueError(f"learner {name!r}: 'preset' is a preset name, not {preset!r}")
    for where, section in [("", spec.__dict__)] + [
        (f"learner {n!r}: ", s) for n, s in spec.learners.items()
    ]:
        for key, values in section["grid"].items():
            if not isinstance(values, list) or not values:
                raise ValueError(f"{where}grid {key!r} is a non-empty list of values, not {values!r}")
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
        raise ValueError(f"{key!r} must be an integer >= {minimum}, not {value!r}")
    return value


def _mapping(data: dict, key: str, where: str = "") -> dict:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise ValueError(f"{where}{key!r} is a mapping of parameter names, not {value!r}")
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
    raise ValueError(f"{key!r} is a list of names or a mapping name -> settings, not {value!r}")


def _check_sampler(key: str, sampler, where: str) -> None:
    if isinstance(sampler, dict) and set(sampler) == {"choice"}:
        if isinstance(sampler["choice"], list) and sampler["choice"]:
            return
    elif isinstance(sampler, dict) and {"low", "high"} <= set(sampler) <= {"low", "high", "log", "integer"}:
        low, high = sampler["low"], sampler["high"]
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
        if numbers and low <= high and (not sampler.get("log") or low > 0):
            return
    raise ValueError(
        f"{where}random {key!r} is {{low: A, high: B}} (A <= B; add log: true for A > 0 on a log "
        f"scale, integer: true for whole numbers) or {{choice: [values]}}, not {sampler!r}"
    )


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
                    params = parse_hyperparameters(cls, values)
                    try:
                        if preset is not None:
                            params = preset.resolved_params(params)
                        check_hyperparameters(cls, params)
                    except ValueError as err:
                        raise ValueError(f"learner {learner!r}: {err}") from None
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

    from snnlab.training import run

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
    on 127.0.0.1 without a dashboard.
    """
    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as err:
            raise ValueError(f"cannot reach a dask scheduler at {scheduler}: {err}") from None
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or default_workers()
    if n < 1:
        raise ValueError(f"--workers must be at least 1, not {n}")
    with dask.config.set(LOCAL_SCHEDULER_CONFIG):
        cluster = LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
            host="127.0.0.1", env=dict(WORKER_ENV), silence_logs=logging.ERROR,
        )
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()


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
        ready = queue.next_batch(block=False) if queue.has_ready() else []
        for future in ready:
            trial = futures.pop(future)
            folder = out / trial.id
            if future.status == "finished":
                record, info = future.result()
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
