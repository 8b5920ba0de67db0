"""The pure helpers of benchmarks/crafted_requests.py: the cases it sends and how it judges
what the lab says. No server, no browser."""

from urllib.parse import parse_qs

import param
import pytest
from benchmark_scripts import load_benchmark

crafted = load_benchmark("crafted_requests")


@pytest.fixture(scope="module")
def links():
    return crafted.link_cases()


@pytest.fixture(scope="module")
def raws():
    return crafted.http_cases()


def test_at_least_200_cases_in_every_promised_category(links, raws):
    counts = crafted.categories(links + raws)
    assert len(links) + len(raws) >= 200
    for category in ("valid", "out-of-range", "bad-spelling", "markup-value", "markup-names",
                     "repeated-keys", "long-query", "bad-percent-encoding", "layer-widths",
                     "compare-link", "runs-link", "http-path", "http-method", "http-header",
                     "http-protocol"):
        assert counts.get(category, 0) >= 1, category
    assert {c["app"] for c in links} == set(crafted.APPS)
    assert len({c["id"] for c in links + raws}) == len(links) + len(raws)


def test_every_learner_gets_every_spelling_and_markup(links):
    from snnlab.learners import learner_names

    labels = {label for label, _ in crafted.SPELLINGS}
    for learner in learner_names():
        spelled = set()
        for case in links:
            if case["category"] == "bad-spelling" and case["learner"] == learner:
                spelled |= {part.split("=", 1)[1] for part in case["note"].split(", ")}
        assert spelled == labels, learner
        assert any(c["category"] == "markup-value" and c["learner"] == learner for c in links)
        assert any(c["category"] == "out-of-range" and c["learner"] == learner for c in links)
    sent = " ".join(c["query"] for c in links)
    for needle in ("%C2%B2", "%D9%A3", "1e999", "nan", "-inf", "1" * crafted.HUGE_DIGITS,
                   "%3Cscript%3E", "onerror", "onload", "%253C"):
        assert needle in sent, needle


def test_spellings_of_numbers_are_judged_by_the_documented_rules():
    number = param.Number(default=1.0, bounds=(0.0, 10.0))
    integer = param.Integer(default=1, bounds=(0, None))
    flag = param.Boolean(default=True)
    choice = param.Selector(default="a", objects=["a", "b"])
    layers = param.Tuple(default=(), length=0)
    for text in ("1", ".5", "+3.", "1e-3", " 2 ", "10"):
        assert crafted.accepts(number, text), text
    for text in ("nan", "inf", "1e999", "true", "²", "٣", "", "0x10", "1_000", "11", "-1",
                 "1" + "0" * 40):
        assert not crafted.accepts(number, text), text
    assert crafted.accepts(integer, "9" * 30) and not crafted.accepts(integer, "9" * 31)
    assert not crafted.accepts(integer, "1.0")
    assert crafted.accepts(flag, "Yes") and not crafted.accepts(flag, "nan")
    assert crafted.accepts(choice, "b") and not crafted.accepts(choice, "<b>")
    assert crafted.accepts(layers, "") and crafted.accepts(layers, "[8, 8]")
    assert not crafted.accepts(layers, "[0]") and not crafted.accepts(layers, "[10001]")


def test_the_first_value_of_a_key_is_judged_and_the_notice_must_name_it():
    expect = crafted._expect("readout", [("learner", "readout"), ("lr", "nan"), ("lr", "0.5"),
                                         ("l2", "0.1"), ("nope", "1")])
    assert expect == {"mention": ["'lr'", "'nope'"], "not_mention": ["'l2'"]}
    good = "Some link settings were refused: parameter 'lr' takes ...; 'readout' has no " \
           "parameter 'nope'; ..."
    assert crafted.judge_notice(expect, good) == []
    assert crafted.judge_notice(expect, "parameter 'l2': bad") == [
        "not refused: 'lr'", "not refused: 'nope'", "refused though valid: 'l2'"]
    assert crafted.judge_notice({"no_notice": True}, "") == []
    assert crafted.judge_notice({"no_notice": True}, "refused")
    assert crafted.judge_notice(None, "anything") == []


def test_queries_decode_as_the_lab_reads_them(links):
    case = next(c for c in links if c["category"] == "markup-value")
    decoded = parse_qs(case["query"][1:], keep_blank_values=True)
    assert any("window.__pwned = 1" in v[0] or "window.__pwned=1" in v[0]
               for v in decoded.values())


def test_raw_requests_name_their_host_and_end_their_head(raws):
    for case in raws:
        request = case["request"]
        if request.startswith((b"GET /", b"POST /", b"PUT", b"DELETE", b"PATCH", b"OPTIONS")):
            assert b"\r\n\r\n" in request or b"\n\n" in request, case["note"]


def test_an_existing_report_is_kept_without_force(tmp_path, capsys):
    out = tmp_path / "report.json"
    out.write_text("{}")
    assert crafted.main(["--out", str(out)]) == 2
    assert out.read_text() == "{}"
    assert "--force" in capsys.readouterr().err
