"""The run browser: filters, overlays, the sweep scatter, sweep progress and "open in lab"."""

import pytest
from browser import ROWS_JS, served, wait_until

from snnlab.record import RunRecord
from snnlab.runs import RunIndex, SweepStatus
from snnlab.ui.runs import ALL, RunBrowser

LRS = (0.01, 0.1, 1.0, 8.0)


def record(learner, lr, seed, task="digits-events"):
    accuracy = 0.5 + 0.05 * LRS.index(lr) + 0.01 * seed
    params = {"lr": lr} if learner == "readout" else {"kappa": lr}
    config = {
        "learner": learner, "task": task, "seed": seed, "params": {**params, "batch_size": 16},
        "hyperparameters": {**params, "batch_size": 16, "seed": seed},
        "task_options": {"max_train": 100, "max_test": 50}, "steps": 3, "epochs": None,
        "eval_every": 1, "task_info": {"kind": "classification"}, "versions": {},
    }
    metrics = [{"step": s, "epoch": s / 10, "loss": 2.0 / s, "test_accuracy": accuracy * s / 3}
               for s in (1, 2, 3)]
    return RunRecord(config=config, metrics=metrics)


@pytest.fixture
def index(tmp_path):
    index = RunIndex(tmp_path / "runs.sqlite")
    for lr in LRS:
        for seed in (0, 1):
            index.add(record("readout", lr, seed), path=tmp_path / "sweep" / f"r{lr}-{seed}",
                      source="sweep", sweep=str(tmp_path / "sweep"))
    index.add(record("gem", 0.1, 0), path=tmp_path / "gem", source="train")
    return index


def ids_of(index, **query):
    return [e.id for e in index.query(**query)]


def test_filters_by_learner_task_sweep_and_parameter_range(index, tmp_path):
    browser = RunBrowser(index=index)
    assert len(browser.filtered()) == 9 and browser.param.learners.objects == ["gem", "readout"]
    browser.learners = ["gem"]
    assert list(browser.filtered()["learner"]) == ["gem"]
    browser.learners = []
    browser.sweep = str(tmp_path / "sweep")
    shown = browser.filtered()
    assert len(shown) == 8 and "lr" in shown and "kappa" not in shown  # columns that vary here
    assert len(browser.table.value) == 8
    browser.set_range("lr", 0.05, 2.0)
    assert sorted(set(browser.filtered()["lr"])) == [0.1, 1.0]
    assert [w.label for w in browser.range_widgets] == ["lr"]
    browser.range_widgets[0].value = (0.0, 8.0)  # the full span clears the filter
    assert "lr" not in browser.ranges and len(browser.filtered()) == 8
    browser.sweep = ALL
    browser.tasks = ["digits-events"]
    assert len(browser.filtered()) == 9


def test_ticked_runs_are_overlaid_and_compared(index):
    browser = RunBrowser(index=index)
    chosen = ids_of(index, learner="readout")[:2] + ids_of(index, learner="gem")
    browser.select(chosen)
    curves = browser.curve_plot()
    assert len(curves) == 3
    assert [list(c.dimension_values("step")) for c in curves] == [[1, 2, 3]] * 3
    browser.curve_metric = "test_accuracy"
    first = index.get(chosen[0])
    values = list(browser.curves.object.values()[0].dimension_values("test_accuracy"))
    assert values == [row["test_accuracy"] for row in first.metrics]
    finals = browser.final_frame()
    assert list(finals["id"]) == chosen
    assert {"lr", "kappa", "test_accuracy", "loss"} <= set(finals.columns)
    assert "batch_size" not in finals  # the same in every ticked run
    browser.table.selection = [0]  # ticking in the table selects too
    assert browser.selected == [browser.table.value["id"][0]]
    browser.learners = ["gem"]  # filtered away: no longer overlaid
    assert browser.selected == []


def test_scatter_plots_a_hyperparameter_against_a_metric(index, tmp_path):
    browser = RunBrowser(index=index)
    browser.sweep = str(tmp_path / "sweep")
    assert (browser.x, browser.y) == ("lr", "test_accuracy")
    scatter = browser.scatter.object
    assert len(scatter) == 8 and sorted(set(scatter.dimension_values("lr"))) == list(LRS)
    assert scatter.opts.get().kwargs["logx"] is True
    browser.set_range("lr", 0.5, 10.0)
    assert len(browser.scatter.object) == 4


def test_new_runs_and_sweep_progress_appear_on_reload(index, tmp_path):
    browser = RunBrowser(index=index)
    index.update_sweep(SweepStatus(id="s", name="demo", total=24, done=5, running=2, failed=1,
                                   metric="test_accuracy", best=0.83, best_run="abc123"))
    index.add(record("readout", 0.1, 7), path=tmp_path / "new")
    browser.reload()
    assert len(browser.filtered()) == 10
    (row,) = browser.progress_rows()
    assert (row["done"], row["running"], row["failed"], row["best"]) == (5, 2, 1, 0.83)
    text, bar = browser.progress[0], browser.progress[1]
    assert "done 5 / running 2 / failed 1 of 24" in text.object and "0.83" in text.object
    assert (bar.value, bar.max) == (6, 24)


def test_open_in_lab_restores_config_and_seed(index):
    browser = RunBrowser(index=index)
    run_id = next(e.id for e in index.query(learner="readout") if e.seed == 1 and e.params["lr"] == 1.0)
    browser.select([run_id])
    lab = browser.open_in_lab()
    try:
        learner = lab.session.learner
        assert (learner.key, learner.seed, learner.lr, learner.batch_size) == ("readout", 1, 1.0, 16)
        assert lab.session.task.name == "digits-events" and len(lab.session.task.train) == 100
        assert browser.lab is lab and len(browser.lab_holder) == 2
    finally:
        lab.close()


@pytest.mark.browser
def test_served_browser_lists_runs_and_overlays_a_ticked_one(index, chromium):
    with served(lambda: RunBrowser(index=index)) as (url, apps):
        page = chromium.new_page()
        page.goto(url)
        assert wait_until(lambda: page.evaluate(ROWS_JS, ["id", "learner", "task"]) == 9)
        browser = apps[0]
        for _ in range(3):  # a click while Tabulator is still laying out a busy page is lost
            page.locator(".tabulator-row input[type=checkbox]").first.click()
            if wait_until(lambda: len(browser.selected) == 1, timeout=10):
                break
        assert len(browser.selected) == 1
        assert wait_until(lambda: page.evaluate(ROWS_JS, ["step", "loss"]) == 3)
        page.close()
