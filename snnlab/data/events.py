"""Event-camera recordings in the N-MNIST format: read, validate, write, and bin into frames.

An event is ``(x, y, t, p)``: pixel column ``x``, row ``y``, timestamp ``t`` in microseconds and
polarity ``p`` (1 = ON, brightness rose; 0 = OFF). A recording is a structured array of events
with dtype :data:`EVENT_DTYPE`, sorted by ``t``.

File format (N-MNIST, Orchard et al. 2015), 5 bytes = 40 bits per event, big-endian fields::

    byte 0: x (8 bits)      byte 1: y (8 bits)
    byte 2: p (bit 7) | t[22:16] (bits 6..0)      byte 3: t[15:8]      byte 4: t[7:0]

so timestamps cover 2**23 µs (about 8.4 s); a record with ``y == 240`` is an overflow marker
that adds 2**13 µs to every later timestamp (as ``tonic.io.read_mnist_file`` reads it).
:func:`decode_events` reads the format in linear time (tonic's reader loops over overflow
markers, quadratic in a crafted file, and keeps event counts in 16 bits);
:func:`write_events` is its exact inverse.

Frames: :func:`events_to_frames` bins one recording into ``n_steps`` windows of ``window_us``
microseconds from ``t = 0`` with ``tonic.transforms.ToFrame`` and returns ``(T, C*H*W)`` uint8
counts. Every event with ``t < n_steps * window_us`` lands in exactly one bin.

A folder of recordings in the N-MNIST layout ``<root>/<split>/<label>/<id>.bin`` is read by
:class:`EventFolder`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

EVENT_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", np.int8)])
NMNIST_SENSOR = (34, 34)  # (height, width) in pixels
BYTES_PER_EVENT = 5
MAX_TIMESTAMP_US = 2**23 - 1
OVERFLOW_ROW = 240  # y == 240 marks a timestamp-overflow record in the format, never an event
OVERFLOW_US = 2**13  # what each overflow record adds to the timestamps after it
MAX_FILE_BYTES = 64 * 2**20  # N-MNIST recordings are under 100 kB; refuse before reading more
BACKSTEP_TOLERANCE_US = 1000
POLARITY_MODES = ("split", "merge")
SPLITS = ("train", "test")


#: a label folder's name: ASCII decimal, no leading zeros ("007" would merge with "7"), at most
#: six digits (a label of twenty nines is no class index)
LABEL = re.compile(r"0|[1-9][0-9]{0,5}", re.ASCII)


class EventFileError(ValueError):
    """A recording or a folder of recordings that cannot be read as N-MNIST-format events."""


def make_events(x, y, t, p) -> np.ndarray:
    """A recording (structured array of :data:`EVENT_DTYPE`) from equal-length columns."""
    x, y, t, p = (np.asarray(a) for a in (x, y, t, p))
    if not len(x) == len(y) == len(t) == len(p):
        raise ValueError(
            f"event columns must have equal lengths, got x {len(x)}, y {len(y)}, t {len(t)}, "
            f"p {len(p)}"
        )
    events = np.empty(len(x), dtype=EVENT_DTYPE)
    events["x"], events["y"], events["t"], events["p"] = x, y, t, p
    return events


def read_events(
    path, sensor_size: tuple[int, int] = NMNIST_SENSOR, allow_empty: bool = False
) -> np.ndarray:
    """Read and validate one N-MNIST-format recording.

    path: the ``.bin`` file. sensor_size: ``(height, width)``; every event must lie inside it.
    Returns events of :data:`EVENT_DTYPE` sorted by time. Backward timestamp steps of at most
    ``BACKSTEP_TOLERANCE_US`` are put in order (a stable sort); larger ones mean a corrupt file.

    Raises :class:`EventFileError` naming the file when it is missing, truncated (size not a
    multiple of 5 bytes), empty (unless ``allow_empty``), has events outside the sensor or
    timestamps that run backwards.
    """
    path = Path(path)
    if not path.is_file():
        raise EventFileError(f"{path} does not exist or is not a file")
    size = path.stat().st_size
    if size % BYTES_PER_EVENT:
        raise EventFileError(
            f"{path} is truncated: {size} bytes is not a multiple of {BYTES_PER_EVENT} "
            f"(N-MNIST events are {BYTES_PER_EVENT} bytes)"
        )
    if size > MAX_FILE_BYTES:
        raise EventFileError(
            f"{path} is {size:,} bytes, more than the {MAX_FILE_BYTES:,} read from one "
            f"recording (N-MNIST recordings are under 100 kB)"
        )
    raw = path.read_bytes()
    if len(raw) % BYTES_PER_EVENT:  # it changed since stat
        raise EventFileError(f"{path} is truncated: {len(raw)} bytes is not a multiple of "
                             f"{BYTES_PER_EVENT}")
    events = decode_events(raw)
    if len(events) == 0:
        if allow_empty:
            return events
        raise EventFileError(f"{path} holds no events ({size} bytes)")
    height, width = sensor_size
    outside = (events["x"] >= width) | (events["y"] >= height)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise EventFileError(
            f"{path}: event {i} at x={events['x'][i]}, y={events['y'][i]} lies outside the "
            f"{height}x{width} sensor (byte {_offset(raw, i)}; {int(outside.sum())} such "
            f"events); is this the right sensor_size?"
        )
    steps = np.diff(events["t"])
    if len(steps) and steps.min() < 0:
        if steps.min() < -BACKSTEP_TOLERANCE_US:
            i = int(np.argmin(steps)) + 1
            raise EventFileError(
                f"{path}: timestamps run backwards by {-int(steps.min())} µs at event {i}, "
                f"byte {_offset(raw, i)} (more than the {BACKSTEP_TOLERANCE_US} µs tolerated); "
                f"the file is corrupt"
            )
        events = events[np.argsort(events["t"], kind="stable")]
    return events


def _offset(raw: bytes, i: int) -> int:
    """The byte offset in ``raw`` of event ``i`` (overflow records are not events)."""
    y = np.frombuffer(raw, dtype=np.uint8)[1::BYTES_PER_EVENT]
    return BYTES_PER_EVENT * int(np.flatnonzero(y != OVERFLOW_ROW)[i])


def decode_events(raw: bytes) -> np.ndarray:
    """Events of :data:`EVENT_DTYPE` from N-MNIST bytes (a multiple of 5), in linear time.

    Overflow records (``y == 240``) are dropped after adding ``OVERFLOW_US`` to the timestamps
    of every record after them (a cumulative count, not a loop per marker).
    """
    if len(raw) % BYTES_PER_EVENT:
        raise EventFileError(
            f"{len(raw)} bytes is not a multiple of {BYTES_PER_EVENT}: not N-MNIST events"
        )
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(-1, BYTES_PER_EVENT).astype(np.int64)
    y = rows[:, 1]
    overflow = y == OVERFLOW_ROW
    t = ((rows[:, 2] & 0x7F) << 16) | (rows[:, 3] << 8) | rows[:, 4]
    t = t + OVERFLOW_US * np.cumsum(overflow)
    keep = ~overflow
    events = np.empty(int(keep.sum()), dtype=EVENT_DTYPE)
    events["x"], events["y"] = rows[keep, 0], y[keep]
    events["t"], events["p"] = t[keep], rows[keep, 2] >> 7
    return events


def encode_events(events: np.ndarray) -> bytes:
    """The N-MNIST 40-bit encoding of ``events`` (see the module docstring for the layout).

    Raises ``ValueError`` when a field does not fit: ``x``, ``y`` in 0..255 (``y`` != 240, which
    the format reserves for overflow records), ``p`` in {0, 1}, ``t`` in 0..2**23-1 µs.
    """
    x, y = np.asarray(events["x"], np.int64), np.asarray(events["y"], np.int64)
    t, p = np.asarray(events["t"], np.int64), np.asarray(events["p"], np.int64)
    checks = [
        ("x", x, (x < 0) | (x > 255), "0..255"),
        ("y", y, (y < 0) | (y > 255) | (y == OVERFLOW_ROW), "0..255 except 240"),
        ("t", t, (t < 0) | (t > MAX_TIMESTAMP_US), f"0..{MAX_TIMESTAMP_US} µs"),
        ("p", p, (p != 0) & (p != 1), "0 or 1"),
    ]
    for name, values, bad, allowed in checks:
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"event {i} has {name}={values[i]}; the N-MNIST format allows {name} in {allowed}"
            )
    raw = np.empty((len(t), BYTES_PER_EVENT), dtype=np.uint8)
    raw[:, 0] = x
    raw[:, 1] = y
    raw[:, 2] = (p << 7) | ((t >> 16) & 0x7F)
    raw[:, 3] = (t >> 8) & 0xFF
    raw[:, 4] = t & 0xFF
    return raw.tobytes()


def write_events(path, events: np.ndarray) -> None:
    """Write ``events`` to ``path`` in the N-MNIST format (parent folders are created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_events(events))


