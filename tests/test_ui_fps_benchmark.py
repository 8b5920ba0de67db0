"""The pure helpers of benchmarks/ui_fps.py: frames from change times, gaps, summaries, targets.

No server, no browser, no timing."""

import numpy as np
import pytest
from benchmark_scripts import load_benchmark

ui_fps = load_benchmark("ui_fps")


def test_changes_closer_than_the_burst_are_one_frame():
    times = [1.000, 1.005, 1.012, 1.100, 1.114, 1.300]
    assert ui_fps.frame_starts(times) == [1.000, 1.100, 1.300]
    assert ui_fps.frame_starts([]) == []
    # a chain of close changes stays one frame, measured from change to change
    assert ui_fps.frame_starts([0.0, 0.01, 0.02, 0.03]) == [0.0]
    assert ui_fps.frame_starts([0.3, 0.1, 0.2]) == [0.1, 0.2, 0.3]


def test_longest_gap_counts_the_window_bounds():
    assert ui_fps.longest_gap([1.0, 1.5, 3.0], 0.0, 4.0) == pytest.approx(1.5)
    assert ui_fps.longest_gap([0.5, 1.0], 0.0, 4.0) == pytest.approx(3.0)  # frozen at the end
    assert ui_fps.longest_gap([], 2.0, 5.0) == pytest.approx(3.0)
    assert ui_fps.longest_gap([-1.0, 9.0], 0.0, 2.0) == pytest.approx(2.0)  # outside the window


def test_frames_per_plot_merge_its_sources_and_skip_unplotted_ones():
    changes = {"s1": [0.10, 0.50], "s2": [0.105, 0.90], "s3": [0.2, 0.3], "s4": [0.4]}
    plots_of = {"s1": ["p1"], "s2": ["p1"], "s3": ["p2"], "s4": []}
    frames = ui_fps.plot_frames(changes, plots_of, ["p1", "p2", "p3"], 0.0, 1.0)
    assert frames == {"p1": [0.10, 0.50, 0.90], "p2": [0.2, 0.3], "p3": []}
    # frames outside the window are dropped
    assert ui_fps.plot_frames(changes, plots_of, ["p1"], 0.2, 1.0) == {"p1": [0.50, 0.90]}


def test_summary_median_share_and_page_freeze():
    frames = {"a": list(np.arange(0.0, 2.0, 0.1)), "b": [0.5, 1.5], "c": []}
    summary = ui_fps.summarize(frames, 0.0, 2.0)
    assert summary["plots"] == 3
    assert summary["median_fps_per_plot"] == pytest.approx(1.0)  # rates 10, 1, 0
    assert summary["share_plots_updated"] == pytest.approx(2 / 3)
    assert summary["longest_gap_s"] == pytest.approx(0.1)  # plot "a" keeps the page moving
    empty = ui_fps.summarize({}, 0.0, 2.0)
    assert empty["median_fps_per_plot"] is None and empty["longest_gap_s"] == pytest.approx(2.0)


def test_targets_are_judged_and_missing_figures_fail():
    good = {"median_fps_per_plot": 12.0, "ratio_to_reference": 0.9, "longest_gap_s": 0.3,
            "steps_ratio": 0.95, "first_frame_s": 1.0, "stop_latency_s": 0.2}
    assert ui_fps.targets_met(good)["all"]
    met = ui_fps.targets_met({**good, "first_frame_s": None, "longest_gap_s": 0.6,
                              "stop_latency_s": 2.0})
    assert not met["first_frame_s"] and not met["longest_gap_s"] and not met["all"]
    assert not met["stop_latency_s"]
    assert met["median_fps_per_plot"] and met["steps_ratio"]


def test_reference_columns_match_the_glyphs_and_rows():
    rng = np.random.default_rng(0)
    cols = ui_fps.synthetic_columns(["Line"], 400, 2, None, rng)
    assert set(cols) == {"x", "y"} and len(cols["x"]) == 400
    assert np.isnan(cols["y"]).sum() == 2
    cols = ui_fps.synthetic_columns(["Quad", "Image"], 1, 0, [8, 5], rng)
    assert {"left", "right", "top", "bottom", "image"} <= set(cols)
    assert cols["image"][0].shape == (8, 5)
    streamed = ui_fps.synthetic_columns(["Scatter"], 3, 0, None, rng, offset=10)
    assert list(streamed["x"]) == [10.0, 11.0, 12.0]


def test_ui_shim_exposes_run_and_main():
    module = load_benchmark("ui")
    assert callable(module.run) and callable(module.main)
