"""Malformed sweep specs: each ends in a one-line ``ValueError`` (exit 2 on the command line) or a
valid expansion, never another exception, a traceback, or memory spent on an alias bomb.

Hypothesis runs derandomized (the same cases every run); ``-s`` prints how many were tried.
"""

import json
import os
import resource
import subprocess
import sys
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snnlab import sweep
from snnlab.cli import main
from snnlab.learners import learner_names
from snnlab.sweep import SPEC_KEYS, expand, load_spec

FUZZ = settings(derandomize=True, deadline=None, database=None, max_examples=150,
                suppress_health_check=list(HealthCheck))
MAX_TRIALS = 40  # small: a valid expansion stays quick to build
TRIED = Counter()

LEARNERS = learner_names()
TASKS = ["digits-events", "spike-xor", "regression-sine", "pde-heat1d"]
PARAMS = ["lr", "batch_size", "l2", "features", "average_start", "damping", "n_threads", "hidden",
          "rule", "seed", "name"]
OTHER_KEYS = ["preset", "low", "high", "log", "integer", "choice", "max_train", "max_test",
              "nope", "gird", "Learners"]
# Scalars as written in YAML: YAML 1.1 traps (sexagesimal, dates, hex, octal, underscores,
# yes/no), non-finite and huge numbers, explicit tags, empty and odd text.
TOKENS = [
    "0", "1", "-1", "3", "12", "0.5", "1e-3", "5e2", "-0.0", "1:30", "190:20:30", "2024-01-01",
    "2001-12-14t21:59:43.10-05:00", "0x10", "0o17", "017", "1_000", "0b101", "+12", ".5", "1.",
    ".nan", ".NaN", "nan", ".inf", "-.inf", "inf", "1e400", "-1e400", "1e308", "-1e308",
    "9" * 30, "-" + "9" * 30, "2147483648", "9223372036854775808", "yes", "no", "on", "off", "y",
    "true", "false", "True", "~", "null", "''", '""', "' '", '"\\t"', '"a\\nb"', "x", "none",
    "counts", "hidden-binary", "xor-one-layer", "twenty-passes", "!!timestamp 2001-12-14",
    "!!binary aGVsbG8=", "!!float 1e400", "!!int 0x10", "!!str 1", "!!null ''", "!!set {a: ~}",
    "!!omap [a: 1]", "!!python/object:os.system x", "!nonsense x", "*undefined", "@x", "`x",
    "%x", "[", "}", "{a: 1", "? x", "- x", "a: b: c", "|", ">",
    *LEARNERS, *TASKS, *PARAMS,
]
KEYS = [*SPEC_KEYS, *PARAMS, *OTHER_KEYS, *LEARNERS, *TASKS, "1", "yes", "on", "null", "~",
        "''", "1:30", "2024-01-01", "<<", "? [a]", "[a, b]", "{a: b}", "&k key", "*k"]


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    print(f"\nfuzzed sweep specs: {sum(TRIED.values())} cases, {dict(TRIED)}")


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz") / "spec.yaml"


