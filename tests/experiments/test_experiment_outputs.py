"""The experiment commands on tiny budgets: they run end to end and write the tables the README
links to (the full runs are `snnlab experiment ...`; their outputs live under docs/results)."""

import csv

import numpy as np

from snnlab.experiments import gem_samples, wp_estimators


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_gem_samples_reports_both_inference_protocols(tmp_path):
    assert gem_samples.main([
        "--task", "digits-events", "--samples", "1,3", "--seeds", "1", "--test-samples", "4",
        "--stops", "", "--out", str(tmp_path),
    ]) == 0
    rows = _rows(tmp_path / "results.csv")
    assert [int(r["K"]) for r in rows] == [1, 3]
    for row in rows:
        for prefix in ("", gem_samples.SAME_K):
            accuracy = float(row[f"{prefix}test_accuracy_mean"])
            loglik = float(row[f"{prefix}test_log_likelihood_mean"])
            ece = float(row[f"{prefix}ece_mean"])
            assert 0.0 <= accuracy <= 1.0 and 0.0 <= ece <= 1.0
            assert np.isfinite(loglik) and loglik < 0.0
    text = (tmp_path / "results.md").read_text()
    assert "the paper's protocol" in text and "4 at inference" in text
    header = next(line for line in text.splitlines() if line.startswith("| K | test accuracy")
                  and "ms / training sample" in line)
    assert "|  |" not in header  # no empty columns without stopping points
    assert (tmp_path / "gem_samples.png").stat().st_size > 0


def test_wp_criteria_record_the_learning_rate_half_life_of_each_run(tmp_path):
    assert wp_estimators.main(["--criteria", "--cpu-minutes", "0.005", "--out", str(tmp_path)]) == 0
    rows = _rows(tmp_path / "criteria.csv")
    half_lives = {r["task"]: int(r["lr_half_life"]) for r in rows}
    expected = {task: params["lr_half_life"] for _, task, _, params, _ in wp_estimators.CRITERIA}
    assert half_lives == expected
    assert all(np.isfinite(float(r["rel_l2"])) for r in rows)
    assert "lr half-life" in (tmp_path / "criteria.md").read_text()
