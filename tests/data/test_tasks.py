"""Task builders: shapes, dtypes, metadata, option checks through load_task."""

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from snnlab.data import load_task, task_options
from snnlab.data.digits_events import digits_events_root
from snnlab.data.events import EventFileError, read_events

REPO = Path(__file__).resolve().parents[2]
NMNIST = Path(os.environ.get("SNNLAB_NMNIST", REPO.parent / "shared" / "data" / "nmnist"))
needs_nmnist = pytest.mark.skipif(
    not NMNIST.is_dir(), reason=f"real N-MNIST subset not found at {NMNIST} (set SNNLAB_NMNIST)"
)


def read_labels(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize(
    "name", ["digits-events", "nmnist", "spike-xor", "spike-pattern", "regression-sine"]
)
def test_unknown_options_are_refused_listing_the_allowed_ones(name):
    with pytest.raises(ValueError, match=f"task '{name}' has no option n_stepz; its options are"):
        load_task(name, n_stepz=3)


def test_digits_events_loads_all_recordings_as_counts():
    task = load_task("digits-events")
    assert task.kind == "classification" and task.name == "digits-events"
    assert task.train.x.shape == (400, 30, 2312) and task.test.x.shape == (100, 30, 2312)
    assert task.train.x.dtype == np.uint8 and task.train.y.dtype == np.int64
    assert task.classes == tuple(range(10)) and task.n_outputs == 10
    assert np.bincount(task.train.y).tolist() == [40] * 10
    assert task.input_shape == (2, 34, 34) and task.n_steps == 30 and task.dt == pytest.approx(0.01)
    # the first test recording (lowest id) keeps every one of its events
    rows = read_labels(digits_events_root() / "labels.csv")
    first = min((r for r in rows if r["split"] == "test"), key=lambda r: int(r["id"]))
    events = read_events(digits_events_root() / first["path"])
    assert task.test.x[0].astype(int).sum() == len(events)
    assert task.classes[task.test.y[0]] == int(first["label"])


def test_digits_events_options_shape_the_inputs_and_reload_from_task_options():
    task = load_task(
        "digits-events",
        n_steps=10,
        polarity="merge",
        pooling=2,
        crop=26,
        binary=True,
        max_train=20,
        max_test=6,
        classes=(1, 7),
    )
    assert task.input_shape == (13, 13) and task.n_inputs == 169 and task.n_outputs == 2
    assert task.train.x.shape == (20, 10, 169) and task.train.x.max() == 1
    assert np.bincount(task.train.y).tolist() == [10, 10] and task.classes == (1, 7)
    assert task.dt == pytest.approx(0.03)
    again = load_task("digits-events", **task.options)
    np.testing.assert_array_equal(again.train.x, task.train.x)
    np.testing.assert_array_equal(again.test.y, task.test.y)
    assert set(task.options) <= set(task_options("digits-events"))


def test_validation_holds_out_a_fifth_of_training_and_never_reads_test(monkeypatch):
    from snnlab.data.events import EventFolder

    full = load_task("digits-events")
    read = []
    load = EventFolder.load

    def spy(self, split, *args, **kwargs):
        read.append(split)
        return load(self, split, *args, **kwargs)

    monkeypatch.setattr(EventFolder, "load", spy)
    task = load_task("digits-events", validation=True)
    assert read == ["train"]
    assert len(task.train) == 320 and len(task.test) == 80
    assert np.bincount(task.test.y).tolist() == [8] * 10  # every fifth of each class
    train_rows = {row.tobytes() for row in full.train.x.reshape(len(full.train), -1)}
    held = {row.tobytes() for row in task.test.x.reshape(len(task.test), -1)}
    kept = {row.tobytes() for row in task.train.x.reshape(len(task.train), -1)}
    assert held <= train_rows and not held & kept
    assert task.options["validation"] is True


def test_digits_events_refuses_classes_it_does_not_have():
    with pytest.raises(ValueError, match=r"classes \[3, 12\] are not all in"):
        load_task("digits-events", classes=(3, 12), max_train=2, max_test=2)


def test_nmnist_needs_a_root():
    with pytest.raises(ValueError, match="nmnist needs root=<folder in the N-MNIST layout"):
        load_task("nmnist")


def test_nmnist_with_a_wrong_root_names_it(tmp_path):
    with pytest.raises(EventFileError, match=f"{tmp_path} has no train/ folder"):
        load_task("nmnist", root=tmp_path)


@needs_nmnist
def test_nmnist_loads_the_real_subset():
    task = load_task("nmnist", root=NMNIST)
    assert len(task.train) == 800 and len(task.test) == 100
    assert task.train.x.shape == (800, 30, 2312) and task.train.x.dtype == np.uint8
    assert task.input_shape == (2, 34, 34) and task.n_outputs == 10
    rows = read_labels(NMNIST / "labels.csv")
    labels = {
        split: [
            int(r["label"]) for r in sorted(rows, key=lambda r: int(r["id"])) if r["split"] == split
        ]
        for split in ("train", "test")
    }
    assert task.train.y.tolist() == labels["train"] and task.test.y.tolist() == labels["test"]
    # nearly every event lies in the first 300 ms
    first = NMNIST / "train" / str(labels["train"][0]) / "1.bin"
    n_events = len(read_events(first))
    assert 0.98 * n_events <= task.train.x[0].astype(int).sum() <= n_events


@needs_nmnist
def test_nmnist_pooled_and_cropped_subset():
    task = load_task("nmnist", root=NMNIST, pooling=2, crop=26, max_train=30, max_test=10)
    assert task.train.x.shape == (30, 30, 338) and task.test.x.shape == (10, 30, 338)
    assert task.input_shape == (2, 13, 13)
    assert np.bincount(task.train.y, minlength=10).tolist() == [3] * 10


def test_spike_xor_codes_inputs_and_targets_in_spike_times():
    task = load_task("spike-xor")
    assert task.kind == "spike-train" and task.n_steps == 300 and task.dt == pytest.approx(1e-4)
    x, y = task.train.x, task.train.y
    assert x.shape == (4, 300, 3) and y.shape == (4, 300, 1)
    first_spike = x.argmax(axis=1)  # (4 patterns, 3 inputs)
    assert first_spike[:, 0].tolist() == [0, 0, 0, 0]  # the reference always fires at 0 ms
    assert first_spike[:, 1:].tolist() == [[0, 0], [0, 60], [60, 0], [60, 60]]
    assert y[:, :, 0].argmax(axis=1).tolist() == [160, 100, 100, 160]
    assert x.sum() == 12 and y.sum() == 4
    np.testing.assert_array_equal(task.test.x, x)


def test_spike_xor_population_copies_are_delayed():
    task = load_task("spike-xor", n_per_bit=3, population_delay=2e-3)
    assert task.n_inputs == 7
    late_pattern = task.train.x[3]
    assert late_pattern[:, 1:4].argmax(axis=0).tolist() == [60, 80, 100]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"late": 0.0}, "early .* and late .* fall in the same"),
        ({"target_false": 0.05}, "target_false = 0.05 s lies outside"),
        ({"n_per_bit": 0}, "n_per_bit must be a positive integer"),
        ({"dt": 0.0}, "need 0 < dt < duration"),
    ],
)
def test_spike_xor_refuses_bad_times(options, message):
    with pytest.raises(ValueError, match=message):
        load_task("spike-xor", **options)


