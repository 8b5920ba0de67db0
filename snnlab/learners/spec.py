"""What a learner package declares about itself, in one place: :class:`LearnerSpec`.

Every learner is a package under ``snnlab/learners/<name>/`` whose ``__init__`` binds
``LEARNER = LearnerSpec(...)``. The registry (:mod:`snnlab.learners.registry`) maps a name to
that package and nothing else; the lab, the CLI, links, sweeps, experiments and benchmarks read
what they need from the spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class LearnerSpec:
    """One learner, as the rest of snnlab sees it.

    ``views`` are the live views it adds beside the shared ones (raster, membrane, learning
    curve, weights, chosen by its ``snapshot_arrays``), as ``"module:Class"`` strings imported
    only by the UI: view code needs Panel and Bokeh, so a learner of snnlab keeps it in
    ``snnlab/ui/views/`` (nothing else in snnlab may import them); a learner outside snnlab may
    keep it in its own package.
    """

    #: the learner's name in links, records, specs and ``--learner``
    name: str
    #: the :class:`~snnlab.learners.base.Learner` subclass
    learner: type
    #: its declared recipes; one ``default=True`` preset per task it names
    presets: tuple = ()
    #: live views it adds, as ``"module:Class"`` (imported by the UI on first use)
    views: tuple[str, ...] = ()
    #: the task the lab opens it on (``None``: the first task of its kinds, alphabetically)
    starting_task: str | None = None
    #: settings with which it learns a small task within a few dozen steps (the contract
    #: suite's toy runs; empty when its defaults do)
    quick_settings: Mapping = field(default_factory=dict)
    #: ``"module:function"`` of its throughput benchmark, ``run(quick=False) -> dict``
    benchmark: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "quick_settings", MappingProxyType(dict(self.quick_settings)))
        if getattr(self.learner, "key", None) != self.name:
            raise ValueError(f"learner spec {self.name!r} names a class whose key is "
                             f"{getattr(self.learner, 'key', None)!r}")
        for preset in self.presets:
            if preset.learner != self.name:
                raise ValueError(f"preset {preset.name!r} of {self.name!r} says it is for "
                                 f"{preset.learner!r}")
