"""The result files the README links to are well formed (they are written by commands, and a
stray line of server log once slipped into one)."""

import json
from pathlib import Path

import pytest

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results"


@pytest.mark.parametrize("path", sorted(RESULTS.glob("benchmarks/*.json")), ids=lambda p: p.name)
def test_benchmark_reports_are_json_objects(path):
    report = json.loads(path.read_text())
    assert isinstance(report, dict) and report
