"""The run index: every run record (``snnlab train``, sweeps, the lab's export) in one SQLite file.

The database lives at ``$SNNLAB_HOME/runs.sqlite``; without ``$SNNLAB_HOME`` in the user's data
folder, ``$XDG_DATA_HOME/snnlab`` or ``~/.local/share/snnlab``. One row per run holds the record's
config, seed, package versions, its metric history and final metrics, and the path of the
record folder (none for a lab export, which is a download). A run's id is a hash of its folder,
so indexing a folder again replaces its row; runs without a folder are keyed by their content.
A second table follows sweeps while they run (trials done, running, failed, best so far).

Filters are ``(name, low, high)`` conditions on a hyperparameter, a final metric, or one of
``seed``, ``steps``, ``epochs``: see :func:`parse_condition` and :meth:`RunIndex.query`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import sqlite3
import time
import warnings
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from snnlab.metrics import HEADLINE, better
from snnlab.record import RunRecord, read_record
from snnlab.record_schema import check_config, config_problem

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    path TEXT,
    learner TEXT NOT NULL,
    task TEXT NOT NULL,
    seed INTEGER,
    kind TEXT,
    config TEXT NOT NULL,
    versions TEXT NOT NULL,
    final TEXT NOT NULL,
    metrics TEXT NOT NULL,
    source TEXT NOT NULL,
    sweep TEXT,
    status TEXT NOT NULL,
    error TEXT,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_learner_task ON runs (learner, task);
CREATE INDEX IF NOT EXISTS runs_sweep ON runs (sweep);
CREATE TABLE IF NOT EXISTS sweeps (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    total INTEGER NOT NULL,
    done INTEGER NOT NULL,
    running INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    metric TEXT,
    best REAL,
    best_run TEXT,
    state TEXT NOT NULL,
    started REAL NOT NULL,
    updated REAL NOT NULL
);
"""


def home() -> Path:
    """snnlab's data folder: ``$SNNLAB_HOME``, else ``$XDG_DATA_HOME/snnlab`` or ``~/.local/share/snnlab``."""
    if os.environ.get("SNNLAB_HOME"):
        return Path(os.environ["SNNLAB_HOME"]).expanduser()
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data).expanduser() / "snnlab"


def default_index_path() -> Path:
    return home() / "runs.sqlite"


def headline(kind: str | None, final: dict) -> tuple[str | None, float | None]:
    """The ranking metric of a task kind and its value in ``final`` (None where absent)."""
    name = HEADLINE.get(kind or "")
    value = final.get(name) if name else None
    return name, (float(value) if isinstance(value, (int, float)) else None)


def is_better(metric: str, value: float, than: float | None) -> bool:
    """Whether ``value`` of ``metric`` beats ``than`` (higher or lower is better by metric)."""
    if than is None or math.isnan(than):
        return not math.isnan(value)
    return better(metric, value, than)


@dataclass
class RunEntry:
    """One indexed run."""

    id: str
    path: str | None
    learner: str
    task: str
    seed: int | None
    kind: str | None
    config: dict
    versions: dict
    final: dict
    metrics: list[dict]
    source: str
    sweep: str | None
    status: str
    error: str | None
    created: float

    @property
    def hyperparameters(self) -> dict:
        """Every hyperparameter of the run (the config's explicit ones where none were saved)."""
        return dict(self.config.get("hyperparameters") or self.config.get("params") or {})

    @property
    def params(self) -> dict:
        """The hyperparameters the run's config set explicitly."""
        return dict(self.config.get("params") or {})

    def value(self, name: str):
        """A hyperparameter, final metric or budget field by name (None where the run lacks it)."""
        hyper = self.hyperparameters
        if name in hyper:
            return hyper[name]
        if name in self.final:
            return self.final[name]
        if name in ("seed", "steps", "epochs"):
            return self.config.get(name)
        return None

    def headline(self) -> tuple[str | None, float | None]:
        return headline(self.kind, self.final)


@dataclass
class SweepStatus:
    """Where a sweep stands (written by the sweep as trials finish, read by the run browser)."""

    id: str
    name: str
    total: int
    done: int = 0
    running: int = 0
    failed: int = 0
    metric: str | None = None
    best: float | None = None
    best_run: str | None = None
    state: str = "running"
    started: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)

    @property
    def pending(self) -> int:
        return max(self.total - self.done - self.running - self.failed, 0)


