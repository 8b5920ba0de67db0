"""Fuzz: every hyperparameter of every learner, as link text and as typed API values.

A link's value either parses to something within bounds or is refused with a notice that names
the parameter (the default stands); ``make()`` either builds the learner or raises
``ValueError``. Nothing else escapes: no TypeError, OverflowError, MemoryError or traceback.
"""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snnlab import learners
from snnlab.learners import learner_class, learner_names
from snnlab.ui.url_state import parse_query

PARAMETERS = [(name, key) for name in learner_names()
              for key in learner_class(name).param if key != "name"]

SPELLINGS = ["nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e999", "-1e999", "true",
             "false", "yes", "None", "null", "", " ", "²", "١٢", "٣", "1:30", "2024-01-01",
             "0x10", "1_000", "1e-3", ".5", "-2", "+3.", "9" * 4300, "[100000]", "[1,2",
             "(40,)", "[]", "<script>alert(1)</script>", "<b onmouseover=alert(1)>x</b>",
             "\x00", "1e308", "-0", "4" * 31]
TEXT = st.one_of(st.sampled_from(SPELLINGS), st.text(max_size=60),
                 st.from_regex(r"[-+]?[0-9]{1,40}(\.[0-9]{0,10})?([eE][-+]?[0-9]{1,4})?",
                               fullmatch=True))
TYPED = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2**80), 2**80),
    st.booleans(), st.none(), st.text(max_size=20),
    st.sampled_from([Decimal("NaN"), Decimal("1e999"), Decimal("0.5"), 1 + 2j, [1, 2], (40,),
                     (100_000,), [], {"a": 1}, b"1", 10**400, -(10**400), (10**400,)]),
)

FUZZ = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@pytest.mark.parametrize("learner, key", PARAMETERS, ids=[f"{n}.{k}" for n, k in PARAMETERS])
@FUZZ
@given(text=TEXT)
def test_link_values_parse_or_are_refused_with_a_notice(learner, key, text):
    state = parse_query({"learner": learner, key: text}, "readout", "digits-events")
    assert state.learner == learner
    if key in state.params or (key == "seed" and not state.problems):
        value = state.params.get(key, state.seed)
        cls = learner_class(learner)
        cls.param[key]._validate(value)  # within bounds
    else:
        assert len(state.problems) == 1 and repr(key) in state.problems[0]
        assert len(state.problems[0]) < 600  # a huge value is quoted short


@pytest.mark.parametrize("learner, key", PARAMETERS, ids=[f"{n}.{k}" for n, k in PARAMETERS])
@FUZZ
@given(value=TYPED)
def test_typed_api_values_build_or_raise_value_error(learner, key, value):
    try:
        built = learners.make(learner, **{key: value})
    except ValueError as err:
        assert key in str(err)
    else:
        assert getattr(built, key) is not None or value is None


@pytest.mark.parametrize("learner, key", PARAMETERS, ids=[f"{n}.{k}" for n, k in PARAMETERS])
def test_integers_beyond_float_range_are_refused_by_name(learner, key):
    for value in (10**400, -(10**400)):
        try:
            learners.make(learner, **{key: value})
        except ValueError as err:
            assert key in str(err)
        else:
            raise AssertionError(f"{learner}.{key} took a {len(str(value))}-digit number")
