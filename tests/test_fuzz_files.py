"""Fuzzing untrusted files: tampered run records and malformed N-MNIST event files.

Every case ends in a clear error (a ``ValueError`` naming the file, or exit code 1/2 with one
line on stderr and no traceback) or in a correct result; a bad record never breaks the listing
of the good ones. Examples are derandomized so CI sees the same cases every run. The cases tried
per category are counted in ``TRIED`` and printed when the module finishes.
"""

from __future__ import annotations

import collections
import dataclasses
import io
import json
import os
import pickle
import shutil
import sqlite3
import sys
import tempfile
import zipfile
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snnlab.cli import main
from snnlab.data.events import (
    LABEL,
    EventFileError,
    EventFolder,
    FrameSpec,
    decode_events,
    encode_events,
    make_events,
    read_events,
)
from snnlab.record import read_record
from snnlab.record_schema import config_problem
from snnlab.runs import RunIndex

TRIED: collections.Counter = collections.Counter()


def fuzz(n: int):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module", autouse=True)
def report_counts(request):
    yield
    lines = [f"  {name}: {n}" for name, n in sorted(TRIED.items())]
    text = ("\nfuzz cases tried per category:\n" + "\n".join(lines)
            + f"\n  total: {sum(TRIED.values())}")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture is None:
        sys.stderr.write(text + "\n")
        return
    with capture.global_and_fixture_disabled():  # shown without -s
        sys.stderr.write(text + "\n")


