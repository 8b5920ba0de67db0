"""The bundled ``digits-events`` sample: scikit-learn's 8x8 digits seen by a simulated event camera.

500 recordings (400 train, 100 test, 50 per digit) in the N-MNIST format and layout under
``snnlab/sample_data/digits-events``, shipped inside the package: a 34x34 sensor, three
saccades in 300 ms, about 3,000 events each. ``snnlab/sample_data/make_digits_events.py`` makes
them and ``snnlab/sample_data/README.md`` gives their provenance.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from snnlab.data.events import NMNIST_SENSOR, EventFileError, EventFolder, FrameSpec
from snnlab.data.nmnist import event_folder_task, frame_options
from snnlab.data.task import Task

DURATION_US = 300_000


def digits_events_root() -> Path:
    """Where the sample lives: ``sample_data/digits-events`` inside the installed package (a
    wheel carries it; no source tree needed)."""
    return Path(str(resources.files("snnlab").joinpath("sample_data", "digits-events")))


def load_digits_events(
    *,
    n_steps: int = 30,
    polarity: str = "split",
    pooling: int = 1,
    crop=None,
    binary: bool = False,
    max_train: int | None = None,
    max_test: int | None = None,
    classes=None,
    validation: bool = False,
) -> Task:
    """The bundled digits-events sample as a classification task (10 classes).

    Recordings span 300 ms, binned into ``n_steps`` windows (30 -> 10 ms each). The other
    options are those of :func:`snnlab.data.nmnist.load_nmnist`.
    """
    root = digits_events_root()
    if not root.is_dir():
        raise EventFileError(
            f"the digits-events sample is missing at {root}; it ships with the source tree "
            f"(regenerate it with `python snnlab/sample_data/make_digits_events.py`)"
        )
    spec = FrameSpec(
        n_steps=n_steps,
        duration_us=DURATION_US,
        polarity=polarity,
        pooling=pooling,
        crop=crop,
        binary=binary,
        sensor_size=NMNIST_SENSOR,
    )
    options = {**frame_options(spec), "max_train": max_train, "max_test": max_test,
               "validation": validation}
    options.pop("duration_us")
    folder = EventFolder(root, NMNIST_SENSOR)
    return event_folder_task(
        "digits-events", folder, spec, max_train, max_test, classes, options, validation
    )
