"""The GEM paper's "prediction" (structured output) task: see the left half, produce the right.

Each recording is binned into binary frames ``(T, H, W)`` (polarities merged); the ``W // 2``
left columns are the input and the remaining right columns the output spike trains to memorise.
``x`` is ``(n, T, H * (W // 2))`` and ``y`` ``(n, T, H * (W - W // 2))`` uint8 spikes, kind
``"spike-train"``. The recordings come from a folder in the N-MNIST layout (``source="nmnist"``,
``root`` required) or from the bundled ``digits-events`` sample (the default).
"""

from __future__ import annotations

import numpy as np

from snnlab.data.digits_events import DURATION_US, digits_events_root
from snnlab.data.events import NMNIST_SENSOR, EventFolder, FrameSpec
from snnlab.data.nmnist import frame_options
from snnlab.data.task import Split, Task

SOURCES = ("digits-events", "nmnist")


def split_halves(frames: np.ndarray, frame_shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Left and right halves ``(n, T, H * (W // 2))``, ``(n, T, H * (W - W // 2))`` of frames
    ``(n, T, H * W)`` laid out row-major over ``frame_shape = (H, W)``."""
    height, width = frame_shape
    n, n_steps = frames.shape[:2]
    image = frames.reshape(n, n_steps, height, width)
    half = width // 2
    left = image[..., :half].reshape(n, n_steps, -1)
    right = image[..., half:].reshape(n, n_steps, -1)
    return np.ascontiguousarray(left), np.ascontiguousarray(right)


def load_prediction(
    *,
    source: str = "digits-events",
    root=None,
    n_steps: int = 30,
    pooling: int = 2,
    crop=None,
    max_train: int | None = None,
    max_test: int | None = None,
    classes=None,
) -> Task:
    """Left half of each recording as input, right half as the target spike trains.

    source: ``"digits-events"`` (bundled) or ``"nmnist"`` (needs ``root``, a folder in the
        N-MNIST layout ``<root>/{train,test}/<label>/<id>.bin``).
    n_steps, pooling, crop, max_train, max_test, classes: as for
        :func:`snnlab.data.nmnist.load_nmnist` (the paper: ``crop=26``, 13 columns each side).
    Frames are binary with polarities merged (the GLM's visible neurons spike or not).
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    if source == "nmnist" and root is None:
        raise ValueError(
            "source='nmnist' needs root=<folder in the N-MNIST layout "
            "<root>/{train,test}/<label>/<id>.bin>; snnlab never downloads data"
        )
    folder_root = digits_events_root() if source == "digits-events" else root
    spec = FrameSpec(
        n_steps=n_steps,
        duration_us=DURATION_US,
        polarity="merge",
        pooling=pooling,
        crop=crop,
        binary=True,
        sensor_size=NMNIST_SENSOR,
    )
    folder = EventFolder(folder_root, NMNIST_SENSOR)
    labels = None if classes is None else tuple(sorted({int(c) for c in classes}))
    splits = {}
    for split, max_n in (("train", max_train), ("test", max_test)):
        frames, _, _ = folder.load(split, spec, max_n, labels)
        left, right = split_halves(frames, spec.frame_shape)
        splits[split] = Split(x=left, y=right)
    height, width = spec.frame_shape
    options = {
        "source": source,
        "root": str(folder.root),
        **frame_options(spec),
        "max_train": max_train,
        "max_test": max_test,
        "classes": list(labels) if labels is not None else None,
    }
    return Task(
        name="prediction",
        kind="spike-train",
        train=splits["train"],
        test=splits["test"],
        n_inputs=splits["train"].x.shape[2],
        n_outputs=splits["train"].y.shape[2],
        n_steps=n_steps,
        dt=spec.dt,
        input_shape=(height, width // 2),
        options=options,
    )