@contextmanager
def scratch():
    folder = Path(tempfile.mkdtemp(prefix="snnlab-fuzz-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def snnlab_home(folder: Path):
    """The default run index in ``folder`` for the commands run inside."""
    before = os.environ.get("SNNLAB_HOME")
    os.environ["SNNLAB_HOME"] = str(folder)
    try:
        yield
    finally:
        os.environ["SNNLAB_HOME"] = before if before is not None else ""
        if before is None:
            del os.environ["SNNLAB_HOME"]


def cli(argv: list[str]) -> tuple[int, str, str]:
    """``snnlab`` in this process: exit code, stdout, stderr. An exception the command does not
    turn into an exit code propagates (the traceback a user would see) and fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def assert_clear_failure(code: int, err: str, command: str, names: str | None = None):
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"snnlab {command}: error: ") and len(lines[0]) > 30, err
    assert "Traceback" not in err
    if names is not None:
        assert names in lines[0], err


# -- run records ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def base_record(tmp_path_factory) -> Path:
    """A real record of `snnlab train` (readout on ten digits-events recordings, two steps)."""
    root = tmp_path_factory.mktemp("fuzz-base")
    out = root / "run"
    with snnlab_home(root / "home"):
        code, _, err = cli(["train", "--learner", "readout", "--task", "digits-events",
                            "--steps", "2", "--eval-every", "1", "--option", "max_train=10",
                            "--option", "max_test=10", "--out", str(out), "--quiet"])
    assert code == 0, err
    record = read_record(out)
    assert len(record.metrics) == 2 and "W_" in record.state
    return out


@pytest.fixture
def bounded_replay(monkeypatch):
    """Replays of tampered records run at most three steps within 512 MiB: a record may ask for
    ten million steps, which is valid but not what a fuzz case should spend."""
    from snnlab import training
    from snnlab.learners import memory

    real_run = training.run

    def capped(config, progress=False):
        steps = min(config.steps or 3, 3)
        return real_run(dataclasses.replace(config, steps=steps, epochs=None), progress)

    monkeypatch.setattr(training, "run", capped)
    monkeypatch.setattr(memory, "_budget", 512 * 2**20)


def copy_record(base: Path, into: Path) -> Path:
    folder = into / "run"
    shutil.copytree(base, folder)
    return folder


def check_record(folder: Path, category: str, replay: bool = True) -> bool:
    """Read, index and (optionally) replay ``folder``; each ends well or in one clear error.
    Returns whether the record was readable."""
    TRIED[category] += 1
    try:
        record = read_record(folder)
    except (ValueError, FileNotFoundError) as err:
        message = str(err)
        assert str(folder) in message and "\n" not in message, message
        readable = False
    else:
        assert config_problem(record.config) is None
        assert isinstance(record.metrics, list) and isinstance(record.state, dict)
        assert all(isinstance(v, np.ndarray) and v.dtype != object for v in record.state.values()
                   if not isinstance(v, bytes))
        readable = True
    with scratch() as home, snnlab_home(home):
        code, out, err = cli(["runs", "add", str(folder)])
        if readable:
            assert code == 0 and len(out.split()) == 1, err
            code, out, err = cli(["runs", "list", "--json"])
            assert code == 0 and [json.loads(line)["path"] for line in out.splitlines()] == [
                str(folder.resolve())], err
        else:
            assert_clear_failure(code, err, "runs", names=str(folder))
            assert RunIndex().query() == []
        if replay:
            code, out, err = cli(["replay", str(folder), "--quiet"])
            if readable:
                assert code in (0, 1, 2), err
                if code == 2:  # a config that reads but does not run: a learner or task refuses
                    assert_clear_failure(code, err, "replay")
                else:
                    assert "reproduced" in out and "Traceback" not in err
            else:
                assert_clear_failure(code, err, "replay", names=str(folder))
    return readable


MARKUP = ["<script>alert(1)</script>", "<b>x</b>", "&amp;", "\"'><img src=x onerror=alert(1)>",
          "{{7*7}}", "${x}", "\u202e\u0663", "\x00", "nope", "readout", "digits-events", "007",
          "99999999999999999999", "٣", "a" * 5000, ""]
HUGE = [2**31, 2**63, -(2**63) - 1, 10**30, 10**400, 1e308, -1e308, 5e-324]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.sampled_from(HUGE),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0, -1, 1, 2.0, -0.0]),
    st.text(max_size=12), st.sampled_from(MARKUP),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=4),
    max_leaves=12,
)


def nested(depth: int):
    value: object = 1
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


VALUES_AND_SHAPES = st.one_of(
    VALUES,
    st.integers(2, 60).map(nested),  # nested arrays (and objects) where scalars belong
    st.sampled_from([list(range(200_000)), ["x"] * 50_000, {str(i): i for i in range(20_000)}]),
)


def key_paths(value, prefix=()):
    """Every key path in a JSON value (object keys and list indices)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from key_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield (*prefix, i)
            yield from key_paths(item, (*prefix, i))


BASE_CONFIG_PATHS = [  # the paths of a readout record's config.json (checked in the test)
    ("learner",), ("task",), ("seed",), ("steps",), ("epochs",), ("eval_every",),
    ("eval_samples",), ("preset",), ("params",), ("params", "lr"), ("params", "batch_size"),
    ("hyperparameters",), ("hyperparameters", "lr"), ("task_options",),
    ("task_options", "max_train"), ("task_options", "max_test"), ("task_info",),
    ("task_info", "kind"), ("task_info", "classes"), ("task_info", "options"),
    ("task_info", "options", "crop"), ("versions",), ("versions", "numpy"), ("schedule",),
]
TASK_OPTIONS = ["n_steps", "polarity", "pooling", "crop", "binary", "max_train", "max_test",
                "classes", "validation"]


@given(
    path=st.sampled_from(BASE_CONFIG_PATHS)
    | st.sampled_from(TASK_OPTIONS).map(lambda k: ("task_options", k))
    | st.sampled_from(["lr", "batch_size", "l2", "features", "momentum"]).map(
        lambda k: ("params", k)),
    action=st.sampled_from(["set", "set", "set", "delete"]),
    value=VALUES_AND_SHAPES,
)
@fuzz(50)
def test_config_fields_of_wrong_types_and_sizes(base_record, bounded_replay, path, action, value):
    config = json.loads((base_record / "config.json").read_text())
    assert set(BASE_CONFIG_PATHS) <= set(key_paths(config))
    with scratch() as tmp:
        folder = copy_record(base_record, tmp)
        parent = config
        for key in path[:-1]:
            parent = parent[key]
        if action == "delete":
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = value
        (folder / "config.json").write_text(json.dumps(config))
        readable = check_record(folder, "record: config.json field")
        if readable:  # only values a run takes are let through
            assert not (path[0] in ("seed", "steps", "epochs", "eval_every")
                        and action == "set" and not (value is None or type(value) is int))


@pytest.mark.parametrize("change, message", [
    ({"params": [1, 2]}, "params: [1, 2] is not of type 'object'"),
    ({"learner": "<b>x</b>"}, "learner: '<b>x</b>' does not match"),
    ({"learner": "nope"}, "'nope' is not a known learner"),
    ({"task": "no-such-task"}, "'no-such-task' is not a known task"),
    ({"steps": 2.0}, "steps: 2.0 is not of type 'integer'"),
    ({"seed": float("nan")}, "seed: nan is not of type 'integer'"),
    ({"steps": 10**400}, "steps: "),
    ({"task_info": {"kind": [1]}}, "task_info/kind: [1] is not of type 'string'"),
    ({"params": {"lr": nested(40)}}, "nest more than 32 deep"),
])
def test_named_config_tamperings_are_refused_with_their_reason(base_record, tmp_path, change,
                                                               message):
    folder = copy_record(base_record, tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config.update(change)
    (folder / "config.json").write_text(json.dumps(config))
    assert not check_record(folder, "record: named config tampering", replay=False)
    with pytest.raises(ValueError, match="is not a valid run record") as info:
        read_record(folder)
    assert message in str(info.value)


RAW_JSON_EDITS = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(st.just("garbage"), st.binary(max_size=64)),
    st.tuples(st.just("insert"), st.tuples(st.floats(0, 1), st.sampled_from(
        [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x00", b"NaN", b"-Infinity", b"9" * 5000,
         b"[" * 100_000, b"{\"a\":" * 3000, b"\"\\ud800\"", b"1e999999", b",,", b"}"]))),
    st.tuples(st.just("replace"), st.sampled_from(
        [b"", b"null", b"[]", b"[1, 2]", b"\"text\"", b"1e400", b"NaN", b"\xef\xbb\xbf{}",
         b"[" * 50_000 + b"]" * 50_000, b"\xff\xfe{\x00}\x00"])),
)


@given(edit=RAW_JSON_EDITS)
@fuzz(40)
def test_config_json_truncated_garbage_and_non_utf8(base_record, bounded_replay, edit):
    kind, arg = edit
    with scratch() as tmp:
        folder = copy_record(base_record, tmp)
        raw = (folder / "config.json").read_bytes()
        if kind == "truncate":
            raw = raw[: int(arg * (len(raw) - 1))]
        elif kind == "garbage":
            raw = arg
        elif kind == "insert":
            at, piece = arg
            cut = int(at * len(raw))
            raw = raw[:cut] + piece + raw[cut:]
        else:
            raw = arg
        (folder / "config.json").write_bytes(raw)
        check_record(folder, "record: config.json bytes")


CELLS = st.one_of(
    st.sampled_from(["nan", "NaN", "inf", "-Infinity", "1e999", "9" * 5000, "", " ", "0x10",
                     "1_000", "<b>1</b>", "\"", "\"a,b\"", "a\nb", "٣", "\x00", "\u2028",
                     "x" * 200_000]),
    st.text(max_size=10), st.floats(allow_nan=True).map(repr), st.integers().map(str),
)


@given(
    edit=st.one_of(
        st.tuples(st.just("cell"), st.tuples(st.integers(0, 2), st.integers(0, 7), CELLS)),
        st.tuples(st.just("truncate"), st.floats(0, 1)),
        st.tuples(st.just("extra fields"), st.integers(1, 3)),
        st.tuples(st.just("bytes"), st.binary(max_size=40)),
        st.tuples(st.just("header"), st.lists(st.sampled_from(
            ["step", "", "step", "loss", "<b>", "\ufeffstep", "a b"]), max_size=5)),
        st.tuples(st.just("rows"), st.integers(0, 3000)),
    ),
)
@fuzz(40)
def test_metrics_csv_tampered(base_record, bounded_replay, edit):
    kind, arg = edit
    with scratch() as tmp:
        folder = copy_record(base_record, tmp)
        path = folder / "metrics.csv"
        lines = path.read_text().splitlines()
        if kind == "cell":
            row, column, text = arg
            fields = lines[row].split(",")
            fields[column % len(fields)] = text
            lines[row] = ",".join(fields)
            raw = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
        elif kind == "truncate":
            whole = path.read_bytes()
            raw = whole[: int(arg * len(whole))]
        elif kind == "extra fields":
            raw = ("\n".join(lines[:2] + [lines[2] + ",1" * arg]) + "\n").encode()
        elif kind == "bytes":
            raw = path.read_bytes() + arg
        elif kind == "header":
            raw = ("\n".join([",".join(arg)] + lines[1:]) + "\n").encode()
        else:
            raw = ("\n".join(lines[:1] + [lines[1]] * arg) + "\n").encode()
        path.write_bytes(raw)
        readable = check_record(folder, "record: metrics.csv", replay=kind != "rows")
        if readable:
            rows = read_record(folder).metrics
            assert all(None not in row and None not in row.values() for row in rows)


def npy_header(shape, descr="<f8") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False,
                                               "shape": shape})
    return buf.getvalue()


