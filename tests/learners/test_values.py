"""Hyperparameter values as people type them: read by the parameter's type, one reader for the
CLI, URLs and sweep specs; every refused form gets a message naming the parameter."""

import decimal

import numpy as np
import param
import pytest

from snnlab import learners
from snnlab.learners import learner_class
from snnlab.learners.base import parse_hyperparameters
from snnlab.learners.values import read_value
from snnlab.ui.url_state import parse_query, to_query

WP, NORMAD, EP = learner_class("wp"), learner_class("normad"), learner_class("ep")


@pytest.mark.parametrize("text, value", [
    ("1e-3", 1e-3), (".5", 0.5), ("-2", -2.0), ("+3.", 3.0), ("2E+2", 200.0), (" 0.1 ", 0.1),
])
def test_numbers_in_decimal_notation(text, value):
    assert read_value("x", param.Number(), text) == pytest.approx(value)  # bounds: the caller's
    assert parse_hyperparameters(WP, {"lr": "1e-3"})["lr"] == pytest.approx(1e-3)


@pytest.mark.parametrize("text", [
    "40", "40,40", "[40,40]", "(40, 40)", "(40,)", "[]", "()", "",
])
def test_layer_widths_in_every_usual_spelling(text):
    expected = tuple(int(t) for t in text.strip("[]()").split(",") if t.strip())
    assert parse_hyperparameters(NORMAD, {"hidden": text})["hidden"] == expected


@pytest.mark.parametrize("key, text", [
    ("lr", "true"), ("lr", "yes"), ("lr", "1:30"), ("lr", "2020-01-01"), ("lr", "nan"),
    ("lr", "NaN"), ("lr", "-inf"), ("lr", "Infinity"), ("lr", "1e999"), ("lr", "0x10"),
    ("lr", "1_000"), ("lr", "<b>1</b>"), ("lr", "١"), ("seed", "²"), ("seed", "9" * 5000),
    ("seed", "1.5"), ("seed", "1e3"), ("hidden", "[40, x]"), ("hidden", "[0]"),
    ("hidden", "[100000]"), ("hidden", "true"),
])
def test_refused_forms_name_the_parameter(key, text):
    cls = NORMAD if key == "hidden" else WP
    with pytest.raises(ValueError, match=f"parameter '{key}'") as err:
        parse_hyperparameters(cls, {key: text})
    assert len(str(err.value)) < 300  # a huge value is cut in the message


def test_booleans_only_for_boolean_parameters():
    boolean = next(k for k, p in EP.param.objects().items()
                   if type(p).__name__ == "Boolean" and k != "name")
    for text, value in (("true", True), ("Off", False), ("1", True), ("no", False)):
        assert parse_hyperparameters(EP, {boolean: text})[boolean] is value
    with pytest.raises(ValueError, match="true or false"):
        parse_hyperparameters(EP, {boolean: "maybe"})


@pytest.mark.parametrize("value", [decimal.Decimal("NaN"), decimal.Decimal("sNaN"), True,
                                   np.bool_(True), float("inf"), 1 + 2j])
def test_typed_values_through_the_api_are_refused_cleanly(value):
    with pytest.raises(ValueError, match="parameter 'lr'"):
        learners.make("wp", lr=value)


def test_typed_values_are_normalised():
    assert learners.make("wp", lr=decimal.Decimal("0.01")).lr == 0.01
    assert learners.make("wp", seed=np.int64(3)).seed == 3
    assert learners.make("normad", hidden=[np.int64(5), 6]).hidden == (5, 6)
    with pytest.raises(ValueError, match="whole number"):
        learners.make("wp", seed=2.5)


def test_a_link_round_trips_rebuild_parameters():
    query = to_query("normad", "spike-xor", 3, {"hidden": (32, 32), "lr": 0.5},
                     {"hidden": (), "lr": 1.0})
    state = parse_query(query, "readout", "digits-events")
    assert not state.problems
    assert state.params == {"hidden": (32, 32), "lr": 0.5}
