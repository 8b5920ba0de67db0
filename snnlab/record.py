"""Run records on disk: ``config.json`` + ``metrics.csv`` + ``state.npz`` in one folder.

- ``config.json``: learner, task (name and options), hyperparameters, seed, budget (steps or
  epochs), evaluation settings, package versions: everything needed to re-run.
- ``metrics.csv``: one row per evaluation; columns ``step``, ``epoch``, ``loss`` and, where they
  apply, ``train_accuracy``, ``test_accuracy``, ``test_log_likelihood``, ``ece``, ``rmse``,
  ``rel_l2``, ``van_rossum``, ``correlation``, ``converged``, ``epochs_to_converge``.
- ``state.npz``: ``learner.state_dict()``, loadable with ``allow_pickle=False``.
"""

from __future__ import annotations

import csv
import json
import math
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

from snnlab.record_schema import check_config

METRIC_COLUMNS = (
    "step",
    "epoch",
    "loss",
    "train_accuracy",
    "test_accuracy",
    "test_log_likelihood",
    "ece",
    "rmse",
    "rel_l2",
    "van_rossum",
    "correlation",
    "converged",
    "epochs_to_converge",
)
VERSIONED = ("snn-learning-lab", "numpy", "numba", "param", "tonic")


def package_versions() -> dict:
    versions = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@dataclass
class RunRecord:
    """A run on disk: its config, its metric rows and its final learner state."""

    config: dict
    metrics: list[dict] = field(default_factory=list)
    state: dict = field(default_factory=dict)

    def final(self) -> dict:
        """The last metrics row (empty when the run never evaluated)."""
        return dict(self.metrics[-1]) if self.metrics else {}


def metric_columns(rows: list[dict]) -> list[str]:
    """Known columns in their canonical order, then any others, restricted to those present."""
    present = {k for row in rows for k in row}
    ordered = [c for c in METRIC_COLUMNS if c in present]
    return ordered + sorted(present - set(ordered))


MAX_STATE_BYTES = 2 * 2**30  # the largest state.npz expanded (EP's largest networks fit)
#: the files of a record folder
RECORD_FILES = ("config.json", "metrics.csv", "state.npz")


def write_record(folder: str | Path, record: RunRecord) -> Path:
    """Write ``record`` into ``folder`` (created); returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(record.config, indent=2, sort_keys=True) + "\n")
    columns = metric_columns(record.metrics)
    with open(folder / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, restval="")
        writer.writeheader()
        for row in record.metrics:
            writer.writerow({k: _format(v) for k, v in row.items()})
    np.savez(folder / "state.npz", **record.state)
    return folder


def read_record(folder: str | Path) -> RunRecord:
    """Read a record written by :func:`write_record`; clear errors for missing or broken files."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"run record folder {folder} does not exist")
    for name in ("config.json", "metrics.csv", "state.npz"):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"run record {folder} has no {name}")
    try:
        config = json.loads((folder / "config.json").read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{folder / 'config.json'} is not valid JSON: {err}") from None
    check_config(config, str(folder / "config.json"))
    with open(folder / "metrics.csv", newline="") as f:
        rows = [{k: _parse(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]
    check_archive(folder / "state.npz")
    with np.load(folder / "state.npz", allow_pickle=False) as data:
        state = {k: data[k] for k in data.files}
    return RunRecord(config=config, metrics=rows, state=state)


def check_archive(path: Path, limit: int = MAX_STATE_BYTES) -> None:
    """``ValueError`` when the ``.npz`` at ``path`` is not a zip archive or would expand to
    more than ``limit`` bytes (its members' sizes are read from the directory first)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as err:
        raise ValueError(f"{path} is not a .npz archive: {err}") from None
    expanded = sum(m.file_size for m in members)
    if expanded > limit:
        raise ValueError(f"{path} would expand to {expanded:,} bytes, more than the {limit:,} "
                         "a run's state may take")


def _format(value):
    if isinstance(value, float):
        return repr(value)  # round-trips exactly
    return value


def _parse(text: str):
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() and "." not in text and "e" not in text else value


def metrics_match(a: list[dict], b: list[dict], rtol: float = 1e-9) -> tuple[bool, str]:
    """Whether two metric histories agree row by row; the first difference otherwise."""
    if len(a) != len(b):
        return False, f"{len(a)} evaluations recorded, {len(b)} reproduced"
    for i, (ra, rb) in enumerate(zip(a, b)):
        if set(ra) != set(rb):
            return False, f"row {i}: columns {sorted(ra)} vs {sorted(rb)}"
        for key in ra:
            x, y = ra[key], rb[key]
            if isinstance(x, str) or isinstance(y, str):
                same = str(x) == str(y)
            else:
                same = (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=rtol, abs_tol=1e-12)
            if not same:
                return False, f"row {i} (step {ra.get('step')}): {key} recorded {x}, reproduced {y}"
    return True, f"{len(a)} evaluations reproduced"


def states_match(a: dict, b: dict, rtol: float = 1e-9) -> tuple[bool, str]:
    """Whether two final states hold the same arrays (names, shapes, values within ``rtol``)."""
    if set(a) != set(b):
        return False, f"state arrays {sorted(a)} recorded, {sorted(b)} reproduced"
    for name in sorted(a):
        x, y = np.asarray(a[name]), np.asarray(b[name])
        if x.shape != y.shape:
            return False, f"state {name}: shape {x.shape} recorded, {y.shape} reproduced"
        if np.issubdtype(x.dtype, np.number) and np.issubdtype(y.dtype, np.number):
            same = np.allclose(x, y, rtol=rtol, atol=1e-12, equal_nan=True)
        else:
            same = np.array_equal(x, y)
        if not same:
            return False, f"state {name}: the final values differ"
    return True, f"{len(a)} state arrays reproduced"