def write_zip(path: Path, members: dict, compress=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compress) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


class Payload:
    """Unpickling this would be code execution: the state loader must never do it."""

    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


STATE_CASES = st.one_of(
    st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)),
                                        min_size=1, max_size=4)),
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(st.just("bytes"), st.binary(max_size=200)),
    st.tuples(st.just("huge header"), st.tuples(
        st.lists(st.integers(0, 2**40), min_size=1, max_size=3),
        st.sampled_from(["<f8", "|u1", "<c16", "|V100"]))),
    st.tuples(st.just("object array"), st.sampled_from(["list", "dict", "payload", "structured"])),
    st.tuples(st.just("bomb"), st.integers(1_000_001, 3_000_000)),
    st.tuples(st.just("prefixed"), st.sampled_from(["npy", "pickle"])),
    st.tuples(st.just("members"), st.lists(st.tuples(
        st.sampled_from(["W_.npy", "W_", "../x.npy", "a/b.npy", "\u0663.npy", "<b>.npy", "x.npy"]),
        st.binary(max_size=40)), max_size=3)),
    st.tuples(st.just("broken header"), st.sampled_from([
        b"\x93NUMPY\x01\x00\x10\x00{'descr': 'O'}   ", b"\x93NUMPY\x09\x00",
        b"\x93NUMPY\x01\x00\xff\xff", b"\x93NUMPY\x01\x00\x20\x00" + b"__import__('os')" * 2,
        b"\x93NUMPY\x02\x00" + b"\xff" * 4])),
    st.tuples(st.just("arrays"), st.sampled_from(["0-d", "empty", "strings", "bool", "nan"])),
)