@contextmanager
def memory_limit(extra: int = 1 << 30):
    """Cap this process's address space a GiB above its size now: a bomb raises MemoryError
    here instead of taking the machine's memory."""
    try:
        with open("/proc/self/status") as f:
            size = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize"))
    except OSError:  # not Linux: no cap
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = size + extra if hard == resource.RLIM_INFINITY else min(size + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def outcome(path: Path, content: str | bytes, max_trials: int = MAX_TRIALS) -> str:
    """Load and expand ``content``: "ok" or "error"; anything but a clear error fails (a
    blow-up too: memory is capped)."""
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    else:
        path.write_bytes(content)
    try:
        with memory_limit():
            trials = expand(load_spec(path), max_trials)
    except (ValueError, FileNotFoundError) as err:
        TRIED["error"] += 1
        message = str(err)
        assert message and "\n" not in message and len(message) < 1000, repr(message[:2000])
        assert type(err) in (ValueError, FileNotFoundError), type(err)
        return "error"
    TRIED["valid"] += 1
    assert 0 < len(trials) <= max_trials
    assert len({t.id for t in trials}) == len(trials)
    for trial in trials:
        json.dumps(trial.config.to_dict(), default=list)  # recordable as sweep.json
    return "ok"


def cli(path: Path, capsys, *extra: str) -> int:
    """``snnlab sweep PATH --dry-run`` in this process: 0 with a listing or 2 with one line."""
    code = main(["sweep", str(path), "--dry-run", "--max-trials", str(MAX_TRIALS), *extra])
    captured = capsys.readouterr()
    if code == 2:
        lines = captured.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("snnlab sweep: error: "), captured.err
    else:
        assert code == 0 and captured.out.count("\n") <= MAX_TRIALS, captured
    return code


# -- strategies ------------------------------------------------------------------------------
def node(depth: int = 2):
    """A flow-style YAML node (text): a token, or a list or mapping of nodes."""
    scalar = st.sampled_from(TOKENS)
    if depth == 0:
        return scalar
    inner = node(depth - 1)
    return st.one_of(
        scalar,
        st.lists(inner, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=4).map(
            lambda d: "{" + ", ".join(f"{k}: {v}" for k, v in d.items()) + "}"),
    )


def flow(value) -> str:
    """A Python value (or a node's text) as flow YAML."""
    if isinstance(value, Node):
        return value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return json.dumps(value)


class Node(str):
    """YAML text to be written as it is."""


def block(spec: dict) -> str:
    return "".join(f"{key}: {flow(value)}\n" for key, value in spec.items())


BASE = {"learners": ["readout"], "tasks": {"digits-events": {"max_train": 60, "max_test": 30}},
        "steps": 1, "seeds": 1}
junk = node().map(Node)
number = st.one_of(st.integers(-10**30, 10**30), st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from(["1e400", "-1e400", ".nan", "1:30", "0x10", "1_000"]).map(Node))


@st.composite
def mutated_specs(draw):
    """A valid spec with some keys given wrong or odd values (type, range, name, shape)."""
    spec = dict(BASE)
    learner = draw(st.sampled_from([*LEARNERS, "nope", ""]))
    section = draw(st.fixed_dictionaries({}, optional={
        "preset": st.one_of(st.sampled_from(["none", "one-pass", "hidden-binary", "nope"]), junk),
        "params": st.dictionaries(st.sampled_from(PARAMS), st.one_of(number, junk), max_size=2),
        "grid": st.dictionaries(st.sampled_from(PARAMS), st.lists(number, max_size=3), max_size=2),
        "bogus": junk,
    }))
    spec["learners"] = draw(st.sampled_from([[learner], {learner: section}, Node(learner)]))
    task = draw(st.sampled_from([*TASKS, "nope"]))
    options = draw(st.dictionaries(st.sampled_from(["max_train", "n_steps", "bogus", "root"]),
                                   st.one_of(number, junk), max_size=2))
    spec["tasks"] = draw(st.sampled_from([{task: options}, [task], Node(task)]))
    for key in draw(st.lists(st.sampled_from(SPEC_KEYS), max_size=4, unique=True)):
        spec[key] = draw(st.one_of(junk, number, st.lists(number, max_size=3)))
    if draw(st.booleans()):
        low, high = draw(number), draw(number)
        spec["random"] = {draw(st.sampled_from(PARAMS)): draw(st.sampled_from([
            {"low": low, "high": high}, {"low": low, "high": high, "log": True},
            {"low": low, "high": high, "integer": draw(st.one_of(st.booleans(), junk))},
            {"choice": draw(st.lists(st.one_of(number, junk), max_size=3))}, {"low": low}]))}
        spec["samples"] = draw(st.one_of(st.integers(-1, 3), junk))
    if draw(st.booleans()):
        spec.pop(draw(st.sampled_from(list(spec))))
    return block(spec)


# -- fuzzing ---------------------------------------------------------------------------------
YAMLISH = st.text(alphabet=st.sampled_from(list("ab01:-[]{},&*!?|>#'\"\n \t.~%@`") + ["\x00",
                                           "\ufeff", "é", "\ud800", "\x85"]), max_size=80)


@FUZZ
@given(content=st.one_of(YAMLISH, st.text(max_size=60), st.binary(max_size=60)))
def test_random_text_and_bytes(spec_file, content):
    outcome(spec_file, content)


@FUZZ
@given(content=st.lists(st.tuples(st.sampled_from(KEYS), junk), max_size=5).map(
    lambda items: "".join(f"{k}: {v}\n" for k, v in items)))
def test_random_keys_and_values(spec_file, content):
    outcome(spec_file, content)


@settings(FUZZ, max_examples=300)
@given(content=mutated_specs())
def test_wrong_types_names_and_bounds(spec_file, content):
    outcome(spec_file, content)


@settings(FUZZ, max_examples=60)
@given(content=mutated_specs())
def test_the_command_line_exits_0_or_2_with_one_line(spec_file, content, capsys):
    spec_file.write_text(content)
    TRIED["cli"] += 1
    cli(spec_file, capsys)


@settings(FUZZ, max_examples=40)
@given(sizes=st.lists(st.integers(1, 60), min_size=1, max_size=4),
       seeds=st.integers(1, 10**6), limit=st.integers(1, 50))
def test_a_grid_over_max_trials_is_refused_before_any_trial_is_built(spec_file, sizes, seeds,
                                                                     limit):
    names = ["lr", "l2", "batch_size", "average_start"]
    grid = {name: list(range(1, n + 1)) for name, n in zip(names, sizes)}
    spec = {**BASE, "seeds": seeds, "grid": grid}
    total = seeds
    for n in sizes:
        total *= n
    if total <= limit:
        return
    spec_file.write_text(block(spec))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sweep, "trial_id", lambda config: pytest.fail("a trial was built"))
        mp.setattr(sweep, "RunConfig", lambda **kw: pytest.fail("a trial was built"))
        with pytest.raises(ValueError, match=f"{total:,} trials, more than the limit of {limit}"):
            expand(load_spec(spec_file), limit)
    TRIED["huge grid"] += 1