def parse_condition(text: str) -> tuple[str, object, object]:
    """``(name, low, high)`` from ``name=v``, ``name>=v``, ``name<=v`` or ``name=lo..hi``.

    Bounds are inclusive; ``None`` leaves a side open. Values written as numbers are numbers
    (``lr>=0.1``, ``lr=1e-3``), anything else is text (``features=counts``); never YAML's
    readings (``1:30`` is not 90).
    """
    for op in (">=", "<="):
        if op in text:
            name, raw = text.split(op, 1)
            value = _condition_value(raw)
            return (name.strip(), value, None) if op == ">=" else (name.strip(), None, value)
    if "=" not in text:
        raise ValueError(f"a filter is NAME=VALUE, NAME>=VALUE, NAME<=VALUE or NAME=LOW..HIGH, not {text!r}")
    name, raw = (s.strip() for s in text.split("=", 1))
    if ".." in raw:
        low, high = (_condition_value(s) if s.strip() else None for s in raw.split("..", 1))
        return name, low, high
    value = _condition_value(raw)
    return name, value, value


def _condition_value(raw: str):
    """A filter's value: a number when it is written as one (``0.1``, ``1e-3``, ``-2``),
    ``true``/``false`` as booleans, else the text itself (``log-counts``, ``[40, 40]``)."""
    from snnlab.learners.values import read_number

    text = raw.strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    number = read_number(text)
    if number is None:
        return text
    return int(number) if re.fullmatch(r"[+-]?\d+", text) else number


def matches(entry: RunEntry, conditions: list[tuple[str, object, object]]) -> bool:
    """Whether ``entry`` meets every ``(name, low, high)`` condition (see :func:`parse_condition`)."""
    for name, low, high in conditions:
        value = entry.value(name)
        if value is None:
            return False
        if isinstance(value, (list, tuple)):  # layer widths: hidden=40,40 or hidden=[40, 40]
            if low is not None and [int(v) for v in re.findall(r"\d+", str(low))] != list(value):
                return False
            continue
        if isinstance(low, str) or isinstance(high, str):
            if low is not None and str(value) != str(low):
                return False
            continue
        if not isinstance(value, (int, float)):  # text, or an object in a hand-edited record
            return False
        if low is not None and value < low:
            return False
        if high is not None and value > high:
            return False
    return True


def _record_id(record: RunRecord, path: Path | None) -> str:
    if path is not None:
        key = "path:" + str(path)
    else:
        key = "content:" + json.dumps([record.config, record.metrics], sort_keys=True, default=str)
    return hashlib.sha1(key.encode()).hexdigest()[:12]