@given(case=STATE_CASES)
@fuzz(70)
def test_state_npz_tampered(base_record, bounded_replay, monkeypatch, case):
    import snnlab.record

    kind, arg = case
    with scratch() as tmp:
        folder = copy_record(base_record, tmp)
        path = folder / "state.npz"
        whole = path.read_bytes()
        if kind == "flip":
            raw = bytearray(whole)
            for at, mask in arg:
                raw[int(at * (len(raw) - 1))] ^= mask
            path.write_bytes(bytes(raw))
        elif kind == "truncate":
            path.write_bytes(whole[: int(arg * len(whole))])
        elif kind == "bytes":
            path.write_bytes(arg)
        elif kind == "huge header":
            shape, descr = arg
            write_zip(path, {"W_.npy": npy_header(tuple(shape), descr) + b"\0" * 16})
        elif kind == "object array":
            value = {"list": np.array([[1, 2], [3]], dtype=object),
                     "dict": np.array([{"a": 1}], dtype=object),
                     "payload": np.array([Payload()], dtype=object),
                     "structured": np.zeros(2, dtype=[("a", "<f8"), ("b", object)])}[arg]
            np.savez(path, W_=value)
        elif kind == "bomb":
            # a compressed bomb: a few kB that would expand to MBs; the 2 GiB limit is
            # lowered to 1 MB rather than writing gigabytes
            np.savez_compressed(path, W_=np.zeros(arg, dtype=np.uint8))
            assert path.stat().st_size < 50_000
            monkeypatch.setattr(snnlab.record.check_archive, "__defaults__", (1_000_000,))
        elif kind == "prefixed":
            buf = io.BytesIO()
            if arg == "npy":
                np.save(buf, np.arange(3))
            else:
                buf.write(pickle.dumps(Payload()))
            path.write_bytes(buf.getvalue() + whole)  # zipfile still finds the archive at the end
        elif kind == "members":
            write_zip(path, dict(arg))
        elif kind == "broken header":
            write_zip(path, {"W_.npy": arg})
        else:
            value = {"0-d": np.float64(3), "empty": np.zeros((0, 5)),
                     "strings": np.array(["<b>", "٣"]), "bool": np.ones(3, bool),
                     "nan": np.full(3, np.nan)}[arg]
            np.savez(path, W_=value)
        readable = check_record(folder, "record: state.npz", replay=kind in ("arrays", "members"))
        assert not (readable and kind in ("object array", "bomb", "prefixed", "broken header",
                                          "bytes"))
        if kind == "huge header" and readable:  # only a header that asks for what is there
            assert np.prod(arg[0]) * np.dtype(arg[1]).itemsize <= 16
        if kind == "object array":
            with pytest.raises(ValueError, match="holds Python objects"):
                read_record(folder)
        if kind == "bomb":
            with pytest.raises(ValueError, match=f"would expand to {arg + 128:,} bytes"):
                read_record(folder)


