"""Learners behind one protocol (:mod:`snnlab.learners.base`) and one registry."""

from snnlab.learners.base import Learner, NotSetUp
from snnlab.learners.presets import Preset, all_presets, default_preset, find_preset, presets_of
from snnlab.learners.registry import learner_class, learner_names, learner_spec, make
from snnlab.learners.snapshot import Snapshot
from snnlab.learners.spec import LearnerSpec

__all__ = ["Learner", "LearnerSpec", "NotSetUp", "Preset", "Snapshot", "all_presets",
           "default_preset", "find_preset", "learner_class", "learner_names", "learner_spec",
           "make", "presets_of"]
