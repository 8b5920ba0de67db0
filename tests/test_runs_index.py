"""The run index: where it lives, what a row holds, filters, and that `snnlab train` fills it."""

import json
import sqlite3

import pytest

from snnlab.cli import main
from snnlab.record import RunRecord, write_record
from snnlab.runs import RunIndex, SweepStatus, home, index_run, parse_condition


def record(learner="readout", lr=1.0, seed=0, accuracy=0.5, task="digits-events"):
    config = {
        "learner": learner, "task": task, "seed": seed, "params": {"lr": lr},
        "hyperparameters": {"lr": lr, "l2": 1e-4, "seed": seed}, "steps": 10, "epochs": None,
        "task_info": {"kind": "classification"}, "versions": {"numpy": "2.4"},
    }
    metrics = [{"step": 5, "epoch": 0.5, "loss": 2.0, "test_accuracy": accuracy / 2},
               {"step": 10, "epoch": 1.0, "loss": 1.0, "test_accuracy": accuracy}]
    return RunRecord(config=config, metrics=metrics)


def test_home_follows_snnlab_home_then_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("SNNLAB_HOME", str(tmp_path / "h"))
    assert home() == tmp_path / "h"
    monkeypatch.delenv("SNNLAB_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert home() == tmp_path / "xdg" / "snnlab"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert home() == tmp_path / "user" / ".local" / "share" / "snnlab"


def test_a_row_holds_config_versions_final_metrics_and_path(tmp_path):
    index = RunIndex(tmp_path / "runs.sqlite")
    run_id = index.add(record(accuracy=0.8), path=tmp_path / "run", source="train")
    entry = index.get(run_id[:5])
    assert (entry.learner, entry.task, entry.seed, entry.kind) == ("readout", "digits-events", 0, "classification")
    assert entry.final["test_accuracy"] == 0.8 and entry.final["step"] == 10
    assert len(entry.metrics) == 2 and entry.versions == {"numpy": "2.4"}
    assert entry.path == str((tmp_path / "run").resolve())
    assert entry.headline() == ("test_accuracy", 0.8)
    assert index.get(str(tmp_path / "run")).id == run_id  # a record folder names its run too


def test_indexing_a_folder_again_replaces_its_row(tmp_path):
    index = RunIndex(tmp_path / "runs.sqlite")
    first = index.add(record(accuracy=0.1), path=tmp_path / "run")
    version = index.version()
    second = index.add(record(accuracy=0.9), path=tmp_path / "run")
    assert first == second and len(index.query()) == 1
    assert index.get(first).final["test_accuracy"] == 0.9
    assert index.version() != version
    assert index.add(record(accuracy=0.9)) == index.add(record(accuracy=0.9))  # content-keyed


def test_query_filters_by_name_and_by_parameter_and_metric_ranges(tmp_path):
    index = RunIndex(tmp_path / "runs.sqlite")
    for i, lr in enumerate([0.01, 0.1, 1.0]):
        index.add(record(lr=lr, accuracy=0.3 * (i + 1)), path=tmp_path / f"r{i}")
    index.add(record(learner="gem", lr=0.1), path=tmp_path / "g")
    assert len(index.query(learner="readout")) == 3
    assert len(index.query(learner=["readout", "gem"], task="digits-events")) == 4
    lrs = [e.hyperparameters["lr"] for e in index.query(conditions=[parse_condition("lr=0.05..2")])]
    assert sorted(lrs) == [0.1, 0.1, 1.0]
    good = index.query(learner="readout", conditions=[parse_condition("test_accuracy>=0.5")])
    assert [e.hyperparameters["lr"] for e in good] == [0.1, 1.0]
    assert index.query(conditions=[parse_condition("no_such=1")]) == []


def test_parse_condition_forms():
    assert parse_condition("lr=0.1") == ("lr", 0.1, 0.1)
    assert parse_condition("lr>=0.1") == ("lr", 0.1, None)
    assert parse_condition("lr<=3") == ("lr", None, 3)
    assert parse_condition("lr=0.1..0.3") == ("lr", 0.1, 0.3)
    assert parse_condition("features=counts") == ("features", "counts", "counts")
    with pytest.raises(ValueError, match="NAME=VALUE"):
        parse_condition("lr")


def test_ids_unknown_or_ambiguous_are_clear_errors(tmp_path):
    index = RunIndex(tmp_path / "runs.sqlite")
    for i in range(40):
        index.add(record(seed=i), path=tmp_path / f"r{i}")
    with pytest.raises(ValueError, match="no indexed run"):
        index.get("zzzz")
    with pytest.raises(ValueError, match="ambiguous"):
        index.get("")


def test_failures_and_sweep_progress_are_recorded(tmp_path):
    index = RunIndex(tmp_path / "runs.sqlite")
    run_id = index.add_failure({"learner": "readout", "task": "digits-events", "seed": 1},
                               tmp_path / "t", "RuntimeError: boom", sweep="s")
    entry = index.get(run_id)
    assert (entry.status, entry.error, entry.sweep) == ("failed", "RuntimeError: boom", "s")
    index.update_sweep(SweepStatus(id="s", name="demo", total=5, done=2, running=2, failed=1,
                                   metric="test_accuracy", best=0.7, best_run="abc"))
    (status,) = index.sweeps()
    assert (status.done, status.running, status.failed, status.pending, status.best) == (2, 2, 1, 0, 0.7)


def test_train_indexes_its_record(monkeypatch, tmp_path):
    from snnlab.training import RunConfig, train

    monkeypatch.setenv("SNNLAB_HOME", str(tmp_path / "home"))
    config = RunConfig(learner="readout", task="digits-events", steps=3, eval_every=0,
                       task_options={"max_train": 100, "max_test": 50})
    trained = train(config, tmp_path / "run")
    (entry,) = RunIndex().query()
    assert entry.path == str((tmp_path / "run").resolve()) and entry.source == "train"
    assert entry.final == json.loads(json.dumps(trained.final()))
    assert entry.config["hyperparameters"]["lr"] == 8.0


def test_an_unwritable_index_warns_and_keeps_going(monkeypatch, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("SNNLAB_HOME", str(tmp_path / "file"))
    with pytest.warns(UserWarning, match="not indexed"):
        assert index_run(record()) is None


def test_cli_list_show_compare(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("SNNLAB_HOME", str(tmp_path))
    index = RunIndex()
    ids = [index.add(record(lr=lr, accuracy=a), path=tmp_path / f"r{lr}")
           for lr, a in ((0.1, 0.4), (1.0, 0.9))]
    assert main(["runs", "list", "--where", "lr>=0.5"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:5] == ["id", "learner", "task", "seed", "test_accuracy"]
    assert len(out) == 2 and out[1].startswith(ids[1])
    assert main(["runs", "list"]) == 0
    header = capsys.readouterr().out.splitlines()[0].split()
    assert "lr" in header and "l2" not in header  # only parameters that differ
    assert main(["runs", "show", ids[0][:6]]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["final"]["test_accuracy"] == 0.4 and shown["config"]["params"] == {"lr": 0.1}
    assert main(["runs", "compare", *ids]) == 0
    table = capsys.readouterr().out
    assert "loss" in table and "0.9" in table
    assert main(["runs", "show", "nope"]) == 2
    assert "no indexed run" in capsys.readouterr().err


def test_index_is_plain_sqlite(tmp_path):
    index = RunIndex(tmp_path / "runs.sqlite")
    index.add(record(), path=tmp_path / "r")
    with sqlite3.connect(index.path) as db:
        assert db.execute("SELECT learner, seed FROM runs").fetchall() == [("readout", 0)]


@pytest.mark.parametrize("change, message", [
    ({"params": [1, 2]}, "params: [1, 2] is not of type 'object'"),
    ({"learner": "<b>x</b>"}, "learner: "),
    ({"learner": "nope"}, "'nope' is not a known learner"),
    ({"seed": -1}, "seed: -1 is less than the minimum"),
    ({"steps": 10**12}, "steps: "),
    ({"schedule": [{"step": "a", "params": {}}]}, "schedule/0/step"),
])
def test_a_bad_record_is_refused_and_never_breaks_the_listing(tmp_path, change, message, capsys,
                                                               monkeypatch):
    monkeypatch.setenv("SNNLAB_HOME", str(tmp_path / "home"))
    index = RunIndex()
    good = index.add(record(accuracy=0.8), path=tmp_path / "good")
    bad = record()
    bad.config.update(change)
    with pytest.raises(ValueError, match="is not a valid run record"):
        index.add(bad, path=tmp_path / "bad")
    # an index row written before records were checked (or edited by hand)
    with sqlite3.connect(index.path) as db:
        row = list(db.execute("SELECT * FROM runs WHERE id = ?", (good,)).fetchone())
        row[0], row[1], row[6] = "badrow", str(tmp_path / "bad"), json.dumps(bad.config)
        db.execute("INSERT INTO runs VALUES (" + ",".join("?" * len(row)) + ")", row)
    assert [e.id for e in index.query()] == [good]
    assert index.skipped and index.skipped[0].startswith("badrow: ") and message in index.skipped[0]
    assert main(["runs", "list", "--json"]) == 0
    captured = capsys.readouterr()
    assert [json.loads(line)["id"] for line in captured.out.splitlines()] == [good]
    assert "skipped badrow" in captured.err
    with pytest.raises(ValueError, match="run badrow is not usable"):
        index.get("badrow")


def test_runs_add_reports_a_bad_folder_and_indexes_the_rest(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SNNLAB_HOME", str(tmp_path / "home"))
    folders = []
    for name, accuracy in (("good1", 0.5), ("good2", 0.6)):
        write_record(tmp_path / name, record(accuracy=accuracy))
        folders.append(str(tmp_path / name))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "config.json").write_text('{"learner": [1]')
    assert main(["runs", "add", folders[0], str(tmp_path / "bad"), folders[1]]) == 2
    captured = capsys.readouterr()
    assert len(captured.out.split()) == 2 and "Traceback" not in captured.err
    assert f"(skipped {tmp_path / 'bad'})" in captured.err
    assert len(RunIndex().query()) == 2


def test_runs_json_is_strict_and_ids_are_literal_prefixes(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SNNLAB_HOME", str(tmp_path / "home"))
    index = RunIndex()
    run_id = index.add(record(accuracy=float("nan")), path=tmp_path / "r")
    assert main(["runs", "list", "--json"]) == 0
    line = capsys.readouterr().out.strip()
    assert "NaN" not in line and json.loads(line)["final"]["test_accuracy"] is None
    for pattern in ("%", "_", run_id[:3] + "%"):
        assert main(["runs", "show", pattern]) == 2
        assert "no indexed run" in capsys.readouterr().err