@pytest.mark.parametrize("name", ["config.json", "metrics.csv", "state.npz"])
@pytest.mark.parametrize("how", ["missing", "folder", "empty", "link to nowhere"])
def test_missing_or_unreadable_files(base_record, tmp_path, bounded_replay, name, how):
    folder = copy_record(base_record, tmp_path)
    target = folder / name
    target.unlink()
    if how == "folder":
        target.mkdir()
    elif how == "empty":
        target.write_bytes(b"")
    elif how == "link to nowhere":
        target.symlink_to(tmp_path / "nowhere")
    readable = check_record(folder, "record: missing file")
    # an empty metrics.csv is a run that never evaluated; anything else is refused
    assert readable == (how == "empty" and name == "metrics.csv")
    if not readable and how != "empty":
        with pytest.raises(FileNotFoundError, match=f"has no {name}"):
            read_record(folder)


BAD_ROWS = st.one_of(
    st.tuples(st.just("config"), st.tuples(st.sampled_from(BASE_CONFIG_PATHS), VALUES_AND_SHAPES)),
    st.tuples(st.sampled_from(["config text", "final", "metrics", "versions"]),
              st.one_of(st.sampled_from(["", "null", "[]", "{}", "NaN", "[" * 5000 + "]" * 5000,
                                         "{\"a\": " * 3000, "\"x\"", "<b>", "[[1]]", "9" * 5000]),
                        st.text(max_size=20))),
    st.tuples(st.sampled_from(["seed", "kind", "created", "learner"]),
              st.one_of(st.none(), st.text(max_size=8), st.integers(), st.floats())),
)


