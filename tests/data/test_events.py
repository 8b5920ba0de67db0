"""N-MNIST-format files: writer/reader round trip, validation errors, frames, folder layout."""

import os
from pathlib import Path

import numpy as np
import pytest
import tonic

from snnlab.data.digits_events import digits_events_root
from snnlab.data.events import (
    EVENT_DTYPE,
    EventFileError,
    EventFolder,
    FrameSpec,
    decode_events,
    encode_events,
    events_to_frames,
    make_events,
    read_events,
    write_events,
)

REPO = Path(__file__).resolve().parents[2]
NMNIST = Path(os.environ.get("SNNLAB_NMNIST", REPO.parent / "shared" / "data" / "nmnist"))
DIGITS = digits_events_root()


def random_events(n=500, seed=0, duration_us=300_000, size=34):
    rng = np.random.default_rng(seed)
    return make_events(
        rng.integers(0, size, n),
        rng.integers(0, size, n),
        np.sort(rng.integers(0, duration_us, n)),
        rng.integers(0, 2, n),
    )


def test_write_then_tonic_reads_the_same_events(tmp_path):
    events = random_events()
    # the largest timestamp and coordinates the format holds must survive too
    events = np.concatenate([events, make_events([255], [239], [2**23 - 1], [1])])
    path = tmp_path / "rec.bin"
    write_events(path, events)
    assert path.stat().st_size == 5 * len(events)
    back = tonic.io.read_mnist_file(str(path), dtype=EVENT_DTYPE)
    for field in EVENT_DTYPE.names:
        np.testing.assert_array_equal(back[field], events[field])
    again = read_events(path, sensor_size=(256, 256))
    np.testing.assert_array_equal(again, events)


def test_encoding_matches_the_documented_bit_layout():
    raw = encode_events(make_events([3], [17], [0x5A1B2C], [1]))
    assert raw == bytes([3, 17, 0x80 | 0x5A, 0x1B, 0x2C])


@pytest.mark.parametrize(
    ("field", "value"), [("t", 2**23), ("t", -1), ("y", 240), ("x", 256), ("p", 2)]
)
def test_encoding_refuses_values_the_format_cannot_hold(field, value):
    events = random_events(5)
    events[field][2] = value
    with pytest.raises(ValueError, match=f"event 2 has {field}="):
        encode_events(events)


def test_truncated_file_error_names_the_file(tmp_path):
    path = tmp_path / "3" / "00012.bin"
    write_events(path, random_events(10))
    path.write_bytes(path.read_bytes()[:-2])
    with pytest.raises(EventFileError, match=r"00012\.bin is truncated: 48 bytes .* multiple of 5"):
        read_events(path)


def test_missing_and_empty_files_are_refused(tmp_path):
    with pytest.raises(EventFileError, match="nothere.bin does not exist"):
        read_events(tmp_path / "nothere.bin")
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    with pytest.raises(EventFileError, match="empty.bin holds no events"):
        read_events(empty)
    assert len(read_events(empty, allow_empty=True)) == 0


def test_events_outside_the_sensor_are_refused(tmp_path):
    path = tmp_path / "wide.bin"
    events = random_events(20)
    events["x"][7] = 40
    write_events(path, events)
    with pytest.raises(EventFileError, match=r"wide.bin: event 7 at x=40.*outside the 34x34"):
        read_events(path)
    assert len(read_events(path, sensor_size=(34, 64))) == 20


def test_timestamps_small_backsteps_are_sorted_large_ones_refused(tmp_path):
    events = random_events(50)
    events["t"] = np.arange(50) * 1000
    jittered = events.copy()
    jittered["t"][10] = jittered["t"][9] - 200  # a 0.2 ms step back, as sensors sometimes emit
    path = tmp_path / "jitter.bin"
    write_events(path, jittered)
    back = read_events(path)
    assert back["t"].tolist() == sorted(jittered["t"].tolist())
    assert back["x"][9] == jittered["x"][10]  # the event moved with its timestamp

    broken = events.copy()
    broken["t"][30] = 100
    write_events(path, broken)
    with pytest.raises(EventFileError, match="jitter.bin: timestamps run backwards"):
        read_events(path)