# -- fixed traps -----------------------------------------------------------------------------
VALID = "learners: [readout]\ntasks: {digits-events: {max_train: 60, max_test: 30}}\nsteps: 1\n"
TRAPS = {
    "empty file": ("", "a sweep spec is a mapping"),
    "only a comment": ("# nothing\n", "a sweep spec is a mapping"),
    "a list": ("- learners\n", "a sweep spec is a mapping"),
    "bad yaml": ("learners: [readout\n", r"not valid YAML: .*line 2, column 1\)$"),
    "a tab": ("learners:\t[readout]\n", "not valid YAML"),
    "not utf-8": (b"learners: [readout]\nname: \xff\xfe\n", r"not valid YAML: invalid start byte"),
    "a nul byte": (b"learners: [readout]\x00\n", "not valid YAML: special characters"),
    "deep nesting": ("name: " + "[" * 5000 + "]" * 5000 + "\n", "nest"),
    "sexagesimal": (VALID + "params: {lr: 1:30}\n", "parameter 'lr' takes a finite number"),
    "a date": (VALID + "params: {lr: 2024-01-01}\n", "parameter 'lr' takes a finite number"),
    "hex": (VALID + "params: {batch_size: 0x10}\n", "parameter 'batch_size' takes a whole"),
    "underscores": (VALID + "params: {batch_size: 1_000}\n", "'batch_size' takes a whole"),
    "a tagged date": (VALID + "params: {lr: !!timestamp 2024-01-01}\n", "not date"),
    "a date option": (VALID.replace("max_test: 30", "max_test: !!timestamp 2024-01-01"),
                      "not date .* at tasks.digits-events.max_test"),
    "a date choice": (VALID + "random: {lr: {choice: [!!timestamp 2001-12-14]}}\nsamples: 1\n",
                      "not date"),
    "bytes": (VALID + "params: {lr: !!binary aGVsbG8=}\n", "not bytes"),
    "a set": (VALID + "grid: {lr: !!set {a, b}}\n", "not set"),
    "nan": (VALID + "params: {lr: .nan}\n", "takes a finite number"),
    "inf": (VALID + "params: {lr: 1e400}\n", "inf is not a finite number at params.lr"),
    "huge int param": (VALID + "params: {lr: 1" + "0" * 400 + "}\n", "too large at params.lr"),
    "huge int grid": (VALID + "grid: {lr: [1" + "0" * 400 + "]}\n", r"too large at grid.lr\[0\]"),
    "seed count 1e12": (VALID + "seeds: 1000000000000\n", "'seeds' is a non-empty list"),
    "seed count 1e9": (VALID + "seeds: 1000000000\n", "1,000,000,000 trials, more than"),
    "seed 2**31": (VALID + "seeds: [2147483648]\n", "'seeds' is a non-empty list"),
    "seed -1": (VALID + "seeds: [-1]\n", "'seeds' is a non-empty list"),
    "seeds 0": (VALID + "seeds: 0\n", "'seeds' is a non-empty list"),
    "infinite range": (VALID + "random: {batch_size: {low: 1, high: 1e400, integer: true}}\n"
                       "samples: 1\n", "inf is not a finite number"),
    "too wide a range": (VALID + "random: {lr: {low: -1e308, high: 1e308}}\nsamples: 1\n",
                         "random 'lr' is"),
    "reversed range": (VALID + "random: {lr: {low: 2, high: 1}}\nsamples: 1\n", "random 'lr' is"),
    "log from 0": (VALID + "random: {lr: {low: 0, high: 1, log: true}}\nsamples: 1\n",
                   "random 'lr' is"),
    "log: 'no'": (VALID + "random: {lr: {low: 1, high: 2, log: 'no'}}\nsamples: 1\n",
                  "random 'lr' is"),
    "an integer key": (VALID + "1: 2\n", "keys are names .*not 1$"),
    "a boolean key": (VALID.replace("max_train", "on"), "not True at tasks.digits-events .*quote"),
    "a null key": ("learners: {~: {}}\ntasks: [digits-events]\n", "not None at learners"),
    "a learner key": ("learners: {readout: {1: 2}}\ntasks: [digits-events]\n", "not 1 at"),
    "a list name": (VALID + "name: [a]\n", "'name' is text"),
    "a path name": (VALID + "name: ../../elsewhere\n", "'name' names the sweep's folder"),
    "a list metric": (VALID + "metric: [1]\n", "'metric' is text"),
    "unknown learner": ("learners: [nope]\ntasks: [digits-events]\n", "unknown learner 'nope'"),
    "unknown task": ("learners: [readout]\ntasks: [nope]\n", "unknown task 'nope'"),
    "unknown preset": ("learners: {readout: {preset: nope}}\ntasks: [digits-events]\n",
                       "has no preset 'nope'"),
    "unknown parameter": (VALID + "params: {nope: 1}\n", "has no parameter 'nope'"),
    "unknown option": (VALID.replace("max_test", "nope"), "has no option nope"),
    "unknown key": (VALID + "gird: {}\n", "unknown sweep spec key"),
    "an undefined alias": (VALID + "params: *a\n", "not valid YAML: found undefined alias"),
    "a python tag": (VALID + "name: !!python/object/apply:os.system [ls]\n", "not valid YAML"),
}