@given(bad=BAD_ROWS)
@fuzz(25)
def test_a_bad_index_row_among_good_ones_is_reported_and_skipped(base_record, bad):
    """Good records are indexed with `runs add`; a tampered folder is refused; and a row put
    in the index behind its back (an older version, a hand edit) is skipped with a report."""
    TRIED["index: bad row among good ones"] += 1
    kind, value = bad
    with scratch() as tmp, snnlab_home(tmp / "home"):
        goods = [copy_record(base_record, tmp / f"good{i}") for i in range(2)]
        tampered = copy_record(base_record, tmp / "tampered")
        (tampered / "config.json").write_text('{"learner": "<b>x</b>", "task": [1]}')
        ids = []
        for folder in (goods[0], tampered, goods[1]):
            code, out, err = cli(["runs", "add", str(folder)])
            if folder is tampered:
                assert_clear_failure(code, err, "runs", names=str(tampered))
            else:
                assert code == 0, err
                ids.append(out.strip())
        index = RunIndex()
        with sqlite3.connect(index.path) as db:
            row = list(db.execute("SELECT * FROM runs WHERE id = ?", (ids[0],)).fetchone())
            row[0], row[1] = "badrow", str(tmp / "bad")
            if kind == "config":
                path, replacement = value
                config = json.loads(row[6])
                parent = config
                for key in path[:-1]:
                    parent = parent[key]
                parent[path[-1]] = replacement
                row[6] = json.dumps(config)
            else:
                column = {"config text": 6, "final": 8, "metrics": 9, "versions": 7, "seed": 4,
                          "kind": 5, "created": 14, "learner": 2}[kind]
                row[column] = value
            db.execute("INSERT INTO runs VALUES (" + ",".join("?" * len(row)) + ")", row)
        listed = [e.id for e in index.query()]
        assert set(ids) <= set(listed) <= {*ids, "badrow"}  # the good ones, always
        assert ("badrow" in listed) != bool(index.skipped)  # the bad one listed or reported
        code, out, err = cli(["runs", "list", "--json"])
        assert code == 0 and "Traceback" not in err
        assert set(ids) <= {json.loads(line)["id"] for line in out.splitlines()}
        if "badrow" not in listed:
            assert err.startswith("snnlab runs: skipped badrow: ") and len(err.splitlines()) == 1
        for argv in (["runs", "list"], ["runs", "list", "--where", "lr>=0.5"],
                     ["runs", "list", "--where", "test_accuracy=0..1"]):
            code, out, err = cli(argv)
            assert code == 0 and all(i in out for i in ids) and "Traceback" not in err
        code, out, err = cli(["runs", "show", "badrow"])
        if "badrow" in listed:
            assert code == 0 and json.loads(out)["id"] == "badrow"
        else:
            assert_clear_failure(code, err, "runs", names="run badrow is not usable")


# -- N-MNIST event files ----------------------------------------------------------------------

def reference_decode(raw: bytes) -> list[tuple[int, int, int, int, int]]:
    """``(x, y, t, p, byte offset)`` per event, read one record at a time as the format says."""
    events, overflow = [], 0
    for offset in range(0, len(raw) - len(raw) % 5, 5):
        x, y, b2, b3, b4 = raw[offset:offset + 5]
        if y == 240:
            overflow += 2**13
            continue
        events.append((x, y, ((b2 & 0x7F) << 16 | b3 << 8 | b4) + overflow, b2 >> 7, offset))
    return events


def check_recording(path: Path, raw: bytes, category: str):
    """``read_events`` on ``raw`` against :func:`reference_decode`: the same events (sorted by
    time) or the error the reference predicts, naming the file and the byte where one is."""
    TRIED[category] += 1
    path.write_bytes(raw)
    reference = reference_decode(raw)
    try:
        events = read_events(path)
    except EventFileError as err:
        message = str(err)
        assert str(path) in message and "\n" not in message, message
        if len(raw) % 5:
            assert f"is truncated: {len(raw)} bytes" in message
        elif not reference:
            assert "holds no events" in message
        elif any(x >= 34 or y >= 34 for x, y, *_ in reference):
            first = next(e for e in reference if e[0] >= 34 or e[1] >= 34)
            assert "outside the 34x34 sensor" in message and f"byte {first[4]};" in message
        else:
            t = np.array([e[2] for e in reference])
            i = int(np.argmin(np.diff(t))) + 1
            assert np.diff(t).min() < -1000, message
            assert f"at event {i}, byte {reference[i][4]} " in message, message
        return None
    assert len(raw) % 5 == 0 and reference
    assert all(x < 34 and y < 34 for x, y, *_ in reference)
    t = np.array([e[2] for e in reference])
    assert len(t) < 2 or np.diff(t).min() >= -1000
    expected = sorted(reference, key=lambda e: e[2])  # stable: ties keep file order
    assert events.dtype.names == ("x", "y", "t", "p")
    assert [tuple(int(v) for v in e) for e in events] == [e[:4] for e in expected]
    return events