class RunIndex:
    """The SQLite run index at ``path`` (default :func:`default_index_path`), created on first use."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else default_index_path()
        #: what the last ``query`` left out: one line per unusable run, ``id: why``
        self.skipped: list[str] = []
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self):
        # WAL lets the run browser read while a sweep writes; one connection per operation keeps
        # the index usable from any thread.
        with closing(sqlite3.connect(self.path, timeout=30.0)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            with db:
                yield db

    # -- writing ----------------------------------------------------------------------------
    def add(
        self,
        record: RunRecord,
        *,
        path: str | Path | None = None,
        source: str = "train",
        sweep: str | None = None,
    ) -> str:
        """Index ``record`` (kept in the folder ``path``, if any); returns the run id.

        A record whose config does not pass :mod:`snnlab.record_schema` raises ``ValueError``."""
        check_config(record.config, str(path) if path is not None else "the record")
        folder = Path(path).resolve() if path is not None else None
        return self._put(
            _record_id(record, folder),
            folder,
            record.config,
            record.metrics,
            source=source,
            sweep=sweep,
            status="done",
            error=None,
        )

    def add_folder(self, folder: str | Path, *, source: str = "train", sweep: str | None = None) -> str:
        """Index the record written in ``folder``; returns the run id."""
        return self.add(read_record(folder), path=folder, source=source, sweep=sweep)

    def add_failure(
        self, config: dict, folder: str | Path, error: str, *, source: str = "sweep", sweep: str | None = None
    ) -> str:
        """Index a run that failed with ``error`` (its record folder may hold no record)."""
        folder = Path(folder).resolve()
        record = RunRecord(config=config)
        return self._put(
            _record_id(record, folder), folder, config, [], source=source, sweep=sweep,
            status="failed", error=error,
        )

    def _put(self, run_id, folder, config, metrics, *, source, sweep, status, error) -> str:
        final = dict(metrics[-1]) if metrics else {}
        kind = (config.get("task_info") or {}).get("kind")
        row = (
            run_id,
            str(folder) if folder is not None else None,
            config.get("learner", ""),
            config.get("task", ""),
            config.get("seed"),
            kind,
            json.dumps(config, sort_keys=True, default=list),
            json.dumps(config.get("versions") or {}, sort_keys=True),
            json.dumps(final, sort_keys=True),
            json.dumps(metrics),
            source,
            sweep,
            status,
            error,
            time.time(),
        )
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO runs VALUES (" + ",".join("?" * len(row)) + ")", row)
        return run_id

    # -- reading ----------------------------------------------------------------------------
    def get(self, run_id: str) -> RunEntry:
        """The run whose id is ``run_id`` or starts with it, or whose record is in the folder
        ``run_id``; ``ValueError`` if none or several."""
        with self._connect() as db:
            rows = db.execute(
                # an id is a prefix, taken literally: % and _ in it are not wildcards
                "SELECT * FROM runs WHERE id LIKE ? ESCAPE '\\' ORDER BY created",
                (_like_escaped(run_id) + "%",),
            ).fetchall()
            if not rows and run_id:
                rows = db.execute(
                    "SELECT * FROM runs WHERE path = ?", (str(Path(run_id).resolve()),)
                ).fetchall()
        if not rows:
            raise ValueError(f"no indexed run has id {run_id!r} (see `snnlab runs list`)")
        if len(rows) > 1 and not any(r[0] == run_id for r in rows):
            ids = ", ".join(r[0] for r in rows[:5])
            raise ValueError(f"run id {run_id!r} is ambiguous: {ids}{'...' if len(rows) > 5 else ''}")
        row = next((r for r in rows if r[0] == run_id), rows[0])
        entry, problem = _checked_entry(row)
        if problem is not None:
            raise ValueError(f"run {row[0]} is not usable: {problem}")
        return entry

    def query(
        self,
        *,
        learner: str | list[str] | None = None,
        task: str | list[str] | None = None,
        sweep: str | None = None,
        status: str | None = None,
        conditions: list[tuple[str, object, object]] = (),
    ) -> list[RunEntry]:
        """Runs, oldest first, that match every given filter (lists allow any of their names)."""
        clauses, args = [], []
        for column, wanted in (("learner", learner), ("task", task)):
            if wanted is None:
                continue
            names = [wanted] if isinstance(wanted, str) else list(wanted)
            clauses.append(f"{column} IN ({','.join('?' * len(names))})")
            args.extend(names)
        for column, wanted in (("sweep", sweep), ("status", status)):
            if wanted is not None:
                clauses.append(f"{column} = ?")
                args.append(wanted)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._connect() as db:
            rows = db.execute(f"SELECT * FROM runs{where} ORDER BY created, id", args).fetchall()
        entries = []
        self.skipped = []
        for row in rows:
            entry, problem = _checked_entry(row)
            if problem is not None:
                self.skipped.append(f"{row[0]}: {problem}")
            elif matches(entry, list(conditions)):
                entries.append(entry)
        return entries

    def version(self) -> tuple:
        """Changes whenever a run is added, replaced or removed (cheap: for polling readers)."""
        with self._connect() as db:
            return tuple(db.execute("SELECT count(*), max(created) FROM runs").fetchone())

    # -- sweeps -----------------------------------------------------------------------------
    def update_sweep(self, status: SweepStatus) -> None:
        status.updated = time.time()
        row = (
            status.id, status.name, status.total, status.done, status.running, status.failed,
            status.metric, status.best, status.best_run, status.state, status.started,
            status.updated,
        )
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO sweeps VALUES (" + ",".join("?" * len(row)) + ")", row)

    def sweeps(self) -> list[SweepStatus]:
        """Every sweep the index has seen, most recently updated first."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM sweeps ORDER BY updated DESC").fetchall()
        return [SweepStatus(*row) for row in rows]


def _checked_entry(row: tuple) -> tuple[RunEntry | None, str | None]:
    """The entry of an index row, or ``None`` and what makes it unusable (an index written by
    an older version, or edited by hand, may hold anything)."""
    try:
        entry = _entry(row)
    except (ValueError, TypeError, RecursionError) as err:
        return None, f"unreadable index row ({err})"
    problem = config_problem(entry.config)
    if problem is None and not (isinstance(entry.final, dict) and isinstance(entry.metrics, list)):
        problem = "metrics are not a table"
    return (None, problem) if problem else (entry, None)


def _entry(row: tuple) -> RunEntry:
    (run_id, path, learner, task, seed, kind, config, versions, final, metrics, source, sweep,
     status, error, created) = row
    return RunEntry(
        id=run_id,
        path=path,
        learner=learner,
        task=task,
        seed=seed,
        kind=kind,
        config=json.loads(config),
        versions=json.loads(versions),
        final=json.loads(final),
        metrics=json.loads(metrics),
        source=source,
        sweep=sweep,
        status=status,
        error=error,
        created=created,
    )


def index_run(record: RunRecord, path: str | Path | None = None, source: str = "train") -> str | None:
    """Index ``record`` in the default index; a warning, not an error, when that fails.

    ``snnlab train`` and the lab's export call this: a read-only or locked data folder must not
    lose the run itself. Returns the run id, or None when indexing failed.
    """
    try:
        return RunIndex().add(record, path=path, source=source)
    except (OSError, sqlite3.Error) as err:
        warnings.warn(f"the run was not indexed in {default_index_path()}: {err}", stacklevel=2)
        return None


def _like_escaped(text: str) -> str:
    """``text`` with SQL LIKE's wildcards (and the escape character) escaped by a backslash."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
