"""The learner contract, proved by a fifth learner that only the tests know
(``tests/spiking_perceptron``): its package and its name in ``SNNLAB_LEARNERS`` are all it
takes to be listed, trained and replayed from the CLI, swept, and run by the contract suite
(which is parametrised over every registered learner). The lab half is in
``tests/ui/test_fifth_learner_browser.py``."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from snnlab.learners import learner_names, learner_spec, registry
from snnlab.learners.spec import LearnerSpec
from snnlab.record import read_record
from snnlab.runs import RunIndex
from snnlab.sweep import parse_spec, run_sweep

ROOT = Path(__file__).resolve().parents[1]


def snnlab_cli(*args, cwd, **environment):
    """The installed command in a new process (which finds the learner the way a user's
    shell would: through the environment, here with ``environment`` on top)."""
    command = Path(sys.executable).parent / "snnlab"
    return subprocess.run([str(command), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, **environment}, check=False)


def test_snnlab_itself_never_names_the_fifth_learner():
    """No code or setting outside tests/ names it (architecture.md describes it, as prose)."""
    assert "perceptron" in learner_names()
    code = [*(ROOT / "snnlab").rglob("*.py"), *(ROOT / "benchmarks").rglob("*.py"),
            *(ROOT / "apps").rglob("*.py"), ROOT / "pyproject.toml"]
    mentions = [str(p.relative_to(ROOT)) for p in code
                if "perceptron" in p.read_text(errors="replace").lower()]
    assert mentions == []


def test_it_is_listed_with_its_parameters_and_presets(tmp_path):
    learners = snnlab_cli("list", "learners", cwd=tmp_path)
    assert learners.returncode == 0, learners.stderr
    block = learners.stdout.split("perceptron (", 1)[1].split("\n\n")[0]
    assert "* init_scale = 0.05" in block and "margin = 2" in block
    assert "presets: sample-one-pass (digits-events, default)" in block
    presets = snnlab_cli("list", "presets", cwd=tmp_path)
    assert presets.returncode == 0 and "perceptron" in presets.stdout


def test_it_trains_from_the_cli_and_the_run_replays(tmp_path):
    out = tmp_path / "run"
    trained = snnlab_cli("train", "--learner", "perceptron", "--task", "digits-events",
                         "--out", str(out), cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["learner"] == "perceptron" and config["preset"] == "sample-one-pass"
    assert config["hyperparameters"]["lr"] == 0.03  # the default preset's
    assert read_record(out).final()["test_accuracy"] > 0.3  # chance is 0.1
    replayed = snnlab_cli("replay", str(out), cwd=tmp_path)
    assert replayed.returncode == 0 and replayed.stdout.startswith("reproduced"), replayed.stdout


def test_a_sweep_runs_it_on_worker_processes(tmp_path):
    spec = parse_spec({"learners": ["perceptron", "readout"],
                       "tasks": {"digits-events": {"max_train": 40, "max_test": 20}},
                       "seeds": [0, 1], "steps": 3, "eval_every": 0})
    index = RunIndex(tmp_path / "runs.sqlite")
    result = run_sweep(spec, tmp_path / "sweep", workers=2, index=index)
    assert (result.total, result.done, result.failed) == (4, 4, [])
    entries = index.query(learner="perceptron")
    assert {e.seed for e in entries} == {0, 1} and {e.status for e in entries} == {"done"}
    assert all(e.params["lr"] == 0.03 for e in entries)  # each trial starts from the preset


def test_its_spec_is_what_the_rest_of_snnlab_reads():
    spec = learner_spec("perceptron")
    assert spec.learner.key == "perceptron" and spec.presets[0].default
    assert spec.views == ("spiking_perceptron.views:SpikeCountView",)


def test_a_bad_learner_setting_is_one_clear_line(tmp_path):
    listed = snnlab_cli("list", "learners", cwd=tmp_path,
                        SNNLAB_LEARNERS="no_such_learner_package")
    assert listed.returncode == 2 and "Traceback" not in listed.stderr
    assert "no_such_learner_package cannot be imported" in listed.stderr
    # a module without a LEARNER
    listed = snnlab_cli("list", "learners", cwd=tmp_path, SNNLAB_LEARNERS="json")
    assert listed.returncode == 2 and "json has no LEARNER" in listed.stderr


def test_a_spec_must_agree_with_its_class_presets_and_registered_name(monkeypatch):
    spec = learner_spec("perceptron")
    with pytest.raises(ValueError, match="key is 'perceptron'"):
        LearnerSpec(name="other", learner=spec.learner)
    with pytest.raises(ValueError, match="says it is for 'perceptron'"):
        LearnerSpec(name="readout", learner=learner_spec("readout").learner,
                    presets=spec.presets)
    monkeypatch.setitem(registry.LEARNERS, "alias", "spiking_perceptron")
    with pytest.raises(ValueError, match="registered as 'alias'"):
        learner_spec("alias")