RECORDS = st.one_of(
    st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(0, 2**24 - 1)).map(
        lambda e: bytes([e[0], e[1], e[2] >> 16, (e[2] >> 8) & 0xFF, e[2] & 0xFF])),
    st.tuples(st.integers(0, 255), st.integers(0, 255)).map(
        lambda e: bytes([e[0], 240, e[1], 0, 0])),  # overflow markers, any other bits
    st.binary(min_size=5, max_size=5),
)


@given(raw=st.one_of(st.binary(max_size=64), st.lists(RECORDS, max_size=12).map(b"".join),
                     st.tuples(st.lists(RECORDS, max_size=8).map(b"".join),
                               st.binary(min_size=1, max_size=4)).map(b"".join)))
@fuzz(200)
def test_random_and_truncated_bytes(tmp_path, raw):
    check_recording(tmp_path / "rec.bin", raw, "events: random/truncated bytes")


@given(
    steps=st.lists(st.one_of(st.integers(0, 3000), st.integers(-1500, 0),
                             st.sampled_from([-1000, -1001, -(2**23) + 5])), min_size=1,
                   max_size=30),
    markers=st.lists(st.integers(0, 30), max_size=6),
    start=st.integers(0, 2**23 - 1),
)
@fuzz(150)
def test_timestamps_backwards_wrapped_and_overflow_markers(tmp_path, steps, markers, start):
    """Timestamps that step back (a little: sorted; a lot: refused), wrap past 2**23 without a
    marker (a large step back) or carry on after overflow markers (2**13 µs each)."""
    t = np.cumsum([start, *steps]) % 2**23  # the 23-bit field wraps
    rng = np.random.default_rng(len(steps))
    events = make_events(rng.integers(0, 34, len(t)), rng.integers(0, 34, len(t)), t,
                         rng.integers(0, 2, len(t)))
    records = [encode_events(events[i:i + 1]) for i in range(len(events))]
    for at in sorted(markers, reverse=True):
        records.insert(min(at, len(records)), bytes([0, 240, 0, 0, 0]))
    check_recording(tmp_path / "stamps.bin", b"".join(records), "events: timestamps/markers")


def test_decode_events_refuses_a_partial_event():
    TRIED["events: random/truncated bytes"] += 1
    with pytest.raises(EventFileError, match="7 bytes is not a multiple of 5"):
        decode_events(bytes(7))


GOOD_LABELS = ["0", "3", "7", "12", "999999"]
BAD_LABELS = ["\u0663", "007", "00", "03", "99999999999999999999", "1000000", "<b>3</b>", "3 ",
              " 3", "+3", "-3", "3.0", "3e0", "\u00b2", "\u2460", "\uff13", "three", "3\n",
              "0x3", "\u0663\u0663", "&#51;", "$(echo 3)", "*"]


def fs_name(text: str) -> bool:
    return text not in ("", ".", "..") and "/" not in text and "\0" not in text and len(
        os.fsencode(text)) <= 200


NAMES = st.one_of(st.sampled_from(GOOD_LABELS), st.sampled_from(BAD_LABELS),
                  st.text(max_size=8).filter(fs_name),
                  st.binary(min_size=1, max_size=6).map(os.fsdecode).filter(fs_name))