def test_frames_count_every_event_inside_the_duration_including_boundaries():
    # events at the first and last microsecond and on every window edge: ToFrame alone would drop
    # the last timestamp and a trailing partial window
    t = np.array([0, 9_999, 10_000, 150_000, 289_999, 290_000, 299_999, 300_000, 310_000])
    events = make_events(np.arange(len(t)), np.zeros(len(t)), t, np.arange(len(t)) % 2)
    frames = events_to_frames(events, FrameSpec(n_steps=30, duration_us=300_000))
    assert frames.shape == (30, 2 * 34 * 34) and frames.dtype == np.uint8
    assert frames.sum() == 7  # the two at >= 300 ms lie outside the duration
    per_bin = frames.sum(axis=1)
    assert per_bin[0] == 2 and per_bin[1] == 1 and per_bin[15] == 1 and per_bin[28] == 1
    assert per_bin[29] == 2


def test_window_rounds_up_so_the_duration_is_covered():
    spec = FrameSpec(n_steps=7, duration_us=100_000)
    assert spec.window_us == 14_286 and spec.n_steps * spec.window_us >= 100_000
    events = make_events([1, 2], [1, 2], [0, 99_999], [0, 1])
    assert events_to_frames(events, spec).sum() == 2


def test_pooling_crop_polarity_and_binary_options():
    events = random_events(3000, seed=3)
    full = events_to_frames(events, FrameSpec()).reshape(30, 2, 34, 34).astype(int)
    assert full.sum() == len(events)

    merged = events_to_frames(events, FrameSpec(polarity="merge")).reshape(30, 34, 34)
    np.testing.assert_array_equal(merged, full.sum(axis=1))

    pooled = events_to_frames(events, FrameSpec(pooling=2)).reshape(30, 2, 17, 17)
    np.testing.assert_array_equal(pooled, full.reshape(30, 2, 17, 2, 17, 2).sum(axis=(3, 5)))

    crop_spec = FrameSpec(crop=26, pooling=2)
    assert crop_spec.frame_shape == (2, 13, 13) and crop_spec.n_inputs == 338
    cropped = events_to_frames(events, crop_spec).reshape(30, 2, 13, 13)
    inner = full[:, :, 4:30, 4:30].reshape(30, 2, 13, 2, 13, 2).sum(axis=(3, 5))
    np.testing.assert_array_equal(cropped, inner)

    binary = events_to_frames(events, FrameSpec(binary=True))
    np.testing.assert_array_equal(binary, (full > 0).reshape(30, -1))


def test_counts_saturate_at_255_and_input_is_untouched():
    events = make_events(np.full(300, 5), np.full(300, 6), np.arange(300), np.ones(300))
    before = events.copy()
    frames = events_to_frames(events, FrameSpec(n_steps=1, duration_us=1000, polarity="merge"))
    assert frames.max() == 255
    np.testing.assert_array_equal(events, before)


def test_no_events_in_range_gives_empty_frames():
    events = make_events([0], [0], [0], [1])
    frames = events_to_frames(events, FrameSpec(n_steps=4, crop=10))
    assert frames.shape == (4, 200) and frames.sum() == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"polarity": "both"}, "polarity must be one of"),
        ({"pooling": 0}, "pooling must be a positive integer"),
        ({"pooling": 4}, "pooling 4 does not divide the 34x34 sensor"),
        ({"crop": 40}, "crop must be an int or"),
        ({"crop": 25, "pooling": 2}, "pooling 2 does not divide the 25x25 crop"),
        ({"n_steps": 0}, "n_steps must be a positive integer"),
        ({"duration_us": 0}, "duration_us must be positive"),
    ],
)
def test_frame_spec_refuses_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        FrameSpec(**options)


def make_folder(root, layout):
    for relative in layout:
        write_events(root / relative, random_events(20, seed=len(relative)))
    return root


