"""Sweeps: spec checks before anything runs, trial expansion, runs on dask, retries, resume.

The cluster tests use tiny readout trials on a subset of the bundled digits-events sample.
"""

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from snnlab import sweep
from snnlab.cli import main
from snnlab.learners.presets import find_preset
from snnlab.runs import RunIndex
from snnlab.sweep import expand, is_complete, load_spec, parse_spec, run_sweep, trial_id

SMALL = {"digits-events": {"max_train": 100, "max_test": 50}}


def small_spec(**changes):
    data = {"learners": ["readout"], "tasks": SMALL, "seeds": [0, 1, 2], "steps": 3,
            "eval_every": 0, "grid": {"lr": [0.5, 1.0, 2.0, 4.0]}}
    data.update(changes)
    return parse_spec(data)


def done_markers(out: Path) -> dict[str, str]:
    return {p.parent.name: p.read_text() for p in out.glob("*/done")}


# -- the spec --------------------------------------------------------------------------------
def test_trials_start_from_presets_with_the_spec_on_top(tmp_path):
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text("learners:\n  normad: {}\n  readout: {preset: none}\n"
                         "tasks: [spike-xor, digits-events]\n"
                         "grid: {}\nparams: {}\n")
    with pytest.raises(ValueError, match="cannot learn task"):
        expand(load_spec(spec_file))
    spec_file.write_text("learners:\n  normad: {preset: xor-one-layer, params: {lr: 5e2}}\n"
                         "tasks: [spike-xor]\nseeds: 2\n")
    trials = expand(load_spec(spec_file))
    preset = find_preset("normad", "xor-one-layer")
    assert len(trials) == 2
    config = trials[0].config
    assert config.preset == "xor-one-layer" and config.epochs == preset.epochs
    assert config.params["lr"] == 500.0  # 5e2 is a number, read by the parameter's type
    spec_file.write_text("learners: [readout]\ntasks: [digits-events]\nsteps: 2\n"
                         "params: {lr: 1:30}\n")
    with pytest.raises(ValueError, match="parameter 'lr' takes a finite number"):
        expand(load_spec(spec_file))  # never YAML's sexagesimal 90
    spec_file.write_text("learners: [readout]\ntasks: [digits-events]\nsteps: 2\n")
    (trial,) = expand(load_spec(spec_file))
    assert trial.config.preset == "twenty-passes" and trial.config.steps == 2
    assert trial.config.params["batch_size"] == 8  # the default preset's



def test_issue_example_expands_to_one_trial_per_combination():
    trials = expand(small_spec(learners=["readout", "ep"], grid={"batch_size": [16, 32]}))
    assert len(trials) == 2 * 2 * 3
    assert len({t.id for t in trials}) == len(trials)
    ep = [t for t in trials if t.config.learner == "ep"]
    assert all(t.config.params["n_threads"] == 1 for t in ep)  # one core per worker
    assert {t.config.seed for t in trials} == {0, 1, 2}
    assert all(t.id == trial_id(t.config) for t in trials)
    assert [t.id for t in trials] == [t.id for t in expand(small_spec(
        learners=["readout", "ep"], grid={"batch_size": [16, 32]}))]  # stable across reads


def test_a_parameter_a_learner_lacks_is_an_error_before_anything_runs():
    with pytest.raises(ValueError, match="'ep' has no parameter 'lr'"):
        expand(small_spec(learners=["readout", "ep"]))
    with pytest.raises(ValueError, match="parameter 'lr'"):
        expand(small_spec(grid={"lr": [-1.0]}))  # out of bounds
    with pytest.raises(ValueError, match="unknown sweep spec key"):
        parse_spec({"learners": ["readout"], "tasks": ["digits-events"], "steps": 1, "gird": {}})
    with pytest.raises(ValueError, match="at most one of 'steps' and 'epochs'"):
        parse_spec({"learners": ["readout"], "tasks": ["digits-events"], "steps": 1,
                    "epochs": 1})
    with pytest.raises(ValueError, match="no preset for task 'regression-diabetes'; give"):
        expand(parse_spec({"learners": ["wp"], "tasks": ["regression-diabetes"]}))
    with pytest.raises(ValueError, match="unknown learner"):
        expand(small_spec(learners=["nope"]))
    with pytest.raises(ValueError, match="has no option"):
        expand(small_spec(tasks={"digits-events": {"bogus": 1}}))
    with pytest.raises(ValueError, match="'seeds' list"):
        small_spec(grid={"seed": [1, 2]})