@given(names=st.lists(NAMES, min_size=1, max_size=5, unique=True))
@fuzz(60)
def test_label_folder_names(tmp_path, names):
    """Label folders are ASCII decimal without leading zeros; any other name is refused, so a
    '٣' or '007' folder never merges with the label 3 or 7."""
    TRIED["events: label folder names"] += 1
    with scratch() as root:
        for i, name in enumerate(names):
            (root / "train" / name).mkdir(parents=True)
            (root / "train" / name / f"{i}.bin").write_bytes(encode_events(make_events(
                [1], [2], [i], [1])))
        (root / "test" / "3").mkdir(parents=True)
        (root / "test" / "3" / "9.bin").write_bytes(encode_events(make_events([1], [1], [0], [0])))
        bad = sorted(n for n in names if not LABEL.fullmatch(n))
        try:
            folder = EventFolder(root)
        except EventFileError as err:
            message = str(err)
            assert bad, message
            assert str(root / "train") in message and "not plain decimal labels" in message
            assert any(repr(n[:20]) in message for n in bad)
            return
        assert not bad
        assert all(n.isascii() and n.isdigit() and str(int(n)) == n for n in names)
        by_label = {r.label: r.path.parent.name for r in folder.recordings["train"]}
        assert by_label == {int(n): n for n in names}  # one folder per label, none merged
        assert set(folder.labels) == {int(n) for n in names} | {3}


STEMS = st.one_of(
    st.sampled_from(["1", "007", "7", "99999999999999999999", "\u0663", "\u00b2", "\u2460",
                     "<b>1</b>", "a b", " 1", "1 ", ".hidden", "x.bin", "-1", "1e3", "\u202e"]),
    st.text(max_size=8), st.binary(min_size=1, max_size=6).map(os.fsdecode),
)
SUFFIXES = st.sampled_from([".bin", ".BIN", ".Bin", ".bIN", ".bin.txt", ".txt", "", ".bin ",
                            ".bi", ".bin~"])


@given(files=st.lists(st.tuples(STEMS, SUFFIXES).map("".join).filter(fs_name), min_size=1,
                      max_size=6, unique=True),
       as_folder=st.booleans())
@fuzz(60)
def test_odd_file_names_and_extensions(tmp_path, files, as_folder):
    """Any file whose extension is .bin in any case is a recording, whatever its name; ids
    sort (ASCII numbers first, in number order) and every recording loads."""
    TRIED["events: file names and extensions"] += 1
    with scratch() as root:
        label = root / "train" / "5"
        label.mkdir(parents=True)
        for i, name in enumerate(files):
            if as_folder and i == 0:
                (label / name).mkdir()  # a folder named like a recording is not one
            else:
                (label / name).write_bytes(encode_events(make_events([i], [i], [i], [0])))
        (root / "test" / "5").mkdir(parents=True)
        (root / "test" / "5" / "0.bin").write_bytes(encode_events(make_events([1], [1], [0], [0])))
        expected = sorted(n for i, n in enumerate(files) if n.lower().endswith(".bin")
                          and Path(n).suffix and not (as_folder and i == 0))
        try:
            folder = EventFolder(root)
        except EventFileError as err:
            assert not expected and "train holds no .bin recordings" in str(err)
            return
        listed = folder.recordings["train"]
        assert sorted(r.path.name for r in listed) == expected
        numeric = [int(r.id) for r in listed if r.id.isascii() and r.id.isdigit()]
        assert numeric == sorted(numeric)
        assert [r.id.isascii() and r.id.isdigit() for r in listed] == sorted(
            (r.id.isascii() and r.id.isdigit() for r in listed), reverse=True)
        x, y, _ = folder.load("train", FrameSpec(n_steps=2, duration_us=100))
        assert x.shape == (len(expected), 2, 2312) and set(y.tolist()) == {5}
        assert folder.select("train", max_n=1)[0].path.name in expected


@pytest.mark.parametrize("value", ["3", 3.0, True, -1, [1], None])
def test_select_refuses_a_max_n_that_is_no_count(tmp_path, value):
    TRIED["events: task options"] += 1
    for split in ("train", "test"):
        (tmp_path / split / "1").mkdir(parents=True)
        (tmp_path / split / "1" / "1.bin").write_bytes(encode_events(make_events([1], [1], [0],
                                                                                  [0])))
    folder = EventFolder(tmp_path)
    if value is None:
        assert len(folder.select("train", max_n=value)) == 1
    else:
        with pytest.raises(ValueError, match="max_n must be None or a whole number"):
            folder.select("train", max_n=value)
