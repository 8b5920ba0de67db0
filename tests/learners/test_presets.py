"""Presets: every declared preset resolves within bounds and names real task options; one
default per learner and task; ``snnlab train`` runs a preset's budget and records its name; the
default preset of each learner learns on its smallest task."""

import json

import numpy as np
import pytest

from snnlab.cli import main
from snnlab.data import load_task, task_names, task_options
from snnlab.learners import learner_class, learner_names
from snnlab.learners.presets import (
    all_presets,
    choose_preset,
    default_preset,
    find_preset,
    presets_of,
)
from snnlab.record import read_record
from snnlab.runner import Runner
from snnlab.training import config_from_preset, run

PRESETS = all_presets()


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: f"{p.learner}/{p.name}")
def test_every_preset_resolves_within_bounds(preset):
    cls = learner_class(preset.learner)
    values = preset.resolved_params()
    assert set(values) == set(preset.params)
    learner = cls(**values)  # param checks the bounds again on construction
    assert all(getattr(learner, k) == v for k, v in values.items())
    assert preset.task in task_names()
    assert preset.task in [t for t in task_names()
                           if load_kind(t) in cls.task_kinds]
    assert set(preset.task_options) <= set(task_options(preset.task)) - {"root"}
    assert (preset.steps or 0) >= 1 or (preset.epochs or 0) >= 1
    assert preset.description and preset.chosen


def load_kind(task: str) -> str:
    from snnlab.data.registry import TASK_KINDS

    return TASK_KINDS[task]


def test_names_are_unique_and_each_task_has_at_most_one_default():
    for learner in learner_names():
        names = [p.name for p in presets_of(learner)]
        assert len(names) == len(set(names)), learner
        for task in {p.task for p in presets_of(learner)}:
            assert sum(p.default for p in presets_of(learner, task)) == 1, (learner, task)


def test_every_learner_has_a_default_preset():
    for learner in learner_names():
        assert any(p.default for p in presets_of(learner)), learner


def test_a_preset_of_another_task_or_an_unknown_name_is_refused():
    with pytest.raises(ValueError, match="no preset 'nope'; its presets: "):
        find_preset("normad", "nope")
    with pytest.raises(ValueError, match="is for task 'spike-xor', not 'spike-pattern'"):
        choose_preset("normad", "spike-pattern", "xor-hidden")
    assert choose_preset("normad", "spike-xor", None).name == "xor-hidden"


def test_config_takes_the_preset_budget_and_overrides_on_top():
    preset = default_preset("normad", "spike-xor")
    config = config_from_preset("normad", "spike-xor", params={"lr": "500", "hidden": "32,32"})
    assert config.preset == preset.name and config.epochs == preset.epochs
    assert config.params["lr"] == 500.0 and config.params["hidden"] == [32, 32]
    assert config.params["hidden_lr_scale"] == preset.params["hidden_lr_scale"]
    assert config_from_preset("normad", "spike-xor", steps=3).steps == 3
    with pytest.raises(ValueError, match="no preset for task 'regression-diabetes'; give"):
        config_from_preset("wp", "regression-diabetes")


def test_train_without_a_budget_runs_the_preset_and_records_it(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--learner", "readout", "--task", "digits-events", "--out", str(out),
                 "--quiet", "--eval-every", "0"]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    preset = default_preset("readout", "digits-events")
    record = read_record(out)
    assert printed["preset"] == record.config["preset"] == preset.name
    assert record.config["epochs"] == preset.epochs
    assert record.config["hyperparameters"]["lr"] == preset.params["lr"]
    assert main(["replay", str(out), "--quiet"]) == 0


def test_list_presets_and_learners_show_defaults_bounds_and_rebuilds(capsys):
    assert main(["list", "presets"]) == 0
    text = capsys.readouterr().out
    for preset in PRESETS:
        assert f"{preset.learner} / {preset.name}" in text
    assert "[default for spike-xor]" in text
    assert main(["list", "learners"]) == 0
    text = capsys.readouterr().out
    assert "* hidden = ()" in text  # NormAD's hidden rebuilds the network
    assert "lr = 8.0  in [0.0, 100.0]" in text
    assert "presets: one-pass (nmnist, default)" in text


# -- the default preset of each learner learns on its smallest task -------------------------
def _losses(learner, task, steps):
    runner = Runner(learner, task, eval_every=0)
    learner.with_arrays = False
    return np.array([runner.advance().scalars["loss"] for _ in range(steps)])


@pytest.mark.parametrize("learner", [n for n in learner_names()
                                     if default_preset(n, "digits-events")])
def test_default_classification_preset_learns_digits_events(learner):
    config = config_from_preset(learner, "digits-events", epochs=1, eval_every=0)
    final = run(config).final()
    assert final["test_accuracy"] >= 0.3  # chance is 0.1


def test_normad_default_preset_solves_xor():
    config = config_from_preset("normad", "spike-xor", eval_every=4)
    final = run(config).final()
    assert final["converged"] == 1.0


@pytest.mark.parametrize("task", ["regression-sine", "pde-heat1d", "pde-poisson1d"])
def test_wp_default_preset_loss_falls(task):
    from snnlab import learners

    config = config_from_preset("wp", task, steps=600, eval_every=0)
    learner = learners.make("wp", seed=0, **config.params)
    losses = _losses(learner, load_task(task, **config.task_options), 600)
    assert losses[-50:].mean() < 0.5 * losses[:50].mean()


# -- memory budget ----------------------------------------------------------------------------
@pytest.fixture
def small_budget():
    from snnlab.learners import memory

    memory.set_budget(64 * 2**20)
    yield memory
    memory.set_budget(None)


@pytest.mark.parametrize("learner, task, params", [
    ("ep", "digits-events", {"hidden": (10000, 10000)}),
    ("gem", "digits-events", {"n_hidden": 4096}),
    ("wp", "regression-sine", {"hidden": (10000, 10000)}),
    ("normad", "spike-xor", {"hidden": (10000, 10000)}),
])
def test_a_build_over_the_memory_budget_is_refused_before_allocating(small_budget, learner,
                                                                     task, params):
    from snnlab import learners

    built = learners.make(learner, **params)
    with pytest.raises(ValueError, match=r"needs about .* more than the 64.0 MB a learner may "
                                         r"take \(--max-memory\)"):
        built.setup(load_task(task))
    assert built.task_ is None


def test_a_link_too_big_for_the_budget_gets_a_notice_and_the_preset(small_budget):
    from snnlab.ui.lab import Lab

    lab = Lab(learner="ep", task="digits-events", params={"hidden": (10000, 10000)})
    try:
        assert "These settings were refused" in lab.notice.object
        assert lab.session.learner.hidden == default_preset("ep", "digits-events").params["hidden"]
    finally:
        lab.close()


def test_max_memory_is_read_with_units(capsys, tmp_path):
    from snnlab.learners.memory import parse_size

    assert parse_size("4G") == 4 * 2**30 and parse_size("512MiB") == 512 * 2**20
    with pytest.raises(ValueError, match="like 4G"):
        parse_size("lots")
    code = main(["train", "--learner", "ep", "--task", "digits-events", "--steps", "1",
                 "--param", "hidden=4000,4000", "--max-memory", "100M", "--out",
                 str(tmp_path / "r"), "--quiet"])
    assert code == 2 and "more than the 100.0 MB" in capsys.readouterr().err
    from snnlab.learners import memory

    memory.set_budget(None)