@dataclass(frozen=True)
class FrameSpec:
    """How a recording becomes a ``(T, C*H*W)`` frame sequence.

    n_steps: time bins ``T``.
    duration_us: microseconds covered; each bin is ``window_us = ceil(duration_us / n_steps)``
        long, so the bins reach ``n_steps * window_us >= duration_us`` and events after that are
        left out.
    polarity: ``"split"`` keeps OFF and ON as two channels (C = 2), ``"merge"`` adds them (C = 1).
    pooling: ``k`` sums ``k x k`` pixel blocks (1 = none; 2 turns 34x34 into 17x17).
    crop: ``None`` or ``(h, w)`` (an int means square): keep the centred ``h x w`` window of the
        sensor first, e.g. 26 as in the GEM paper. The cropped size must divide by ``pooling``.
    binary: clip counts to 1 (a spike or none per bin and pixel); otherwise counts saturate at 255.
    sensor_size: ``(height, width)`` of the recordings.
    """

    n_steps: int = 30
    duration_us: int = 300_000
    polarity: str = "split"
    pooling: int = 1
    crop: tuple[int, int] | None = None
    binary: bool = False
    sensor_size: tuple[int, int] = NMNIST_SENSOR

    def __post_init__(self):
        # options may come from a record or a link: check types too, not only ranges
        if not _is_integer(self.n_steps) or self.n_steps < 1:
            raise ValueError(f"n_steps must be a positive integer, got {self.n_steps!r}")
        if not _is_real(self.duration_us) or not np.isfinite(self.duration_us) or (
                self.duration_us <= 0):
            raise ValueError(f"duration_us must be positive microseconds, got {self.duration_us!r}")
        if self.polarity not in POLARITY_MODES:
            raise ValueError(f"polarity must be one of {POLARITY_MODES}, got {self.polarity!r}")
        if not _is_integer(self.pooling) or self.pooling < 1:
            raise ValueError(f"pooling must be a positive integer, got {self.pooling!r}")
        if not isinstance(self.binary, (bool, np.bool_)):
            raise ValueError(f"binary must be true or false, got {self.binary!r}")  # noqa: TRY004
        height, width = self.sensor_size
        if self.crop is not None:
            crop = self.crop
            crop = (crop, crop) if _is_integer(crop) else crop
            crop = tuple(crop) if isinstance(crop, (list, tuple)) else ()
            if len(crop) != 2 or not all(
                _is_integer(c) and 1 <= c <= s for c, s in zip(crop, self.sensor_size)
            ):
                raise ValueError(
                    f"crop must be an int or (height, width) within the {height}x{width} sensor, "
                    f"got {self.crop!r}"
                )
            object.__setattr__(self, "crop", tuple(int(c) for c in crop))
        region = self.crop or self.sensor_size
        if region[0] % self.pooling or region[1] % self.pooling:
            raise ValueError(
                f"pooling {self.pooling} does not divide the {region[0]}x{region[1]} "
                f"{'crop' if self.crop else 'sensor'}; pick a pooling or crop that fits"
            )

    @property
    def window_us(self) -> int:
        """Microseconds per bin."""
        return math.ceil(self.duration_us / self.n_steps)

    @property
    def dt(self) -> float:
        """Seconds per bin."""
        return self.window_us * 1e-6

    @property
    def channels(self) -> int:
        return 2 if self.polarity == "split" else 1

    @property
    def frame_shape(self) -> tuple[int, ...]:
        """``(C, H, W)`` for split polarity, ``(H, W)`` for merged."""
        height, width = self.crop or self.sensor_size
        spatial = (height // self.pooling, width // self.pooling)
        return (2, *spatial) if self.polarity == "split" else spatial

    @property
    def n_inputs(self) -> int:
        return int(np.prod(self.frame_shape))


def _is_integer(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value) -> bool:
    return _is_integer(value) or isinstance(value, (float, np.floating))


def events_to_frames(events: np.ndarray, spec: FrameSpec) -> np.ndarray:
    """Bin one recording into ``(spec.n_steps, spec.n_inputs)`` uint8 frames (see :class:`FrameSpec`).

    Pixels flatten channel-major (``C, H, W``). Counts above 255 saturate. The input is not
    modified.
    """
    height, width = spec.sensor_size
    x, y = events["x"].astype(np.int64), events["y"].astype(np.int64)
    keep = events["t"] < spec.n_steps * spec.window_us
    if spec.crop is not None:
        top, left = (height - spec.crop[0]) // 2, (width - spec.crop[1]) // 2
        x, y = x - left, y - top
        keep &= (x >= 0) & (x < spec.crop[1]) & (y >= 0) & (y < spec.crop[0])
    region = spec.crop or spec.sensor_size
    pooled = make_events(
        x[keep] // spec.pooling,
        y[keep] // spec.pooling,
        events["t"][keep],
        events["p"][keep] if spec.polarity == "split" else np.zeros(int(keep.sum())),
    )
    if len(pooled) == 0:  # ToFrame answers one frame for an empty recording
        return np.zeros((spec.n_steps, spec.n_inputs), dtype=np.uint8)
    import tonic

    to_frame = tonic.transforms.ToFrame(
        sensor_size=(region[1] // spec.pooling, region[0] // spec.pooling, spec.channels),
        time_window=spec.window_us,
        start_time=0,
        end_time=spec.n_steps * spec.window_us,
    )
    frames = to_frame(pooled).reshape(spec.n_steps, -1)
    return np.minimum(frames, 1 if spec.binary else 255).astype(np.uint8)


def count_image(events: np.ndarray, sensor_size: tuple[int, int] = NMNIST_SENSOR) -> np.ndarray:
    """``(2, H, W)`` int64 event counts per polarity (OFF, ON) over the whole recording."""
    height, width = sensor_size
    counts = np.zeros((2, height, width), dtype=np.int64)
    np.add.at(counts, (events["p"].astype(np.int64), events["y"], events["x"]), 1)
    return counts


@dataclass(frozen=True)
class Recording:
    """One file of an :class:`EventFolder`: its path, label and id (the file name's stem)."""

    path: Path
    label: int
    id: str

    @property
    def sort_key(self):
        # ASCII digits only: str.isdigit() holds for '²' and '①', which int() refuses
        numeric = self.id.isascii() and self.id.isdigit()
        return (0, int(self.id), self.id) if numeric else (1, 0, self.id)


class EventFolder:
    """Recordings in the N-MNIST layout ``<root>/<split>/<label>/<id>.bin``.

    ``split`` is ``train`` and ``test`` (both required); ``label`` directories are integer class
    labels (``0`` .. ``9`` for N-MNIST). Files are listed on construction; layout errors raise
    :class:`EventFileError` naming the folder and the layout expected.
    """

    LAYOUT = "<root>/{train,test}/<integer label>/<id>.bin"

    def __init__(self, root, sensor_size: tuple[int, int] = NMNIST_SENSOR):
        self.root = Path(root).expanduser()
        self.sensor_size = tuple(sensor_size)
        if not self.root.is_dir():
            raise EventFileError(
                f"{self.root} is not a folder; expected recordings laid out as {self.LAYOUT}"
            )
        self.recordings = {split: self._list(split) for split in SPLITS}

    def _list(self, split: str) -> list[Recording]:
        folder = self.root / split
        if not folder.is_dir():
            raise EventFileError(
                f"{self.root} has no {split}/ folder; expected recordings laid out as {self.LAYOUT}"
            )
        label_dirs = sorted(p for p in folder.iterdir() if p.is_dir())
        bad = [p.name for p in label_dirs if not LABEL.fullmatch(p.name)]
        if bad:
            raise EventFileError(
                f"{folder} has label folders that are not plain decimal labels "
                f"({', '.join(repr(b[:20]) for b in bad[:5])}: 0 to 999999, ASCII digits, no "
                f"leading zeros); expected recordings laid out as {self.LAYOUT}"
            )
        recordings = [
            Recording(path=f, label=int(d.name), id=f.stem)
            for d in label_dirs
            for f in sorted(d.iterdir())
            if f.suffix.lower() == ".bin" and f.is_file()
        ]
        if not recordings:
            raise EventFileError(
                f"{folder} holds no .bin recordings in label folders; "
                f"expected recordings laid out as {self.LAYOUT}"
            )
        return sorted(recordings, key=lambda r: r.sort_key)

    @property
    def labels(self) -> tuple[int, ...]:
        """Every label present in either split, ascending."""
        return tuple(sorted({r.label for rs in self.recordings.values() for r in rs}))

    def select(self, split: str, max_n: int | None = None, labels=None) -> list[Recording]:
        """Recordings of ``split`` in id order, optionally of ``labels`` only.

        ``max_n`` keeps a class-balanced subset: recordings are taken from each class in turn
        (in id order within a class) until ``max_n`` are chosen; the result stays in id order.
        """
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if max_n is not None and (not _is_integer(max_n) or max_n < 0):
            raise ValueError(f"max_n must be None or a whole number >= 0, got {max_n!r}")
        chosen = self.recordings[split]
        if labels is not None:
            chosen = [r for r in chosen if r.label in set(labels)]
        if max_n is None or max_n >= len(chosen):
            return chosen
        by_label: dict[int, list[Recording]] = {}
        for r in chosen:
            by_label.setdefault(r.label, []).append(r)
        queues = [iter(rs) for _, rs in sorted(by_label.items())]
        picked: list[Recording] = []
        while len(picked) < max_n:
            for queue in queues:
                r = next(queue, None)
                if r is not None and len(picked) < max_n:
                    picked.append(r)
        return sorted(picked, key=lambda r: r.sort_key)

    def load(
        self, split: str, spec: FrameSpec, max_n: int | None = None, labels=None
    ) -> tuple[np.ndarray, np.ndarray, list[Recording]]:
        """Frames and labels of a split.

        Returns ``x`` ``(n, T, spec.n_inputs)`` uint8, ``labels`` ``(n,)`` int64 (the folder
        labels, not class indices) and the :class:`Recording` list in the same order.
        """
        if tuple(spec.sensor_size) != self.sensor_size:
            raise ValueError(
                f"frame spec is for a {spec.sensor_size} sensor but {self.root} holds "
                f"{self.sensor_size} recordings"
            )
        chosen = self.select(split, max_n, labels)
        from snnlab.learners.memory import budget, human

        # the frames, and tonic's int64 frames of one recording while it is binned
        need = (len(chosen) + 8) * spec.n_steps * spec.n_inputs
        if need > budget():
            raise ValueError(
                f"{len(chosen)} recordings of {spec.n_steps} x {spec.n_inputs} frames take "
                f"{human(need)}, more than the memory budget of {human(budget())}; use fewer "
                f"n_steps or recordings (or --max-memory)"
            )
        x = np.zeros((len(chosen), spec.n_steps, spec.n_inputs), dtype=np.uint8)
        for i, r in enumerate(chosen):
            x[i] = events_to_frames(read_events(r.path, self.sensor_size), spec)
        y = np.array([r.label for r in chosen], dtype=np.int64)
        return x, y, chosen