@pytest.mark.parametrize("name", TRAPS)
def test_traps_end_in_one_clear_line(spec_file, name):
    content, message = TRAPS[name]
    assert outcome(spec_file, content) == "error"
    with pytest.raises(ValueError, match=message), memory_limit():
        expand(load_spec(spec_file), MAX_TRIALS)


def test_traps_that_are_valid(spec_file):
    for content in (VALID + "params: {lr: 5e1}\n", VALID + "params: {batch_size: !!int 0x10}\n",
                    VALID + "seeds: 3\n", VALID + "params: {features: counts}\n"):
        assert outcome(spec_file, content) == "ok", content


def test_a_missing_file_or_a_folder(tmp_path, capsys):
    with pytest.raises(FileNotFoundError):
        load_spec(tmp_path / "absent.yaml")
    with pytest.raises(ValueError, match="is not a file"):
        load_spec(tmp_path)
    assert cli(tmp_path / "absent.yaml", capsys) == 2
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * sweep.MAX_SPEC_BYTES + "\n")
    with pytest.raises(ValueError, match="is over 1,048,576 bytes"):
        load_spec(big)


# -- alias bombs -----------------------------------------------------------------------------
def laughs(levels: int, width: int = 10) -> str:
    """The "billion laughs": each level's list holds ``width`` aliases of the one before."""
    lines = [f"  - &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"  - &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


BOMBS = {
    "in name": VALID + "name:\n" + laughs(9),
    "in a task option": VALID.replace("tasks: {digits-events: {max_train: 60, max_test: 30}}",
                                      "tasks:\n digits-events:\n  max_train:\n" + laughs(9)),
    "in a choice": VALID + "samples: 1\nrandom:\n lr:\n  choice:\n" + laughs(9),
    "in a grid": VALID + "grid:\n lr:\n" + laughs(9),
    "in seeds": VALID + "seeds:\n" + laughs(9),
    "in params": VALID + "params:\n lr:\n" + laughs(9),
    "wide, shallow": VALID + "name:\n" + laughs(3, width=200),
    "recursive list": VALID + "grid: &g {lr: [*g]}\n",
    "recursive mapping": VALID + "params: &p {lr: *p}\n",
    "merge keys": VALID + "params: &p {lr: 1}\ngrid: {<<: *p, l2: [1]}\n",
}


@pytest.mark.parametrize("name", BOMBS)
def test_alias_bombs_are_refused_without_spending_memory(spec_file, name):
    assert outcome(spec_file, BOMBS[name]) == "error"


def test_the_command_line_refuses_a_bomb_and_a_huge_grid_with_exit_2(tmp_path):
    """The real ``snnlab sweep --dry-run``: exit 2, one line, no traceback."""
    cases = {"bomb.yaml": BOMBS["in a task option"],
             "grid.yaml": VALID + "seeds: 1000\ngrid: {lr: [1, 2, 3], l2: [0, 1, 2]}\n",
             "bytes.yaml": b"learners: [\xff]\n", "empty.yaml": ""}
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    script = ("import sys\nfrom snnlab.cli import main\n"
              "for path in sys.argv[1:]:\n"
              "    print(path, main(['sweep', path, '--dry-run', '--max-trials', '100']),"
              " file=sys.stderr)\n")
    done = subprocess.run(
        [sys.executable, "-c", script, *(str(tmp_path / n) for n in cases)],
        capture_output=True, text=True, timeout=120, check=False, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30)),
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 2 * len(cases), done.stderr
    for error, result in zip(lines[::2], lines[1::2]):
        assert error.startswith("snnlab sweep: error: ") and result.endswith(" 2"), done.stderr
    assert "9,000 trials, more than the limit of 100" in done.stderr
    TRIED["cli"] += len(cases)
