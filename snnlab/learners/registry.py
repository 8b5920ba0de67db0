"""The one place a learner name is bound to its class (imported on first use)."""

from __future__ import annotations

import importlib

LEARNERS: dict[str, str] = {
    "readout": "snnlab.learners.readout:Readout",
    "ep": "snnlab.learners.ep:EP",
    "normad": "snnlab.learners.normad:NormAD",
    "wp": "snnlab.learners.perturbation:WP",
    "gem": "snnlab.learners.gem:GEM",
}


def learner_names() -> list[str]:
    return sorted(LEARNERS)


def learner_class(name: str):
    """The class registered as ``name``; ``ValueError`` listing the known names otherwise."""
    if name not in LEARNERS:
        raise ValueError(f"unknown learner {name!r}; known learners: {', '.join(learner_names())}")
    module, cls = LEARNERS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def make(name: str, **params):
    """A new learner ``name`` with hyperparameters ``params`` (checked before anything is built)."""
    from snnlab.learners.base import check_hyperparameters, restore_types

    cls = learner_class(name)
    params = restore_types(cls, params)
    check_hyperparameters(cls, params)
    return cls(**params)
