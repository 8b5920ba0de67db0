"""Kernels compiled before they are needed, and word of it while they compile.

The first step of a learner in a process compiles (or loads from Numba's cache) its kernels:
5-25 s cold. :func:`warm_up_in_background` runs one step and one small evaluation of a throwaway
twin in a daemon thread, so a lab can warm the learner the user will most likely press Play on
while the page loads. :func:`is_warm` says whether a learner has done that in this process;
:func:`compile_progress` counts the Numba compilations (and cache loads) since the process
started, for a "compiling (first use)…" readout.
"""

from __future__ import annotations

import logging
import threading

from numba.core import event

from snnlab import learners
from snnlab.data.task import Task
from snnlab.learners.base import Learner

log = logging.getLogger(__name__)

_warm: set[str] = set()
_warming: dict[str, threading.Thread] = {}
_lock = threading.Lock()


class _CompileCounter(event.Listener):
    """Counts finished Numba compilations and remembers the last function's name."""

    def __init__(self):
        self.finished = 0
        self.current = ""

    def on_start(self, ev):
        dispatcher = (ev.data or {}).get("dispatcher")
        self.current = getattr(getattr(dispatcher, "py_func", None), "__name__", "")

    def on_end(self, ev):
        self.finished += 1


_counter = _CompileCounter()
event.register("numba:compile", _counter)


def compile_progress() -> tuple[int, str]:
    """(compilations finished in this process, name of the latest function being compiled)."""
    return _counter.finished, _counter.current


def warm_key(learner: Learner) -> str:
    """What a warm-up covers: the learner and its hyperparameters (another network size or
    rule compiles other kernels, so a warm ``ep`` without a hidden layer says nothing about
    one with)."""
    values = sorted((k, repr(v)) for k, v in learner.hyperparameters().items() if k != "seed")
    return f"{learner.key}:{values}"


def is_warm(learner: Learner | str) -> bool:
    """Whether this learner, with these hyperparameters, has stepped and evaluated once in
    this process (a name: whether any configuration of that learner has)."""
    if isinstance(learner, str):
        return any(key.split(":", 1)[0] == learner for key in _warm)
    return warm_key(learner) in _warm


def mark_warm(learner: Learner) -> None:
    with _lock:
        _warm.add(warm_key(learner))


def warm_up(learner: Learner, task: Task) -> None:
    """One step and a two-sample evaluation of a twin of ``learner`` on ``task``."""
    twin = learners.make(learner.key, **learner.hyperparameters())
    twin.setup(task)
    twin.step(next(task.batches("train", batch_size=min(learner.batch_size, 2), seed=0)))
    twin.evaluate("test", max_samples=2)
    mark_warm(learner)


def warm_up_in_background(learner: Learner, task: Task) -> threading.Thread | None:
    """Start :func:`warm_up` in a daemon thread (None when warm or already warming)."""
    key = warm_key(learner)
    with _lock:
        if key in _warm or key in _warming:
            return None
        thread = threading.Thread(target=_warm_quietly, args=(learner, task),
                                  name=f"snnlab-warmup-{learner.key}", daemon=True)
        _warming[key] = thread
    thread.start()
    return thread


def _warm_quietly(learner: Learner, task: Task) -> None:
    try:
        warm_up(learner, task)
    except Exception:  # a warm-up is an optimisation: the real first step will say what broke
        log.warning("warming up %s failed", learner.key, exc_info=True)
    finally:
        with _lock:
            _warming.pop(warm_key(learner), None)