def test_folder_lists_recordings_and_picks_balanced_subsets(tmp_path):
    layout = [f"train/{label}/{i}.bin" for label in (3, 5) for i in range(label, 40, 7)]
    layout += ["test/3/100.bin", "test/5/101.bin"]
    folder = EventFolder(make_folder(tmp_path, layout))
    assert folder.labels == (3, 5)
    ids = [int(r.id) for r in folder.recordings["train"]]
    assert ids == sorted(ids)
    subset = folder.select("train", max_n=4)
    assert sorted(r.label for r in subset) == [3, 3, 5, 5]
    x, y, chosen = folder.load("train", FrameSpec(n_steps=5), max_n=4)
    assert x.shape == (4, 5, 2312) and list(y) == [r.label for r in chosen]
    assert x.reshape(4, -1).sum(axis=1).tolist() == [20] * 4


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        (["train/0/1.bin"], "has no test/ folder"),
        (["train/zero/1.bin", "test/0/2.bin"], "label folders that are not plain decimal .*zero"),
        (["train/\u0663/1.bin", "test/0/2.bin"], "not plain decimal labels .*\u0663"),
        (["train/007/1.bin", "test/0/2.bin"], "not plain decimal labels .*007"),
        (["train/" + "9" * 20 + "/1.bin", "test/0/2.bin"], "not plain decimal labels"),
        (["train/0/1.txt", "test/0/2.bin"], "train holds no .bin recordings"),
    ],
)
def test_wrong_folder_layouts_name_the_folder_and_the_layout(tmp_path, layout, message):
    for relative in layout:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes(encode_events(random_events(3)))
    with pytest.raises(EventFileError, match=message) as info:
        EventFolder(tmp_path)
    assert str(tmp_path) in str(info.value) and "<root>/{train,test}/<integer label>" in str(
        info.value
    )


def test_missing_root_is_refused(tmp_path):
    with pytest.raises(EventFileError, match="nowhere is not a folder"):
        EventFolder(tmp_path / "nowhere")


def test_bundled_digits_events_are_valid_recordings():
    folder = EventFolder(DIGITS)
    counts = [len(read_events(r.path)) for r in folder.recordings["test"]]
    assert 1000 <= min(counts) and max(counts) <= 7000
    events = read_events(folder.recordings["test"][0].path)
    assert events["t"].max() < 300_000
    frames = events_to_frames(events, FrameSpec())
    assert frames.astype(int).sum() == len(events)


@pytest.mark.skipif(not NMNIST.is_dir(), reason=f"real N-MNIST subset not found at {NMNIST}")
def test_real_nmnist_files_frame_every_event_within_the_recording():
    folder = EventFolder(NMNIST)
    for r in folder.recordings["test"][:20]:
        events = read_events(r.path)
        spec = FrameSpec(n_steps=40, duration_us=int(events["t"].max()) + 1)
        assert events_to_frames(events, spec).astype(int).sum() == len(events)


def test_upper_case_extensions_are_read(tmp_path):
    write_events(tmp_path / "train" / "3" / "1.BIN", random_events(5))
    write_events(tmp_path / "test" / "3" / "2.bin", random_events(5))
    folder = EventFolder(tmp_path)
    assert [r.path.name for r in folder.select("train")] == ["1.BIN"]


def test_decoding_is_linear_in_overflow_markers_and_matches_tonic(tmp_path):
    import time

    marker = bytes([0, 240, 0, 0, 0])
    raw = marker * 200_000 + encode_events(random_events(3))
    start = time.perf_counter()
    events = decode_events(raw)
    assert time.perf_counter() - start < 5.0  # tonic's loop over markers takes minutes here
    assert len(events) == 3 and events["t"].min() >= 200_000 * 2**13
    path = tmp_path / "crafted.bin"
    small = marker * 3 + encode_events(random_events(7)) + marker + encode_events(random_events(2))
    path.write_bytes(small)
    assert np.array_equal(decode_events(small), tonic.io.read_mnist_file(str(path), EVENT_DTYPE))


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from snnlab.data import events

    path = tmp_path / "big.bin"
    path.write_bytes(bytes(5 * 1000))
    monkeypatch.setattr(events, "MAX_FILE_BYTES", 4000)
    with pytest.raises(EventFileError, match="big.bin is 5,000 bytes, more than the 4,000"):
        read_events(path)
