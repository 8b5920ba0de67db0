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
import zipfile
import zlib
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

from snnlab.record_schema import MAX_METRIC_ROWS, check_config

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
    config = read_config(folder / "config.json")
    check_config(config, str(folder / "config.json"))
    rows = read_metrics(folder / "metrics.csv")
    state = read_state(folder / "state.npz")
    return RunRecord(config=config, metrics=rows, state=state)


def read_config(path: Path):
    """The JSON value in ``path``; ``ValueError`` naming the file when it is not JSON text."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not UTF-8 text: {err}") from None
    # ValueError besides JSONDecodeError: an integer of more digits than Python converts
    except ValueError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from None
    except RecursionError:
        raise ValueError(f"{path} is not a run config: its values nest too deeply") from None


def read_metrics(path: Path) -> list[dict]:
    """The rows of a ``metrics.csv``; ``ValueError`` naming the file and line when a row does
    not fit the header or the file is not UTF-8 CSV."""
    rows = []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            for row in reader:
                # csv puts surplus fields under the key None and fills missing ones with None
                if None in row or None in row.values():
                    raise ValueError(f"{path} line {reader.line_num}: the row has "
                                     f"{_fields(row)} fields where the header has "
                                     f"{len(reader.fieldnames)}")
                if len(rows) >= MAX_METRIC_ROWS:
                    raise ValueError(f"{path} has more than {MAX_METRIC_ROWS:,} rows")
                rows.append({k: _parse(v) for k, v in row.items() if v != ""})
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not UTF-8 text: {err}") from None
    except csv.Error as err:
        raise ValueError(f"{path} is not a metrics table: {err}") from None
    return rows


def _fields(row: dict) -> int:
    return sum(v is not None for k, v in row.items() if k is not None) + len(row.get(None, []))


def read_state(path: Path) -> dict:
    """The arrays of a ``state.npz`` (checked by :func:`check_archive` first, never unpickled);
    ``ValueError`` naming the file when a member cannot be read."""
    check_archive(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (ValueError, OSError, EOFError, RuntimeError, zipfile.BadZipFile, zlib.error) as err:
        raise ValueError(f"{path} is not a readable .npz archive: {err}") from None


def check_archive(path: Path, limit: int = MAX_STATE_BYTES) -> None:
    """``ValueError`` when the ``.npz`` at ``path`` is not a zip archive, would expand to
    more than ``limit`` bytes (its members' sizes are read from the directory first), or has an
    array member holding Python objects or declaring more bytes than the member holds."""
    try:
        with open(path, "rb") as f:
            start = f.read(4)
        # np.load reads anything else as one .npy array or as a pickle, even where zipfile
        # finds an archive appended at the end
        if start not in (b"PK\x03\x04", b"PK\x05\x06"):
            raise ValueError(f"{path} is not a .npz archive: it does not start as a zip file")
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            expanded = sum(m.file_size for m in members)
            if expanded > limit:
                raise ValueError(f"{path} would expand to {expanded:,} bytes, more than the "
                                 f"{limit:,} a run's state may take")
            for member in members:
                _check_member(path, archive, member)
    # RuntimeError: an encrypted member; NotImplementedError: an unknown compression method
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, zlib.error) as err:
        raise ValueError(f"{path} is not a .npz archive: {err}") from None


def _check_member(path: Path, archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    """Refuse an ``.npy`` member whose header asks for Python objects (they would need
    unpickling) or for more bytes than the member holds (numpy allocates the header's shape
    before it reads: a 100-byte member could ask for terabytes)."""
    with archive.open(member) as f:
        if f.read(len(np.lib.format.MAGIC_PREFIX)) != np.lib.format.MAGIC_PREFIX:
            return  # np.load returns such a member as its bytes, at most its file_size
        f.seek(0)
        try:
            version = np.lib.format.read_magic(f)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read_header(f)
        except (ValueError, TypeError, SyntaxError) as err:
            raise ValueError(f"{path}: member {member.filename!r} has a broken header: "
                             f"{_short(str(err))}") from None
    where = f"{path}: member {member.filename!r}"
    if dtype.hasobject:
        raise ValueError(f"{where} holds Python objects, which a run's state never does "
                         "(they are not unpickled)")
    declared = math.prod(shape) * dtype.itemsize
    if declared > member.file_size:
        raise ValueError(f"{where} declares {declared:,} bytes of data but holds "
                         f"{member.file_size:,}")


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


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
