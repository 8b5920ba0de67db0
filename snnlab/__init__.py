"""snnlab: an interactive lab for learning rules of spiking neural networks.

Headless API (importing it never imports panel)::

    import snnlab
    task = snnlab.data.load_task("digits-events")
    learner = snnlab.learners.make("readout", seed=0)
    session = snnlab.Session(learner, task)

The dashboards live in ``snnlab.ui`` (imported on first use).
"""

from importlib import import_module

from snnlab import data, learners, metrics
from snnlab.record import RunRecord, read_record, write_record
from snnlab.session import Session
from snnlab.training import RunConfig, replay, run, train

__version__ = "0.1.0"
__all__ = [
    "RunConfig",
    "RunRecord",
    "Session",
    "data",
    "learners",
    "metrics",
    "read_record",
    "replay",
    "run",
    "train",
    "ui",
    "write_record",
]


def __getattr__(name):
    if name == "ui":
        return import_module("snnlab.ui")
    raise AttributeError(f"module 'snnlab' has no attribute {name!r}")
