"""Learners side by side on one input stream: ``panel serve apps/compare.py`` (or ``snnlab compare``)."""

from snnlab.ui.apps import compare_app

compare_app().servable(title="snnlab compare")