def test_spike_pattern_is_seeded_with_poisson_inputs_and_spaced_targets():
    task = load_task("spike-pattern", n_patterns=4, n_outputs=3, n_inputs=200, seed=5)
    x, y = task.train.x, task.train.y
    assert x.shape == (4, 5000, 200) and y.shape == (4, 5000, 3) and x.max() == 1
    assert x.mean() / task.dt == pytest.approx(20.0, rel=0.1)  # 80,000 expected input spikes
    for k in range(4):
        for j in range(3):
            times = np.flatnonzero(y[k, :, j]) * task.dt
            assert len(times) >= 1 and times[0] >= 0.01 - 1e-9
            assert np.all(np.diff(times) >= 0.01 - 1e-9)
    same = load_task("spike-pattern", n_patterns=4, n_outputs=3, n_inputs=200, seed=5)
    other = load_task("spike-pattern", n_patterns=4, n_outputs=3, n_inputs=200, seed=6)
    np.testing.assert_array_equal(same.train.x, x)
    np.testing.assert_array_equal(same.train.y, y)
    assert not np.array_equal(other.train.x, x)


def test_spike_pattern_target_rate_is_as_asked():
    task = load_task("spike-pattern", n_patterns=40, n_outputs=5, n_inputs=1, output_rate=20.0)
    rate = task.train.y.sum() / (200 * 0.5)
    assert rate == pytest.approx(20.0, rel=0.1)  # 2,000 expected target spikes


def test_spike_pattern_refuses_impossible_rates():
    with pytest.raises(ValueError, match="output_rate must lie in"):
        load_task("spike-pattern", output_rate=200.0, min_isi=0.01)


@pytest.mark.parametrize("target", ["sine", "step", "sawtooth"])
def test_regression_targets(target):
    task = load_task("regression-sine", target=target, n_train=64, n_test=101)
    assert task.kind == "regression" and task.n_steps == 1
    assert task.train.x.shape == (64, 1) and task.train.x.dtype == np.float32
    assert task.test.y.shape == (101, 1) and task.test.y.dtype == np.float32
    x = task.test.x[:, 0]
    np.testing.assert_allclose(x, np.linspace(0, 1, 101), atol=1e-7)
    expected = {
        "sine": np.sin(2 * np.pi * x),
        "step": np.where(x < 0.5, -1.0, 1.0),
        "sawtooth": 2 * ((2 * x) % 1) - 1,
    }[target]
    np.testing.assert_allclose(task.test.y[:, 0], expected, atol=1e-6)


def test_regression_noise_is_seeded_and_only_on_training_targets():
    clean = load_task("regression-sine", seed=3)
    noisy = load_task("regression-sine", noise=0.1, seed=3)
    np.testing.assert_array_equal(noisy.train.x, clean.train.x)
    residual = noisy.train.y - clean.train.y
    assert residual.std() == pytest.approx(0.1, rel=0.2)
    np.testing.assert_array_equal(noisy.test.y, clean.test.y)
    np.testing.assert_array_equal(
        load_task("regression-sine", noise=0.1, seed=3).train.y, noisy.train.y
    )
    with pytest.raises(ValueError, match="target must be one of"):
        load_task("regression-sine", target="cosine")


def test_every_registered_task_declares_its_kind():
    from snnlab.data.registry import TASK_KINDS, TASKS

    assert set(TASKS) == set(TASK_KINDS)
