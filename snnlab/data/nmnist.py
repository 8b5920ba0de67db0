"""Classification tasks over folders of event recordings in the N-MNIST layout.

``load_nmnist(root=...)`` reads a user's N-MNIST folder (``<root>/{train,test}/<label>/<id>.bin``,
34x34 sensor, recordings of about 300 ms); :func:`event_folder_task` does the work and also
serves the bundled ``digits-events`` sample (:mod:`snnlab.data.digits_events`).

Each recording becomes ``(n_steps, n_inputs)`` uint8 event counts (see
:class:`snnlab.data.events.FrameSpec` for binning, polarity, pooling and cropping); ``y`` holds
class indices into ``Task.classes`` (the folder labels, ascending).
"""

from __future__ import annotations

import os

import numpy as np

from snnlab.data.events import NMNIST_SENSOR, EventFolder, FrameSpec
from snnlab.data.task import Split, Task


def event_folder_task(
    name: str,
    folder: EventFolder,
    spec: FrameSpec,
    max_train: int | None,
    max_test: int | None,
    classes,
    options: dict,
    validation: bool = False,
) -> Task:
    """A classification :class:`Task` from both splits of ``folder`` binned by ``spec``.

    validation: score on a held-out fifth of the training recordings instead of the test
    split (every fifth recording of each class, in id order); training uses the other
    four fifths and the test recordings are not read. Settings are chosen this way.

    classes: ``None`` for every label in the folder, or a subset of labels (e.g. ``(1, 7)``);
    ``y`` is the index of a recording's label in the resulting ``Task.classes``.
    max_train, max_test: ``None`` for all recordings, or that many, class-balanced
    (:meth:`EventFolder.select`).
    """
    present = folder.labels
    if not isinstance(validation, (bool, np.bool_)):
        raise ValueError(f"validation must be true or false, got {validation!r}")  # noqa: TRY004
    if classes is None:
        classes = present
    else:
        classes = _labels(classes)
        missing = [c for c in classes if c not in present]
        if missing or not classes:
            raise ValueError(
                f"classes {list(classes)} are not all in {folder.root}; its labels are "
                f"{list(present)}"
            )
    index = {label: i for i, label in enumerate(classes)}
    splits = {}
    for split, max_n in (("train", max_train), ("test", max_test)):
        if validation and split == "test":
            continue
        x, labels, _ = folder.load(split, spec, max_n, classes)
        splits[split] = Split(x=x, y=np.array([index[int(v)] for v in labels], dtype=np.int64))
    if validation:
        splits["train"], splits["test"] = hold_out_fifth(splits["train"])
    return Task(
        name=name,
        kind="classification",
        train=splits["train"],
        test=splits["test"],
        n_inputs=spec.n_inputs,
        n_outputs=len(classes),
        n_steps=spec.n_steps,
        dt=spec.dt,
        classes=classes,
        input_shape=spec.frame_shape,
        options=dict(options, classes=list(classes)),
    )


def _labels(classes) -> tuple[int, ...]:
    """Sorted distinct labels from a label or a list of them (whole numbers, never text: a
    string of digits would read as its characters)."""
    items = [classes] if isinstance(classes, (int, np.integer)) else classes
    if not isinstance(items, (list, tuple, np.ndarray)) or not all(
        isinstance(c, (int, np.integer)) and not isinstance(c, (bool, np.bool_)) for c in items
    ):
        raise ValueError(f"classes must be a list of whole-number labels, got {classes!r}"[:200])
    return tuple(sorted({int(c) for c in items}))


def hold_out_fifth(split: Split) -> tuple[Split, Split]:
    """``(rest, held_out)``: every fifth sample of each class (in the split's order) held out."""
    held = np.zeros(len(split), dtype=bool)
    for label in np.unique(split.y):
        members = np.flatnonzero(split.y == label)
        held[members[4::5]] = True
    return Split(x=split.x[~held], y=split.y[~held]), Split(x=split.x[held], y=split.y[held])


def frame_options(spec: FrameSpec) -> dict:
    """The binning options of ``spec`` as plain values for ``Task.options``."""
    return {
        "n_steps": spec.n_steps,
        "duration_us": spec.duration_us,
        "polarity": spec.polarity,
        "pooling": spec.pooling,
        "crop": list(spec.crop) if spec.crop else None,
        "binary": spec.binary,
    }


def load_nmnist(
    *,
    root=None,
    n_steps: int = 30,
    duration_us: int = 300_000,
    polarity: str = "split",
    pooling: int = 1,
    crop=None,
    binary: bool = False,
    max_train: int | None = None,
    max_test: int | None = None,
    classes=None,
    validation: bool = False,
) -> Task:
    """N-MNIST (or any 34x34 recordings in its layout) as a classification task.

    root: folder laid out as ``<root>/{train,test}/<label>/<id>.bin`` (required).
    n_steps, duration_us: ``n_steps`` bins covering ``duration_us`` µs from ``t = 0``
        (``dt = ceil(duration_us / n_steps)`` µs); events later than that are left out.
    polarity: ``"split"`` (2 channels, ``input_shape (2, H, W)``) or ``"merge"`` (``(H, W)``).
    pooling: sum ``pooling x pooling`` pixel blocks (2: 34x34 -> 17x17).
    crop: centred crop before pooling, an int or ``(h, w)`` (26 as in the GEM paper) or ``None``.
    binary: clip counts to 1 per bin and pixel.
    max_train, max_test: class-balanced subsets of that size (``None``: all).
    classes: a subset of labels to keep (e.g. ``(1, 7)``), ``None`` for all.
    validation: score on a held-out fifth of the training split, not on the test split.
    """
    if not isinstance(root, (str, os.PathLike)):  # None, or a number or list from a record
        raise ValueError(  # noqa: TRY004
            "nmnist needs root=<folder in the N-MNIST layout "
            "<root>/{train,test}/<label>/<id>.bin>; snnlab never downloads data"
        )
    spec = FrameSpec(
        n_steps=n_steps,
        duration_us=duration_us,
        polarity=polarity,
        pooling=pooling,
        crop=crop,
        binary=binary,
        sensor_size=NMNIST_SENSOR,
    )
    folder = EventFolder(root, NMNIST_SENSOR)
    options = {
        "root": str(folder.root),
        **frame_options(spec),
        "max_train": max_train,
        "max_test": max_test,
        "validation": validation,
    }
    return event_folder_task(
        "nmnist", folder, spec, max_train, max_test, classes, options, validation
    )
