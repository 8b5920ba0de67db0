"""Learners behind one protocol (:mod:`snnlab.learners.base`) and one registry."""

from snnlab.learners.base import Learner, NotSetUp
from snnlab.learners.registry import learner_class, learner_names, make
from snnlab.learners.snapshot import Snapshot

__all__ = ["Learner", "NotSetUp", "Snapshot", "learner_class", "learner_names", "make"]
