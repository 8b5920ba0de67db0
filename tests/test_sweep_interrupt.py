"""Ctrl-C on ``snnlab sweep``: out within 5 s with exit code 130 and one line, the finished
trials' records kept, no worker process left behind.

Each test runs the real command in its own process group on two local workers (a dozen trials
of a second or more each) and interrupts it once a trial has finished. The waits for the start
are generous (a loaded 2-core machine); only SIGINT -> exit is held to 5 s.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from snnlab.record import read_record
from snnlab.runs import RunIndex
from snnlab.sweep import expand, is_complete, load_spec

SPEC = """\
learners: [readout]
tasks: {digits-events: {max_train: 200, max_test: 100}}
seeds: 3
steps: 300
eval_every: 0
grid: {lr: [0.5, 1.0, 2.0, 4.0]}
"""
EXIT_LIMIT = 5.0  # the bound, SIGINT -> exit
START_LIMIT = 180.0  # the first trial's end, from the command's start
TIMES = []  # SIGINT -> exit, seconds, printed at the end with -s


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    if TIMES:
        times = sorted(TIMES)
        print(f"\nSIGINT -> exit over {len(times)} runs: min {times[0]:.2f} s, median "
              f"{times[len(times) // 2]:.2f} s, max {times[-1]:.2f} s")


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes in process group ``pgid``, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (name) "
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def start(tmp_path: Path):
    """``snnlab sweep`` on :data:`SPEC` as a new process group; (process, out, stderr file)."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    err = open(tmp_path / "stderr.txt", "w+")  # noqa: SIM115 (closed by the test)
    env = {**os.environ, "SNNLAB_HOME": str(tmp_path / "home"), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "snnlab.cli", "sweep", str(spec), "--workers", "2", "--out",
         str(out), "--quiet"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True,
    )
    return proc, out, err


def wait_for(condition, proc, err, limit: float) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if proc.poll() is not None:
            err.seek(0)
            pytest.fail(f"snnlab sweep ended early ({proc.returncode}): {err.read()}")
        if time.monotonic() > deadline:
            pytest.fail(f"not ready within {limit} s")
        time.sleep(0.05)


def interrupt(proc, target: str) -> float:
    """Ctrl-C as a terminal sends it (the whole group) or to the sweep alone; seconds to exit."""
    sent = time.monotonic()
    if target == "group":
        os.killpg(proc.pid, signal.SIGINT)
    else:
        os.kill(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=60)  # a hang fails below, by the time, and is killed in cleanup
    except subprocess.TimeoutExpired:
        pass
    return time.monotonic() - sent


def assert_no_survivors(pgid: int) -> None:
    """Every process of the sweep's group ends (the resource tracker follows within moments)."""
    deadline = time.monotonic() + 5
    while group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert group_members(pgid) == [], "processes of the sweep outlived it"


def cleanup(proc) -> None:
    for pid in group_members(proc.pid):
        os.kill(pid, signal.SIGKILL)
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups in /proc")
@pytest.mark.parametrize("target", ["group", "process"])
def test_ctrl_c_leaves_within_5_s_keeping_finished_trials(tmp_path, target):
    proc, out, err = start(tmp_path)
    try:
        wait_for(lambda: any(out.glob("*/done")), proc, err, START_LIMIT)
        before = {p.parent.name: p.read_text() for p in out.glob("*/done")}
        seconds = interrupt(proc, target)
        TIMES.append(seconds)
        err.seek(0)
        stderr = err.read()
        assert proc.returncode == 130, stderr
        assert seconds < EXIT_LIMIT, f"{seconds:.2f} s from SIGINT to exit"
        assert "Traceback" not in stderr and "ERROR" not in stderr, stderr
        lines = stderr.splitlines()
        assert lines == [(f"snnlab sweep: interrupted; finished trials are kept in "
                          f"{out.resolve()}, run the same command to resume")], stderr
        assert_no_survivors(proc.pid)

        trials = {t.id: t for t in expand(load_spec(tmp_path / "spec.yaml"))}
        done = {p.parent.name: p.read_text() for p in out.glob("*/done")}
        assert before.items() <= done.items() and 1 <= len(done) < len(trials)
        for trial_id in done:
            assert is_complete(out / trial_id)
            record = read_record(out / trial_id)
            config = trials[trial_id].config
            assert (record.config["learner"], record.config["seed"]) == (config.learner,
                                                                         config.seed)
            assert record.final()["test_accuracy"] > 0
        index = RunIndex(tmp_path / "home" / "runs.sqlite")
        entries = index.query(sweep=str(out.resolve()))
        assert {Path(e.path).name for e in entries} == set(done)
        (status,) = index.sweeps()
        assert (status.state, status.done, status.running) == ("interrupted", len(done), 0)
    finally:
        cleanup(proc)
        err.close()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups in /proc")
def test_ctrl_c_while_the_workers_start_leaves_none_behind(tmp_path):
    """A Ctrl-C while the local cluster starts waits for the start, then stops every worker."""
    proc, out, err = start(tmp_path)
    try:
        # the sweep, the resource tracker and a first worker: the cluster is starting
        wait_for(lambda: len(group_members(proc.pid)) >= 3, proc, err, START_LIMIT)
        seconds = interrupt(proc, "group")
        err.seek(0)
        stderr = err.read()
        assert proc.returncode == 130, stderr
        assert seconds < 30, f"{seconds:.2f} s from SIGINT to exit"  # the rest of the start
        assert "Traceback" not in stderr and stderr.splitlines()[-1].startswith(
            "snnlab sweep: interrupted"), stderr
        assert_no_survivors(proc.pid)
    finally:
        cleanup(proc)
        err.close()


def test_distributeds_interrupted_sync_callback_is_not_a_traceback():
    import logging
    import sys

    from snnlab.sweep import _InterruptedSyncFilter

    def record_of(message, error):
        record = logging.LogRecord("tornado.application", logging.ERROR, __file__, 1, message,
                                   (), None)
        try:
            raise error
        except type(error):
            record.exc_info = sys.exc_info()
        return record

    dask_bug = record_of("Exception in callback functools.partial(<function sync.<locals>."
                         "cancel at 0x7f>)", NameError("cannot access free variable 'future'"))
    other = record_of("Exception in callback functools.partial(<function other>)",
                      NameError("a real bug"))
    assert _InterruptedSyncFilter().filter(dask_bug) is False
    assert _InterruptedSyncFilter().filter(other) is True