def test_per_learner_sections_and_random_ranges():
    spec = small_spec(
        learners={"readout": {"grid": {"lr": [1.0, 8.0]}}, "ep": {"params": {"damping": 0.5}}},
        grid={}, seeds=1,
        random={"batch_size": {"low": 8, "high": 64, "integer": True}}, samples=3,
    )
    trials = expand(spec)
    assert len(trials) == 2 * 3 + 3
    sizes = sorted({t.config.params["batch_size"] for t in trials})
    assert len(sizes) == 3 and all(8 <= s <= 64 and isinstance(s, int) for s in sizes)
    assert all(t.config.params["damping"] == 0.5 for t in trials if t.config.learner == "ep")
    with pytest.raises(ValueError, match="needs 'samples'"):
        small_spec(random={"lr": {"low": 0.1, "high": 1.0, "log": True}})
    with pytest.raises(ValueError, match="random 'lr'"):
        small_spec(random={"lr": {"low": 0.0, "high": 1.0, "log": True}}, samples=2)


def test_dry_run_lists_trials_and_bad_specs_exit_2(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text("learners: [readout, ep]\ntasks: [digits-events]\nepochs: 1\ngrid: {lr: [0.1]}\n")
    assert main(["sweep", str(spec)]) == 2
    assert "'ep' has no parameter 'lr'" in capsys.readouterr().err
    spec.write_text("learners: [readout]\ntasks: [digits-events]\nepochs: 1\nseeds: 2\n")
    assert main(["sweep", str(spec), "--dry-run"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


# -- running on dask -------------------------------------------------------------------------
def test_dozen_trials_on_two_local_workers_complete_and_are_indexed(tmp_path):
    index = RunIndex(tmp_path / "runs.sqlite")
    out = tmp_path / "sweep"
    result = run_sweep(small_spec(), out, workers=2, index=index)
    assert (result.total, result.done, result.skipped, result.failed) == (12, 12, 0, [])
    trials = expand(small_spec())
    assert all(is_complete(out / t.id) for t in trials)
    entries = index.query(sweep=str(out.resolve()))
    assert len(entries) == 12 and {e.status for e in entries} == {"done"}
    assert {Path(e.path).name for e in entries} == {t.id for t in trials}
    pids = {json.loads(text)["pid"] for text in done_markers(out).values()}
    assert len(pids) == 2  # both workers ran trials
    (status,) = index.sweeps()
    assert (status.done, status.failed, status.running, status.state) == (12, 0, 0, "finished")
    best = max(e.final["test_accuracy"] for e in entries)
    assert status.best == best == result.best


@pytest.fixture(scope="module")
def cluster():
    import dask
    from distributed import LocalCluster

    with dask.config.set(sweep.LOCAL_SCHEDULER_CONFIG), LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        host="127.0.0.1", env=dict(sweep.WORKER_ENV),
    ) as c:
        yield c


def test_killing_a_worker_loses_no_trial_and_the_sweep_finishes(cluster, tmp_path):
    from distributed import Client

    out = tmp_path / "sweep"
    spec = small_spec(steps=40)
    with Client(cluster.scheduler_address) as client:
        pids = list(client.run(os.getpid).values())
    before = {}

    def kill_after_two_trials():
        deadline = time.monotonic() + 60
        while len(done_markers(out)) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        before.update(done_markers(out))
        os.kill(pids[0], signal.SIGKILL)

    killer = threading.Thread(target=kill_after_two_trials)
    killer.start()
    result = run_sweep(spec, out, scheduler=cluster.scheduler_address,
                       index=RunIndex(tmp_path / "runs.sqlite"))
    killer.join()
    assert 2 <= len(before) < 12
    assert (result.done, result.failed) == (12, [])
    after = done_markers(out)
    assert len(after) == 12
    assert all(after[trial] == marker for trial, marker in before.items())  # never redone
    killed = [json.loads(line) for f in out.glob("*/errors.jsonl") for line in f.read_text().splitlines()]
    assert killed and all("KilledWorker" in e["error"] and e["attempt"] == 1 for e in killed)


def test_resume_skips_complete_trials_and_redoes_incomplete_ones(cluster, tmp_path):
    out = tmp_path / "sweep"
    index = RunIndex(tmp_path / "runs.sqlite")
    spec = small_spec()
    trials = expand(spec)
    first = run_sweep(spec, out, scheduler=cluster.scheduler_address, index=index)
    assert first.done == 12
    markers = done_markers(out)
    redo = [t.id for t in trials[:3]]
    (out / redo[0] / "done").unlink()  # a crash before the marker
    (out / redo[1] / "state.npz").unlink()
    for name in ("done", "config.json", "metrics.csv", "state.npz"):
        (out / redo[2] / name).unlink()
    again = run_sweep(spec, out, scheduler=cluster.scheduler_address, index=index)
    assert (again.skipped, again.done, again.failed) == (9, 12, [])
    now = done_markers(out)
    assert all(now[t] == markers[t] for t in markers if t not in redo)
    assert all(now[t] != markers[t] for t in redo)
    assert len(index.query(sweep=str(out.resolve()))) == 12
    nothing = run_sweep(spec, out, workers=2, index=index)  # all complete: no cluster started
    assert (nothing.skipped, nothing.done) == (12, 12) and nothing.seconds < 5


def test_failed_trials_are_recorded_retried_and_indexed(monkeypatch, tmp_path):
    from distributed import LocalCluster

    spec = small_spec(seeds=[0], grid={"lr": [1.0, 2.0, 4.0]}, retries=2)
    flaky, broken = (t.id for t in expand(spec)[:2])
    real = sweep.run_trial
    log = tmp_path / "attempts.txt"  # the task is pickled: a file counts attempts, not a closure

    def failing(config):
        tid = trial_id(config)
        with open(log, "a") as f:
            f.write(tid + "\n")
        attempt = log.read_text().split().count(tid)
        if tid == broken or (tid == flaky and attempt == 1):
            raise RuntimeError(f"boom {attempt}")
        return real(config)

    monkeypatch.setattr(sweep, "run_trial", failing)
    out = tmp_path / "sweep"
    index = RunIndex(tmp_path / "runs.sqlite")
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=None, protocol="tcp", host="127.0.0.1") as c:
        result = run_sweep(spec, out, scheduler=c.scheduler_address, index=index)
    assert (result.done, result.failed) == (2, [broken])
    calls = log.read_text().split()
    assert calls.count(flaky) == 2 and calls.count(broken) == 3  # retries=2: three attempts
    errors = [json.loads(line) for line in (out / broken / "errors.jsonl").read_text().splitlines()]
    assert [e["attempt"] for e in errors] == [1, 2, 3] and "boom 3" in errors[-1]["error"]
    assert is_complete(out / flaky) and not is_complete(out / broken)
    failed = index.query(status="failed")
    assert len(failed) == 1 and "RuntimeError: boom 3" in failed[0].error
    assert index.sweeps()[0].state == "finished with failures"


def test_missing_data_is_found_before_submission(cluster, tmp_path):
    spec = small_spec(tasks={"nmnist": {"root": str(tmp_path / "absent")}}, seeds=[0],
                      grid={"lr": [1.0]})
    with pytest.raises(ValueError, match="data check failed before submission"):
        run_sweep(spec, tmp_path / "sweep", scheduler=cluster.scheduler_address,
                  index=RunIndex(tmp_path / "runs.sqlite"))
    assert not list((tmp_path / "sweep").glob("*/"))


def test_a_huge_grid_is_refused_before_any_trial_is_built(tmp_path, capsys):
    spec = small_spec(grid={"lr": [0.1 * i for i in range(1, 1001)],
                            "l2": [1e-4 * i for i in range(1, 1001)]})
    assert sweep.count_trials(spec) == 3_000_000
    with pytest.raises(ValueError, match="3,000,000 trials, more than the limit of 10,000"):
        expand(spec)
    assert len(expand(small_spec(), max_trials=12)) == 12
    spec_file = tmp_path / "big.yaml"
    spec_file.write_text("learners: [readout]\ntasks: [digits-events]\nsteps: 1\nseeds: 3\n"
                         "grid: {lr: [1, 2, 3, 4]}\n")
    assert main(["sweep", str(spec_file), "--dry-run", "--max-trials", "5"]) == 2
    assert "12 trials, more than the limit of 5" in capsys.readouterr().err
