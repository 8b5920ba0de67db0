"""The command line: train writes a replayable record; bad input exits 2 with one clear line."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from snnlab.cli import main
from snnlab.record import read_record

NMNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "nmnist"


def test_train_writes_a_record_that_replays(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--learner", "readout", "--task", "digits-events", "--steps", "30",
                 "--eval-every", "10", "--seed", "3", "--param", "lr=2", "--out", str(out),
                 "--quiet"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["step"] == 30
    record = read_record(out)
    assert record.config["seed"] == 3 and record.config["preset"] == "twenty-passes"
    assert record.config["params"] == {"lr": 2.0, "batch_size": 8}  # --param over the preset
    assert [row["step"] for row in record.metrics] == [10, 20, 30]
    assert {"loss", "train_accuracy", "test_accuracy", "test_log_likelihood", "ece"} <= set(
        record.metrics[-1])
    with np.load(out / "state.npz", allow_pickle=False) as state:
        assert state["W_"].shape == (10, 2312)
    assert main(["replay", str(out), "--quiet"]) == 0
    assert "reproduced: 3 evaluations" in capsys.readouterr().out


def test_replay_notices_a_tampered_record(tmp_path, capsys):
    out = tmp_path / "run"
    main(["train", "--learner", "readout", "--task", "digits-events", "--steps", "10",
          "--eval-every", "5", "--out", str(out), "--quiet"])
    metrics = (out / "metrics.csv").read_text().splitlines()
    header, first = metrics[0].split(","), metrics[1].split(",")
    first[header.index("test_accuracy")] = "0.987654"
    (out / "metrics.csv").write_text("\n".join([metrics[0], ",".join(first), *metrics[2:]]) + "\n")
    assert main(["replay", str(out), "--quiet"]) == 1
    assert "NOT reproduced" in capsys.readouterr().out


@pytest.mark.skipif(not NMNIST.is_dir(), reason=f"real N-MNIST recordings not found at {NMNIST}")
def test_readout_beats_chance_on_real_nmnist(tmp_path, capsys):
    code = main(["train", "--learner", "readout", "--task", "nmnist", "--data", str(NMNIST),
                 "--steps", "200", "--eval-every", "200", "--out", str(tmp_path), "--quiet"])
    assert code == 0
    final = read_record(tmp_path).final()
    assert final["test_accuracy"] >= 0.6  # chance is 0.1


def test_readout_beats_chance_on_the_sample_data(tmp_path):
    assert main(["train", "--learner", "readout", "--task", "digits-events", "--steps", "200",
                 "--eval-every", "200", "--out", str(tmp_path), "--quiet"]) == 0
    assert read_record(tmp_path).final()["test_accuracy"] >= 0.6


@pytest.mark.parametrize("argv, message", [
    (["train", "--learner", "nope", "--task", "digits-events", "--steps", "1"], "unknown learner 'nope'"),
    (["train", "--learner", "readout", "--task", "nope", "--steps", "1"], "unknown task 'nope'"),
    (["train", "--learner", "readout", "--task", "digits-events", "--steps", "1",
      "--param", "lr=1e9"], "parameter 'lr'"),
    (["train", "--learner", "readout", "--task", "digits-events", "--steps", "1",
      "--param", "lr=nan"], "parameter 'lr'"),
    (["train", "--learner", "readout", "--task", "digits-events", "--steps", "1",
      "--param", "momentum=0.9"], "no parameter 'momentum'"),
    (["train", "--learner", "readout", "--task", "nmnist", "--data", "/no/such/folder",
      "--steps", "1"], "data folder /no/such/folder does not exist"),
    (["train", "--learner", "readout", "--task", "digits-events", "--steps", "0"], "at least 1"),
    (["replay", "/no/such/run"], "does not exist"),
])
def test_bad_arguments_exit_2_with_one_clear_line(argv, message, tmp_path):
    result = subprocess.run([sys.executable, "-m", "snnlab.cli", *argv, "--out", str(tmp_path)]
                            if argv[0] == "train" else [sys.executable, "-m", "snnlab.cli", *argv],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_import_snnlab_does_not_import_panel():
    code = "import sys, snnlab; snnlab.learners.make('readout'); print('panel' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False"


def test_a_record_with_tuple_hyperparameters_replays(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--learner", "ep", "--task", "digits-events", "--steps", "4",
                 "--eval-every", "2", "--param", "hidden=[8]", "--param", "batch_size=8",
                 "--out", str(out), "--quiet"]) == 0
    assert read_record(out).config["params"]["hidden"] == [8]  # JSON keeps it as a list
    assert main(["replay", str(out), "--quiet"]) == 0
    assert "reproduced" in capsys.readouterr().out


def test_out_onto_an_existing_record_is_refused_without_force(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--learner", "readout", "--task", "digits-events", "--steps", "2",
            "--eval-every", "0", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    before = (out / "config.json").read_text()
    assert main([*argv[:5], "--steps", "3", *argv[7:]]) == 2
    assert "already holds a run record" in capsys.readouterr().err
    assert (out / "config.json").read_text() == before
    assert main([*argv[:5], "--steps", "3", *argv[7:], "--force"]) == 0
    assert read_record(out).config["steps"] == 3


def test_without_out_each_run_gets_its_own_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["train", "--learner", "readout", "--task", "digits-events", "--steps", "1",
            "--eval-every", "0", "--quiet"]
    assert main(argv) == 0 and main(argv) == 0
    outs = [json.loads(line)["out"] for line in capsys.readouterr().out.strip().splitlines()]
    assert len(set(outs)) == 2
    assert all(Path(o).parent == tmp_path / "runs" for o in outs)


def test_a_busy_port_says_which_and_how_to_choose_another():
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "snnlab.cli", "lab", "--no-browser",
                                 "--port", str(port)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and "--port" in lines[0]
    assert "Traceback" not in result.stderr


def test_replay_compares_the_final_weights_too(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--learner", "readout", "--task", "digits-events", "--steps", "4",
                 "--eval-every", "2", "--out", str(out), "--quiet"]) == 0
    with np.load(out / "state.npz") as data:
        state = {k: data[k] for k in data.files}
    state["W_"] = state["W_"] + 1e-3  # metrics untouched, weights not what the run reaches
    np.savez(out / "state.npz", **state)
    assert main(["replay", str(out), "--quiet"]) == 1
    assert "NOT reproduced: state W_: the final values differ" in capsys.readouterr().out


def test_a_compressed_bomb_state_is_refused_before_it_expands(tmp_path, capsys, monkeypatch):
    import snnlab.record

    out = tmp_path / "run"
    assert main(["train", "--learner", "readout", "--task", "digits-events", "--steps", "2",
                 "--eval-every", "0", "--out", str(out), "--quiet"]) == 0
    np.savez_compressed(out / "state.npz", W_=np.zeros(20_000_000))  # 160 MB of zeros, ~150 kB
    assert (out / "state.npz").stat().st_size < 1_000_000
    # the default limit is 2 GiB; a smaller one keeps the test's files small
    monkeypatch.setattr(snnlab.record.check_archive, "__defaults__", (100_000_000,))
    assert main(["replay", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "would expand to 160,000,128 bytes, more than the 100,000,000" in err
    (out / "state.npz").write_bytes(b"not a zip")
    assert main(["replay", str(out), "--quiet"]) == 2
    assert "is not a .npz archive" in capsys.readouterr().err


def test_several_live_changes_at_one_step_all_apply_and_replay(tmp_path):
    from snnlab.training import RunConfig, run

    schedule = [{"step": 2, "params": {"lr": 0.5}}, {"step": 2, "params": {"l2": 0.01}},
                {"step": 3, "params": {"lr": 0.25}}]
    config = RunConfig(learner="readout", task="digits-events", steps=5, eval_every=0,
                       schedule=schedule)
    record = run(config)
    assert record.config["hyperparameters"]["l2"] == 0.01  # not dropped by the later lr change
    assert record.config["hyperparameters"]["lr"] == 0.25
    again = run(RunConfig.from_dict(record.config))
    assert all(np.array_equal(record.state[k], again.state[k]) for k in record.state)
