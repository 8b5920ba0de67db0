"""The one place a learner name is bound to its package (imported on first use).

A package ``snnlab.learners.<name>`` declares everything about its learner in its ``LEARNER``
(:class:`~snnlab.learners.spec.LearnerSpec`). Learners that live outside snnlab (your own, or
the test suite's) are added without editing snnlab: name their packages in the environment
variable ``SNNLAB_LEARNERS`` (comma-separated module names, each with a ``LEARNER``); processes
started from this one (CLI runs, local sweep workers) see them too. Workers of a remote cluster
need the package importable and the variable set where they run.
"""

from __future__ import annotations

import importlib
import os
from functools import cache

from snnlab.learners.spec import LearnerSpec

LEARNERS: dict[str, str] = {
    "readout": "snnlab.learners.readout",
    "ep": "snnlab.learners.ep",
    "normad": "snnlab.learners.normad",
    "wp": "snnlab.learners.wp",
    "gem": "snnlab.learners.gem",
}
EXTRA_LEARNERS = "SNNLAB_LEARNERS"


@cache
def _extra(setting: str) -> dict[str, str]:
    """``{name: module}`` of the packages named in ``SNNLAB_LEARNERS``."""
    found = {}
    for module in (m.strip() for m in setting.split(",")):
        if not module:
            continue
        spec = _spec_in(module)
        if spec.name in LEARNERS or spec.name in found:
            raise ValueError(f"{EXTRA_LEARNERS}: {module} declares learner {spec.name!r}, "
                             "a name already taken")
        found[spec.name] = module
    return found


def _packages() -> dict[str, str]:
    return {**LEARNERS, **_extra(os.environ.get(EXTRA_LEARNERS, ""))}


def _spec_in(module: str) -> LearnerSpec:
    try:
        package = importlib.import_module(module)
    except ImportError as err:
        raise ValueError(f"learner package {module} cannot be imported ({err}); check "
                         f"{EXTRA_LEARNERS} and PYTHONPATH") from None
    spec = getattr(package, "LEARNER", None)
    if not isinstance(spec, LearnerSpec):
        raise ValueError(f"learner package {module} has no LEARNER = LearnerSpec(...)")
    return spec


def learner_names() -> list[str]:
    return sorted(_packages())


def learner_spec(name: str) -> LearnerSpec:
    """What learner ``name`` declares; ``ValueError`` listing the known names otherwise."""
    packages = _packages()
    if name not in packages:
        raise ValueError(f"unknown learner {name!r}; known learners: {', '.join(learner_names())}")
    spec = _spec_in(packages[name])
    if spec.name != name:
        raise ValueError(f"learner package {packages[name]} is registered as {name!r} but its "
                         f"LEARNER is named {spec.name!r}")
    return spec


def learner_class(name: str):
    """The class registered as ``name``; ``ValueError`` listing the known names otherwise."""
    return learner_spec(name).learner


def make(name: str, **params):
    """A new learner ``name`` with hyperparameters ``params`` (checked before anything is built)."""
    from snnlab.learners.base import check_hyperparameters, restore_types

    cls = learner_class(name)
    params = restore_types(cls, params)
    check_hyperparameters(cls, params)
    return cls(**params)
