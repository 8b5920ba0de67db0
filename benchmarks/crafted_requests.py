"""Crafted links and raw HTTP requests against the served apps; writes a JSON report.

The lab, compare and the run browser are served in-process on 127.0.0.1, each on its own port
and at ``/``, exactly as ``snnlab lab``, ``snnlab compare`` and ``snnlab runs --serve`` serve
them (``snnlab.ui.apps.serve``: the same factories, ``SESSION_CLEANUP``, the session cap,
threaded). The run browser reads an empty run index in a temporary ``SNNLAB_HOME``.

Links. The apps are built only when the page's websocket opens, so a link is exercised only in
a real browser page: one headless Chromium, a new page per link, closed after it. A page is
ready when its Play button (the lab, compare), its "Open in lab" button (the run browser) or
"The lab is full" shows, within a bounded wait; then the page is left ``settle`` seconds for
any handler a payload carries to run. The cases: for every learner, a spread of its
parameters (one or two of each kind: integer, number, boolean, choice, layer widths, and the
seed) gets values out of range (below and above its bounds), every bad spelling of a number
(nan, inf, 1e999, true/false, integers thousands of digits long, superscript, Arabic-Indic and
full-width digits, empty, hex, underscores...) and markup payloads that set
``window.__pwned = 1``; markup in learner, task, preset and parameter names; repeated keys;
query strings from 2 kB to 100 kB; bad percent-encoding (lone ``%``, ``%zz``, invalid UTF-8,
NUL, CR/LF, overlong and surrogate sequences, double encoding); layer widths at and past
their limits; a valid link per learner (no notice expected); links to compare and the run
browser. Recorded per link: the document's HTTP status and every 5xx response of the page,
dialogs opened, whether ``window.__pwned`` was set, injected elements (``.injected``,
``javascript:`` links, a ``<script>`` mentioning ``__pwned``, searched through shadow roots),
the lab's notice, and the server tracebacks logged while the case ran.

Notices (the lab only): each refused value must be named in the notice that shows the
refusals, and each accepted one must not be. What should be refused is judged here
independently of the parser: numbers in ASCII decimal notation only, finite, within bounds, at
most 30 digits; whole numbers for integers; true/false, yes/no, on/off, 1/0 for booleans; one
of the choices for a choice; widths in [1, 10000] for layers.

Raw HTTP (a socket each, ``Connection: close``): odd and traversing paths (``/..%2f``,
``/static/../``), NUL and invalid UTF-8 bytes, paths and queries up to 100 kB, Bokeh's
``autoload.js`` and ``ws`` endpoints with crafted arguments, every method (POST, PUT, DELETE,
PATCH, OPTIONS, TRACE, CONNECT, HEAD, made-up ones), huge and numerous headers, bad Host,
Content-Length and Transfer-Encoding, malformed request lines and non-HTTP bytes; each sent to
every app. An answer must be 2xx, 3xx or 4xx (a closed connection without answer is counted
apart), never 5xx.

Server tracebacks: a ``logging.Handler`` on the root, ``bokeh``, ``tornado`` and ``panel``
loggers keeps records at WARNING or above that carry ``exc_info`` or "Traceback"; whatever is
written to ``sys.stderr`` during the run (thread exceptions, Panel's log) is searched for
"Traceback" too. Each is attributed to the case that was running when it arrived.

    python benchmarks/crafted_requests.py [--out docs/results/benchmarks/crafted_requests.json
                                           [--force]] [--settle 1.0] [--limit N]
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import math
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote, unquote

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
]
APPS = ("lab", "compare", "runs")

# -- what is sent -------------------------------------------------------------------------------
#: markup payloads; every one sets window.__pwned = 1 if the page ever runs it
PAYLOADS = [
    "<script>window.__pwned = 1</script>",
    '<img src=x onerror="window.__pwned = 1" class=injected>',
    '<svg onload="window.__pwned = 1" class=injected></svg>',
    '"><img src=x onerror=window.__pwned=1 class=injected>',
]
HUGE_DIGITS = 5000
#: Python's limit on digits int() reads (sys.get_int_max_str_digits()); Panel itself calls
#: int() on an all-digit query value while it builds any page, so a link with an all-digit
#: value longer than this, or of digits int() refuses (superscripts), fails before the app sees
#: it: those get links of their own ("digit-limits"), and bad spellings stay under it
INT_DIGITS_LIMIT = 4300
#: bad spellings of a number, as sent in the query (already percent-encoded): (label, text)
SPELLINGS = [
    ("nan", "nan"), ("NaN", "NaN"), ("inf", "inf"), ("-inf", "-inf"), ("Infinity", "Infinity"),
    ("1e999", "1e999"), ("-1e999", "-1e999"), ("true", "true"), ("false", "false"),
    ("huge-int", "9" * 4000), ("huge-negative-int", "-" + "1" * HUGE_DIGITS),
    ("huge-fraction", "0." + "3" * HUGE_DIGITS),
    ("signed-superscript-two", "+%C2%B2"), ("arabic-indic-3", "%D9%A3"),
    ("arabic-indic-12", "%D9%A1%D9%A2"), ("fullwidth-1", "%EF%BC%91"),
    ("devanagari-5", "%E0%A5%AB"), ("empty", ""), ("space", "%20"), ("hex", "0x10"),
    ("underscores", "1_000"), ("double-exponent", "1e5e5"), ("double-sign", "--1"),
    ("comma-decimal", "1,5"), ("list", "[1,2]"), ("null", "null"), ("nul-byte", "1%00"),
]
BOOLEAN_WORDS = {"true", "false", "yes", "no", "on", "off", "1", "0"}
MAX_DIGITS = 30
MAX_LAYER_WIDTH = 10_000


def encode(text: str) -> str:
    return quote(text, safe="")


def query(*pairs) -> str:
    """``?k=v&...`` from pairs already encoded."""
    return "?" + "&".join(f"{k}={v}" if v is not None else k for k, v in pairs)


def spread(learner: str) -> list[str]:
    """A spread of ``learner``'s parameters: the seed and up to two of each kind (integer,
    number, boolean, choice, layer widths), preferring an unbounded one."""
    import param

    cls = _learner_class(learner)
    objects = [(k, p) for k, p in cls.param.objects().items() if k != "name"]
    kinds: dict[str, list[str]] = {}
    for key, declared in objects:
        if key == "seed":
            continue
        kinds.setdefault(_kind(declared, param), []).append(key)
    chosen = ["seed"]
    for keys in kinds.values():
        unbounded = [k for k in keys if _bounds(cls.param[k])[1] is None
                     and _kind(cls.param[k], param) in ("integer", "number")]
        picked = unbounded[:1] + [k for k in keys if k not in unbounded]
        # the first and the last of a kind: parameters far apart in the list
        picked = list(dict.fromkeys([picked[0], keys[-1]]))
        chosen.extend(picked)
    return chosen


def _kind(declared, param) -> str:
    if isinstance(declared, param.Boolean):
        return "boolean"
    if isinstance(declared, param.Integer):
        return "integer"
    if isinstance(declared, param.Number):
        return "number"
    if isinstance(declared, param.Tuple):
        return "layers"
    if isinstance(declared, param.Selector):
        return "choice"
    return "other"


def _bounds(declared) -> tuple:
    return getattr(declared, "bounds", None) or (None, None)


def _learner_class(name: str):
    from snnlab.learners import learner_class

    return learner_class(name)


def _learner_names() -> list[str]:
    from snnlab.learners import learner_names

    return list(learner_names())


def accepts(declared, text: str) -> bool:
    """Whether a parameter declared as ``declared`` should take ``text`` (decoded), judged from
    the documented rules, not by the parser under test."""
    import param

    t = text.strip()
    kind = _kind(declared, param)
    if kind == "boolean":
        return t.lower() in BOOLEAN_WORDS
    if kind in ("integer", "number"):
        pattern = (r"[+-]?[0-9]+" if kind == "integer"
                   else r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?")
        if not re.fullmatch(pattern, t) or sum(c.isdigit() for c in t) > MAX_DIGITS:
            return False
        value = int(t) if kind == "integer" else float(t)
        if not math.isfinite(value):
            return False
        low, high = _bounds(declared)
        return (low is None or value >= low) and (high is None or value <= high)
    if kind == "layers":
        inner = t[1:-1] if t[:1] + t[-1:] in ("[]", "()") else t
        parts = [p.strip() for p in inner.split(",")]
        if parts and parts[-1] == "":
            parts = parts[:-1]
        if not any(parts):
            return True
        return all(re.fullmatch(r"[+-]?[0-9]{1,30}", p) and 1 <= int(p) <= MAX_LAYER_WIDTH
                   for p in parts)
    if kind == "choice":
        return t in [str(o) for o in declared.objects]
    return True


def _expect(learner: str, pairs) -> dict:
    """What the lab's notice should say for a link of ``learner`` with ``pairs``: the
    parameters it must name (refused) and those it must not (accepted); first value wins."""
    cls = _learner_class(learner)
    seen, refused, accepted = set(), [], []
    for key, value in pairs:
        if key in seen or key in ("learner", "task", "preset") or value is None:
            continue
        seen.add(key)
        decoded = unquote(value, errors="replace").replace("+", " ")
        if key not in cls.param or key == "name":
            refused.append(key)
        elif accepts(cls.param[key], decoded):
            accepted.append(key)
        else:
            refused.append(key)
    return {"mention": [f"'{k}'" for k in refused], "not_mention": [f"'{k}'" for k in accepted]}


def _out_of_range(declared) -> list[tuple[str, str]]:
    import param

    low, high = _bounds(declared)
    integer = isinstance(declared, param.Integer)
    out = []
    if low is not None:
        below = (low - 1) if integer else (low - max(abs(low) * 0.5, 1e-3))
        out.append(("below", repr(int(below)) if integer else repr(float(below))))
    if high is not None:
        above = (high + 1) if integer else (high + max(abs(high), 1.0))
        out.append(("above", repr(int(above)) if integer else repr(float(above))))
    return out


def link_cases() -> list[dict]:
    """Every crafted link: ``{id, category, app, query, learner, expect}``."""
    cases: list[dict] = []

    def add(category, app, pairs, learner=None, expect=None, note="", raw=None):
        text = raw if raw is not None else query(*pairs)
        cases.append({"id": f"{category}-{len(cases)}", "category": category, "app": app,
                      "query": text, "learner": learner, "expect": expect, "note": note})

    learners = _learner_names()
    for learner in learners:
        cls = _learner_class(learner)
        keys = spread(learner)
        # valid: no notice at all
        add("valid", "lab", [("learner", learner)], learner, {"no_notice": True},
            note="the learner's defaults")
        # out of range: every bounded parameter of the spread below its bounds in one link,
        # above them in another; at its lower bound (valid) in a third
        below, above, at_bound = [("learner", learner)], [("learner", learner)], [
            ("learner", learner)]
        for key in keys:
            for side, text in _out_of_range(cls.param[key]):
                (below if side == "below" else above).append((key, text))
            low = _bounds(cls.param[key])[0]
            if low is not None and key != "seed":
                at_bound.append((key, repr(low)))
        for pairs, note in ((below, "below"), (above, "above")):
            add("out-of-range", "lab", pairs, learner, _expect(learner, pairs),
                note=f"{', '.join(k for k, _ in pairs[1:])} {note} their bounds")
        add("at-bounds", "lab", at_bound, learner, _expect(learner, at_bound),
            note=f"{', '.join(k for k, _ in at_bound[1:])} at their lower bounds (valid)")
        # every bad spelling once per learner, each link giving every parameter of the spread
        # another one: link i gives the j-th parameter spelling (offset + i * len(keys) + j)
        # mod len(SPELLINGS), the offset moving from learner to learner
        offset = 7 * learners.index(learner)
        for i in range(math.ceil(len(SPELLINGS) / len(keys))):
            chosen = [SPELLINGS[(offset + i * len(keys) + j) % len(SPELLINGS)]
                      for j in range(len(keys))]
            pairs = [("learner", learner)] + [(k, text) for k, (_, text) in zip(keys, chosen)]
            add("bad-spelling", "lab", pairs, learner, _expect(learner, pairs),
                note=", ".join(f"{k}={label}" for k, (label, _) in zip(keys, chosen)))
        # markup as every value of the spread: two payloads per learner, all four in turn
        for n in range(2):
            payload = PAYLOADS[(2 * learners.index(learner) + n) % len(PAYLOADS)]
            pairs = [("learner", learner)] + [(k, encode(payload)) for k in keys]
            add("markup-value", "lab", pairs, learner, _expect(learner, pairs),
                note=payload)
        # an integer past 2**53 where the bounds allow it (read exactly, not through a float)
        unbounded = [k for k in keys if _bounds(cls.param[k])[1] is None
                     and type(cls.param[k]).__name__ == "Integer"]
        for key in unbounded:
            for text in ("9007199254740993", "9" * MAX_DIGITS):
                pairs = [("learner", learner), (key, text)]
                add("unbounded-integer", "lab", pairs, learner, _expect(learner, pairs),
                    note=f"{key}={text[:20]}… ({len(text)} digits)")

    # markup in the reserved names and in parameter names
    for n, payload in enumerate(PAYLOADS):
        p = encode(payload)
        other = learners[n % len(learners)]
        add("markup-names", "lab", [("learner", p)], None, {"mention": ["is unknown"]})
        add("markup-names", "lab", [("learner", other), ("task", p)], other,
            {"mention": ["is not available"]})
        add("markup-names", "lab", [("learner", other), ("preset", p)], other,
            {"mention": ["is not one of"]})
        add("markup-names", "lab", [("learner", other), (p, "1")], other,
            {"mention": ["has no parameter"]})
        add("markup-names", "lab", [("learner", p), ("task", p), ("preset", p), ("seed", p),
                                    (p, p)], None, {"mention": ["is unknown"]},
            note="every name and value")

    # repeated keys: the first value counts
    for pairs, note in (
        ([("learner", "ep"), ("learner", encode(PAYLOADS[0]))], "valid then markup"),
        ([("learner", encode(PAYLOADS[1])), ("learner", "ep")], "markup then valid"),
        ([("learner", "readout"), ("lr", "0.5"), ("lr", "nan")], "valid then nan"),
        ([("learner", "readout"), ("lr", "nan"), ("lr", "0.5")], "nan then valid"),
        ([("learner", "wp"), ("hidden", "[8]"), ("hidden", "[99999]")], "layers twice"),
        ([("learner", "readout")] + [("lr", str(i / 1000)) for i in range(500)],
         "one key 500 times"),
        ([("learner", "readout"), ("seed", "1"), ("seed", "-1"), ("seed", "1e999")], "seeds"),
        ([("learner", "gem"), ("task", "digits-events"), ("task", encode(PAYLOADS[2]))],
         "tasks"),
    ):
        learner = next((v for k, v in pairs if k == "learner"), None)
        learner = learner if learner in learners else None
        add("repeated-keys", "lab", pairs, learner,
            _expect(learner, pairs) if learner else None, note=note)

    # long query strings
    for size in (2_000, 16_000, 60_000, 100_000):
        add("long-query", "lab", [("learner", "readout"), ("lr", "1" * size)], "readout",
            {"mention": ["'lr'"]}, note=f"a {size}-digit value")
    add("long-query", "lab", [("learner", "readout")] + [(f"k{i}", "1") for i in range(3000)],
        "readout", {"mention": ["has no parameter"]}, note="3000 unknown keys")
    add("long-query", "lab", [("learner", "readout"), ("x" * 20_000, "1")], "readout",
        {"mention": ["has no parameter"]}, note="a 20 kB key")
    add("long-query", "lab", [("learner", "r" * 20_000)], None, {"mention": ["is unknown"]},
        note="a 20 kB learner")
    add("long-query", "lab", [("learner", "readout"), ("task", "t" * 20_000)], "readout",
        {"mention": ["is not available"]}, note="a 20 kB task")
    add("long-query", "lab", [("learner", "readout"), ("lr", encode(PAYLOADS[1] * 400))],
        "readout", {"mention": ["'lr'"]}, note="markup repeated to 25 kB")

    # bad percent-encoding and separators
    for raw, note in (
        ("?learner=readout&lr=%", "lone %"),
        ("?learner=readout&lr=%zz", "%zz"),
        ("?learner=readout&lr=%2", "truncated escape"),
        ("?learner=readout&lr=%ff%fe", "invalid UTF-8"),
        ("?learner=readout&lr=%c0%ae", "overlong UTF-8"),
        ("?learner=readout&lr=%ed%a0%80", "UTF-8 surrogate"),
        ("?learner=readout&lr=%00", "NUL"),
        ("?learner=readout&lr=0.5%0d%0aSet-Cookie:%20x=1", "CR/LF"),
        ("?learner=readout&lr=%e2%80%ae1.0", "right-to-left override"),
        ("?learner=readout&lr=%253Cscript%253Ewindow.__pwned%253D1%253C%252Fscript%253E",
         "double-encoded script"),
        ("?learner=readout&lr=0.5+0.5", "plus as space"),
        ("?learner=readout;lr=0.5", "semicolon separator"),
        ("?&&&==&learner=readout&=1&lr", "empty names, no value"),
        ("?learner%00=readout", "NUL in a name"),
        ("?learner=read%6Fut&l%72=0.5", "escaped plain letters (valid)"),
        ("?learner=%3Cscript%3Ewindow.__pwned=1%3C/script%3E&lr=%3Csvg/onload=window.__pwned=1%3E",
         "half-encoded markup"),
        ("?learner=readout&lr=0.5#<img src=x onerror=window.__pwned=1 class=injected>",
         "markup in the fragment"),
    ):
        add("bad-percent-encoding", "lab", [], None, None, note=note, raw=raw)

    # layer widths at and past their limits
    for text, note in (
        ("[0]", "zero"), ("[-1]", "negative"), ("[10001]", "over the limit"),
        ("[1e3]", "exponent"), ("[nan]", "nan"), ("[" + ",".join(["8"] * 1000) + "]", "1000 layers"),
        ("(((", "unbalanced"), ("[32,,32]", "empty width"), ("[%D9%A3]", "Arabic-Indic"),
        ("[" + "9" * HUGE_DIGITS + "]", "huge width"),
    ):
        pairs = [("learner", "wp"), ("hidden", text)]
        add("layer-widths", "lab", pairs, "wp", _expect("wp", pairs), note=note)

    # Panel reads every query value that str.isdigit() accepts with int() while it builds
    # the page (panel.util.parse_query): digits int() refuses, and more digits than Python's
    # int-to-string limit (4300), stop it; each alone, in each app
    for app in APPS:
        for text, note in (("%C2%B2", "a superscript two alone"),
                           ("%E2%91%A0", "a circled one alone"),
                           ("1" * 4300, "4300 digits (the limit)"),
                           ("1" * 4301, "4301 digits")):
            pairs = [("x", text)]
            add("digit-limits", app, pairs, None, None, note=f"{note}, an unknown key")

    # compare and the run browser take no query: crafted links must still load and run nothing
    for payload in PAYLOADS:
        p = encode(payload)
        add("compare-link", "compare", [("task", p), ("chosen", p), ("learners", p),
                                        ("seed", p), ("batch_size", p)], note=payload)
        add("runs-link", "runs", [("id", p), ("learner", p), ("sweep", p)], note=payload)
    for raw, note in (
        ("?task=digits-events&chosen=ep,gem&seed=1e999&batch_size=" + "9" * HUGE_DIGITS,
         "bad numbers"),
        ("?task=%ff%fe&chosen=%", "bad encoding"),
        ("?" + "&".join(f"k{i}=1" for i in range(3000)), "3000 keys"),
    ):
        add("compare-link", "compare", [], note=note, raw=raw)
    return cases


def http_cases() -> list[dict]:
    """Raw requests: ``{id, category, request (bytes), note}``; sent to every app."""
    cases: list[dict] = []

    def add(category, request: bytes, note: str):
        cases.append({"id": f"http-{category}-{len(cases)}", "category": f"http-{category}",
                      "request": request, "note": note})

    def get(target: str | bytes, headers: str = "", method: str = "GET",
            version: str = "HTTP/1.1", body: bytes = b"") -> bytes:
        target = target.encode("latin-1") if isinstance(target, str) else target
        head = (f"{method} ".encode() + target + f" {version}\r\nHost: {{host}}\r\n".encode()
                + headers.encode("latin-1") + b"Connection: close\r\n\r\n")
        return head + body

    for target, note in (
        ("/", "the page"),
        ("/?learner=%3Cscript%3Ewindow.__pwned%3D1%3C%2Fscript%3E", "encoded markup"),
        ("/?learner=<script>window.__pwned=1</script>", "raw markup in the request line"),
        ("/..%2f..%2f..%2fetc%2fpasswd", "/..%2f traversal"),
        ("/../../../etc/passwd", "../ traversal"),
        ("/static/..%2f..%2f..%2f..%2fetc%2fpasswd", "static ..%2f"),
        ("/static/../../../../etc/passwd", "static ../"),
        ("/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "static %2e%2e"),
        ("/static/extensions/panel/..%2f..%2f..%2f..%2f..%2fpyproject.toml",
         "panel extension ..%2f"),
        ("/static/extensions/panel/../../../../../etc/passwd", "panel extension ../"),
        ("//etc/passwd", "double slash"),
        ("/%00", "NUL"),
        ("/%ff%fe", "invalid UTF-8 escape"),
        (b"/\xff\xfe\x00", "raw invalid bytes"),
        ("/nonexistent", "unknown path"),
        ("/static/nonexistent.js", "unknown static file"),
        ("/static/js/bokeh.min.js", "Bokeh's script"),
        ("/favicon.ico", "favicon"),
        ("/ws", "websocket path without upgrade"),
        ("/ws?bokeh-session-id=%3Cscript%3E", "websocket path, markup session id"),
        ("/autoload.js", "autoload without arguments"),
        (("/autoload.js?bokeh-autoload-element=%3Cscript%3Ewindow.__pwned%3D1%3C%2Fscript%3E"
         "&bokeh-absolute-url=javascript:window.__pwned=1"), "autoload with markup"),
        ("/metadata", "metadata"),
        ("/?bokeh-session-id=%3Cscript%3Ewindow.__pwned%3D1%3C%2Fscript%3E",
         "markup session id"),
        ("/?bokeh-session-id=" + "a" * 5000, "5 kB session id"),
        ("/?bokeh-absolute-url=javascript:window.__pwned=1", "javascript: absolute url"),
        ("/" + "a" * 10_000, "10 kB path"),
        ("/" + "a" * 100_000, "100 kB path"),
        ("/?" + "a=1&" * 25_000, "100 kB query"),
        ("/?%", "lone %"), ("/?%zz=%", "bad escapes"),
        ("/?x=%C2%B2", "a superscript digit"), ("/?x=%E2%91%A0", "a circled digit"),
        ("/?x=" + "1" * 4300, "4300 digits"), ("/?x=" + "1" * 4301, "4301 digits"),
        ("*", "asterisk target"), ("http://evil.example/", "absolute target"),
    ):
        add("path", get(target), note)

    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "HEAD", "FOO", "get",
                   "PROPFIND", "M" * 1000):
        body = b"a=1" if method in ("POST", "PUT", "PATCH") else b""
        headers = f"Content-Length: {len(body)}\r\n" if body else ""
        add("method", get("/", headers, method=method, body=body), f"{method[:20]} /")
    add("method", b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: {host}\r\n\r\n", "CONNECT")

    for headers, note in (
        ("X-Big: " + "a" * 100_000 + "\r\n", "one 100 kB header"),
        ("X-Big: " + "a" * 60_000 + "\r\n", "one 60 kB header"),
        ("".join(f"X-H{i}: {i}\r\n" for i in range(2000)), "2000 headers"),
        ("Cookie: " + "; ".join(f"c{i}={'v' * 40}" for i in range(1000)) + "\r\n",
         "a 45 kB cookie"),
        ("Cookie: <script>window.__pwned=1</script>\r\n", "markup cookie"),
        ("User-Agent: <script>window.__pwned=1</script>\r\n", "markup user agent"),
        (("X-Forwarded-Host: <script>\r\nX-Forwarded-For: <script>\r\nX-Forwarded-Proto: "
         "javascript\r\n"), "markup forwarded headers"),
        ("Accept-Language: " + "x" * 5000 + "\r\n", "5 kB accept-language"),
        ("Origin: http://evil.example\r\n", "foreign origin"),
        ("Bad Header Name: 1\r\n", "spaces in a header name"),
        ("NoColonHeader\r\n", "a header line without colon"),
        (" folded: continuation\r\n", "a folded first header"),
        ("X-Ctl: \x01\x02\x7f\r\n", "control bytes in a value"),
    ):
        add("header", get("/", headers), note)
    for request, note in (
        (b"GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n", "foreign Host"),
        (b"GET / HTTP/1.1\r\nHost: <script>window.__pwned=1</script>\r\nConnection: close\r\n\r\n",
         "markup Host"),
        (b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", "no Host"),
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n", "two Hosts"),
        (b"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: -1\r\nConnection: close\r\n\r\n",
         "negative Content-Length"),
        ((b"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: 99999999999\r\nConnection: close"
         b"\r\n\r\nabc"), "Content-Length over the body limit"),
        (b"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: abc\r\nConnection: close\r\n\r\n",
         "non-numeric Content-Length"),
        ((b"POST / HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\nConnection: close"
         b"\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"), "bad chunk size"),
        ((b"POST / HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n"
         b"Connection: close\r\n\r\n0\r\n\r\n"), "chunked and Content-Length"),
        ((b"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
         b"Origin: http://evil.example\r\n\r\n"), "websocket from a foreign origin"),
        ((b"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
         b"Origin: http://{host}\r\n\r\n"), "websocket without a session"),
        ((b"GET /ws?bokeh-session-id=%3Cscript%3E HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket"
         b"\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
         b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://{host}\r\n\r\n"),
         "websocket with a markup session id"),
        ((b"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         b"Sec-WebSocket-Version: 99\r\nSec-WebSocket-Key: x\r\nOrigin: http://{host}\r\n\r\n"),
         "websocket, bad version and key"),
    ):
        add("header", request, note)

    for request, note in (
        (b"GET / HTTP/0.9\r\n\r\n", "HTTP/0.9"),
        (b"GET / HTTP/2.0\r\nHost: {host}\r\n\r\n", "HTTP/2.0 in text"),
        (b"GET / HTTP/9.9\r\nHost: {host}\r\n\r\n", "HTTP/9.9"),
        (b"GET /\r\n\r\n", "no version"),
        (b"GET  /  HTTP/1.1\r\nHost: {host}\r\n\r\n", "extra spaces"),
        (b"GET / HTTP/1.1\nHost: {host}\nConnection: close\n\n", "bare LF"),
        (b"\r\n\r\n", "empty request line"),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(32)) * 4, "a TLS hello"),
        (b"\x00" * 1024 + b"\r\n\r\n", "NUL bytes"),
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "HTTP/2 preface"),
        (b"", "connect and close"),
    ):
        add("protocol", request, note)
    return cases


def categories(cases: list[dict]) -> dict[str, int]:
    return dict(sorted(Counter(c["category"] for c in cases).items()))


# -- what is watched ----------------------------------------------------------------------------
class TracebackLog(logging.Handler):
    """Records at WARNING+ with exc_info or "Traceback", from the loggers it is attached to
    (each record once); ``case`` names the case running when one arrives."""

    LOGGERS = ("", "bokeh", "tornado", "panel")

    @property
    def case(self) -> str:
        return ",".join(sorted(self.running)) or "between cases"

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.running: set[str] = {"setup"}  # the cases under way (several pages at once)
        self.tracebacks: list[dict] = []
        self.warnings: list[dict] = []
        self._lock2 = threading.Lock()

    def emit(self, record):
        with self._lock2:  # a record reaches every logger up its chain: keep it once
            if getattr(record, "_crafted_seen", False):
                return
            record._crafted_seen = True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad record is still a record
            message = str(record.msg)
        text = message
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        entry = {"case": self.case, "logger": record.name, "level": record.levelname,
                 "text": _clip(text)}
        if record.exc_info or "Traceback" in message:
            self.tracebacks.append(entry)
        else:
            self.warnings.append(entry)

    def attach(self):
        for name in self.LOGGERS:
            logging.getLogger(name).addHandler(self)

    def detach(self):
        for name in self.LOGGERS:
            logging.getLogger(name).removeHandler(self)


class StderrTee(io.TextIOBase):
    """``sys.stderr`` (or ``sys.stdout``) that also keeps what is written, by case."""

    def __init__(self, stream, log: TracebackLog):
        self.stream, self.log = stream, log
        self.chunks: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def write(self, text):
        with self._lock:
            self.chunks.append((self.log.case, text))
        return self.stream.write(text)

    def flush(self):
        self.stream.flush()

    def tracebacks(self) -> list[dict]:
        """Each "Traceback" block written (chained ones as one), with the case it came in."""
        found, current, ended = [], None, False
        for case, line in _lines(self.chunks):
            if "Traceback (most recent call last)" in line and (current is None or ended):
                current, ended = {"case": case, "text": line}, False
                found.append(current)
            elif current is not None and not ended:
                current["text"] += "\n" + line
                # the exception line: unindented, after the frames; a chain may follow
                if line and not line.startswith((" ", "\t", "Traceback", "During handling",
                                                 "The above exception")):
                    ended = True
            elif current is not None and ended and line.startswith(("During handling",
                                                                   "The above exception")):
                current["text"] += "\n" + line
                ended = False
            elif line.strip():
                current = None
        for t in found:
            t["text"] = _clip(t["text"])
        return found


def _clip(text: str, head: int = 1000, tail: int = 3000) -> str:
    """``text``'s beginning and end (a traceback's last frames say where it broke)."""
    return text if len(text) <= head + tail else text[:head] + "\n[…]\n" + text[-tail:]


def _lines(chunks):
    buffer, case = "", "setup"
    for case_now, text in chunks:
        buffer += text
        case = case_now
        while "\n" in buffer:
            line, buffer = buffer.split("\n", 1)
            yield case, line
    if buffer:
        yield case, buffer


# elements a payload would add; any in the page (light or shadow DOM) is an injection
INJECTED_JS = """() => {
  const found = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      if (el.classList && el.classList.contains("injected"))
        found.push(el.tagName + " in " + (el.parentElement ? el.parentElement.className : "?"));
      if (el.tagName === "A" && (el.getAttribute("href") || "").startsWith("javascript:"))
        found.push("A javascript:");
      if (el.tagName === "SCRIPT" && el.textContent.includes("__pwned")) found.push("SCRIPT");
      for (const attr of ["onerror", "onload", "onmouseover"])
        if (el.hasAttribute && el.hasAttribute(attr) && (el.getAttribute(attr) || "").includes("__pwned"))
          found.push(el.tagName + " " + attr);
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  return {found, pwned: window.__pwned === 1};
}"""

# the text of every <pre> (the notice is one) that says something was refused, through shadow roots
NOTICE_JS = """() => {
  const out = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      if (el.tagName === "PRE") {
        const t = el.textContent || "";
        if (/refused|choose 2 to/.test(t)) out.push(t);
      }
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  return out.join("\\n");
}"""


def judge_notice(expect: dict | None, notice: str) -> list[str]:
    """What the notice got wrong against ``expect`` (empty when right or not judged)."""
    if not expect:
        return []
    wrong = []
    if expect.get("no_notice") and notice:
        wrong.append(f"a notice on a valid link: {notice[:200]!r}")
    for text in expect.get("mention", []):
        if text not in notice:
            wrong.append(f"not refused: {text}")
    for text in expect.get("not_mention", []):
        if text in notice:
            wrong.append(f"refused though valid: {text}")
    return wrong


# -- the run ------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def send_raw(port: int, request: bytes, timeout: float = 5.0) -> dict:
    """Send ``request`` ({host} filled in) and read the answer's status line."""
    request = request.replace(b"{host}", f"127.0.0.1:{port}".encode())
    start = time.monotonic()
    data = b""
    error = None
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            if request:
                s.sendall(request)
            else:
                s.shutdown(socket.SHUT_WR)
            while len(data) < 65536:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                s.settimeout(0.5)  # an answer has begun: its status line is all that counts
    except TimeoutError:
        error = None if data else "timeout"
    except OSError as err:
        error = f"{type(err).__name__}: {err}"
    match = re.match(rb"HTTP/\d(?:\.\d)? (\d{3})", data)
    status = int(match.group(1)) if match else None
    body = data.split(b"\r\n\r\n", 1)[-1] if status and status >= 500 else b""
    return {"status": status, "body_excerpt": body[:600].decode("utf-8", "replace") or None,
            "answer_bytes": len(data), "error": error,
            "seconds": round(time.monotonic() - start, 3)}


def machine() -> dict:
    load = os.getloadavg()
    return {"cpu_count": os.cpu_count(), "load_average": [round(x, 2) for x in load]}


class Servers:
    """lab, compare and runs, each served by ``snnlab.ui.apps.serve`` on its own port."""

    def __init__(self, max_sessions: int):
        from snnlab.ui import apps

        self.apps = apps
        self.ports, self.servers = {}, {}
        for name in APPS:
            port = free_port()
            self.servers[name] = apps.serve(name, port=port, address="127.0.0.1", show=False,
                                            threaded=True, max_sessions=max_sessions)
            self.ports[name] = port
        for port in self.ports.values():
            wait_port(port)

    def url(self, app: str, query_text: str = "") -> str:
        return f"http://127.0.0.1:{self.ports[app]}/{query_text}"

    def wait_for_slot(self, timeout: float = 20.0) -> bool:
        sessions = self.apps.SESSIONS
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sessions.open < sessions.limit:
                return True
            time.sleep(0.1)
        return False

    def stop(self):
        for server in self.servers.values():
            server.stop()


class PageFailed(Exception):
    """The document failed (an HTTP 5xx) or its script never yielded."""


PAGE_CALL_TIMEOUT_S = 10.0


async def _bounded(call, what: str):
    """``await call`` within ``PAGE_CALL_TIMEOUT_S`` (Playwright's evaluate has no timeout)."""
    import asyncio

    try:
        return await asyncio.wait_for(call, timeout=PAGE_CALL_TIMEOUT_S)
    except TimeoutError:
        raise PageFailed(f"the page's script did not answer within {PAGE_CALL_TIMEOUT_S} s "
                         f"({what}): its renderer is busy") from None


async def open_link(browser, servers: Servers, case: dict, ready_timeout: float,
                    settle: float) -> dict:
    """Open ``case``'s link in a new page; what happened."""
    import asyncio

    from playwright.async_api import Error as PlaywrightError

    url = servers.url(case["app"], case["query"])
    result = {"id": case["id"], "category": case["category"], "app": case["app"],
              "note": case["note"], "url_chars": len(url), "status": None, "ready": None,
              "dialogs": [], "pwned": False, "injected": [], "responses_5xx": [],
              "page_errors": [], "notice": "", "notice_wrong": [], "failed": None}
    if case["app"] in ("lab", "compare") and not await asyncio.to_thread(servers.wait_for_slot):
        result["slot_wait_timed_out"] = True
    page = await browser.new_page()

    async def on_dialog(dialog):
        result["dialogs"].append(dialog.message[:200])
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda err: result["page_errors"].append(str(err)[:300]))
    page.on("response", lambda r: r.status >= 500 and result["responses_5xx"].append(
        f"{r.status} {r.url[:200]}"))
    start = time.monotonic()
    try:
        response = await page.goto(url, wait_until="load", timeout=30_000)
        result["status"] = response.status if response is not None else None
        result["goto_s"] = round(time.monotonic() - start, 2)
        if case["app"] == "runs":
            ready = page.get_by_role("button", name="Open in lab")
        else:
            ready = page.get_by_role("button", name="Play", exact=True)
        full = page.get_by_text("The lab is full")
        if result["status"] is not None and result["status"] >= 500:
            raise PageFailed(f"HTTP {result['status']} for the document")
        try:
            await ready.or_(full).first.wait_for(state="visible", timeout=ready_timeout * 1000)
            result["ready"] = "full" if await _bounded(full.count(), "the full check") else "ready"
        except PlaywrightError as err:
            result["ready"] = "timeout"
            result["failed"] = (f"not ready within {ready_timeout} s: "
                                f"{str(err).splitlines()[0][:200]}")
        result["load_s"] = round(time.monotonic() - start, 2)
        await asyncio.sleep(settle)  # an onload/onerror handler runs after its element lands
        # bounded: a page whose script never yields would hold the run forever
        found = await _bounded(page.evaluate(INJECTED_JS), "the injection check")
        result["pwned"], result["injected"] = found["pwned"], found["found"]
        if case["app"] == "lab":
            result["notice"] = await _bounded(page.evaluate(NOTICE_JS), "reading the notice")
            if result["ready"] == "ready":
                result["notice_wrong"] = judge_notice(case.get("expect"), result["notice"])
    except PageFailed as err:
        result["failed"] = str(err)
        result.setdefault("load_s", round(time.monotonic() - start, 2))
    except PlaywrightError as err:
        result["failed"] = f"{type(err).__name__}: {str(err).splitlines()[0][:300]}"
    finally:
        try:
            await asyncio.wait_for(page.close(run_before_unload=False), timeout=10)
        except (TimeoutError, PlaywrightError):
            result["close_failed"] = True
    result["notice_chars"] = len(result["notice"])
    result["notice"] = result["notice"][:300]
    return result


async def open_links(links: list[dict], servers: Servers, log: TracebackLog, pages: int,
                     ready_timeout: float, settle: float, progress) -> list[dict]:
    """Every link case, ``pages`` at a time in one Chromium; results in case order."""
    import asyncio

    from playwright.async_api import async_playwright

    results: list[dict | None] = [None] * len(links)
    queue: asyncio.Queue = asyncio.Queue()
    for i, case in enumerate(links):
        queue.put_nowait((i, case))
    done = [0]

    async def worker(browser):
        while not queue.empty():
            i, case = queue.get_nowait()
            log.running.add(case["id"])
            try:
                outcome = await open_link(browser, servers, case, ready_timeout, settle)
                if outcome["ready"] == "full":  # the cap: wait for a slot, once
                    await asyncio.sleep(1.0)
                    outcome = await open_link(browser, servers, case, ready_timeout, settle)
                    outcome["retried_after_full"] = True
            finally:
                log.running.discard(case["id"])
            results[i] = outcome
            done[0] += 1
            print(f"[{done[0]}/{len(links)}] {case['id']} {outcome['status']} "
                  f"{outcome['ready']} {outcome.get('goto_s')}s/{outcome.get('load_s')}s"
                  + (f" FAILED {outcome['failed']}" if outcome["failed"] else ""),
                  file=progress, flush=True)

    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            # one context: its HTTP cache keeps Bokeh's and Panel's scripts between pages
            context = await browser.new_context(viewport={"width": 1400, "height": 900})
            await asyncio.gather(*(worker(context) for _ in range(max(1, pages))))
            await context.close()
        finally:
            await browser.close()
    return results


def run(settle: float = 1.0, ready_timeout: float = 20.0, max_sessions: int = 8,
        limit: int | None = None, only: list[str] | None = None, pages: int = 1) -> dict:
    import asyncio

    links, raws = link_cases(), http_cases()
    if only:
        links = [c for c in links if c["category"] in only]
        raws = [c for c in raws if c["category"] in only]
    if limit is not None:
        links, raws = links[:limit], raws[:limit]
    home = tempfile.mkdtemp(prefix="snnlab-crafted-")
    os.environ["SNNLAB_HOME"] = home  # the run browser reads an empty index there
    log = TracebackLog()
    log.attach()
    tee = StderrTee(sys.stderr, log)
    out_tee = StderrTee(sys.stdout, log)  # Panel prints an app's traceback to stdout
    stderr, sys.stderr = sys.stderr, tee
    stdout, sys.stdout = sys.stdout, out_tee
    from panel.io.logging import panel_log_handler

    panel_stream = panel_log_handler.setStream(tee)  # Panel logs to stdout by default
    began = time.monotonic()
    report = {"benchmark": "crafted_requests",
              "method": [" ".join(p.split()) for p in __doc__.split("\n\n")[1:-1]],
              "settings": {"settle_s": settle, "ready_timeout_s": ready_timeout,
                           "max_sessions": max_sessions, "pages_at_once": pages,
                           "limit": limit, "only": only},
              "machine_at_start": machine()}
    link_results, raw_results = [], []
    servers = None
    try:
        servers = Servers(max_sessions)
        log.running = set()
        link_results = asyncio.run(open_links(links, servers, log, pages, ready_timeout,
                                              settle, stderr))
        log.running = {"after-links"}
        time.sleep(2.0)  # the last pages' sessions end
        for case in raws:
            for app in APPS:
                log.running = {f"{case['id']}@{app}"}
                answer = send_raw(servers.ports[app], case["request"])
                time.sleep(0.05)  # the server logs a request after answering it
                raw_results.append({"id": case["id"], "category": case["category"], "app": app,
                                    "note": case["note"], **answer})
        log.running = {"teardown"}
        time.sleep(2.0)  # late log records
    finally:
        if servers is not None:
            servers.stop()
        sys.stderr, sys.stdout = stderr, stdout
        panel_log_handler.setStream(panel_stream)
        log.detach()
        shutil.rmtree(home, ignore_errors=True)
    report.update(summarize(links, raws, link_results, raw_results, log, [tee, out_tee]))
    report["wall_s"] = round(time.monotonic() - began, 1)
    report["machine_at_end"] = machine()
    return report


def summarize(links, raws, link_results, raw_results, log: TracebackLog,
              tees: list[StderrTee]) -> dict:
    statuses = [r["status"] for r in link_results if r["status"] is not None] + \
               [r["status"] for r in raw_results if r["status"] is not None]
    page_5xx = [{"id": r["id"], "responses": r["responses_5xx"]}
                for r in link_results if r["responses_5xx"]]
    raw_5xx = [{"id": r["id"], "app": r["app"], "note": r["note"], "status": r["status"]}
               for r in raw_results if r["status"] is not None and r["status"] >= 500]
    printed = [{"logger": name, **t} for name, tee in zip(("stderr", "stdout"), tees)
               for t in tee.tracebacks()]
    tracebacks = log.tracebacks + unlogged(printed, log.tracebacks)
    cases = links + raws
    by_category = categories(cases)
    failed = [{"id": r["id"], "note": r["note"], "reason": r["failed"]}
              for r in link_results if r["failed"]]
    wrong_notices = [{"id": r["id"], "note": r["note"], "wrong": r["notice_wrong"],
                      "notice": r["notice"]} for r in link_results if r["notice_wrong"]]
    no_answer = [{"id": r["id"], "app": r["app"], "note": r["note"], "error": r["error"]}
                 for r in raw_results if r["status"] is None]
    return {
        "cases": len(cases),
        "link_cases": len(links),
        "http_cases": len(raws),
        "cases_per_category": by_category,
        "requests": len(link_results) + sum(1 for r in link_results if r.get("retried_after_full"))
                    + len(raw_results),
        "raw_requests": len(raw_results),
        "status_counts": dict(sorted(Counter(str(s) for s in statuses).items())),
        "http_5xx": len(page_5xx) + len(raw_5xx),
        "http_5xx_cases": (page_5xx + raw_5xx)[:20],
        "raw_without_answer": len(no_answer),
        "raw_without_answer_cases": no_answer[:40],
        "tracebacks": len(tracebacks),
        "traceback_cases": sorted({t["case"] for t in tracebacks}),
        "first_tracebacks": tracebacks[:5],
        "warnings_logged": len(log.warnings),
        "first_warnings": log.warnings[:5],
        "script_executions": sum(1 for r in link_results if r["pwned"]),
        "injected_elements": sum(len(r["injected"]) for r in link_results),
        "injected_cases": [{"id": r["id"], "found": r["injected"]}
                           for r in link_results if r["injected"]][:20],
        "dialogs": sum(len(r["dialogs"]) for r in link_results),
        "page_errors": sum(len(r["page_errors"]) for r in link_results),
        "first_page_errors": [{"id": r["id"], "errors": r["page_errors"][:3]}
                              for r in link_results if r["page_errors"]][:10],
        "failed_to_load": len(failed),
        "failed_cases": failed,
        "lab_full_retries": sum(1 for r in link_results if r.get("retried_after_full")),
        "notices_wrong": len(wrong_notices),
        "notices_wrong_cases": wrong_notices[:40],
        "longest_notice_chars": max((r["notice_chars"] for r in link_results), default=0),
        "load_s_median": _median([r["load_s"] for r in link_results if r.get("load_s")]),
        "load_s_max": max((r["load_s"] for r in link_results if r.get("load_s")), default=None),
        "links": link_results,
        "raw": raw_results,
    }


def unlogged(printed: list[dict], logged: list[dict]) -> list[dict]:
    """The tracebacks written to stderr/stdout that no log record of the same case ends with
    the same line (Panel prints an app's traceback and Tornado logs the same failure): one
    printed block is matched to one record at most."""
    unused = [(t["case"], (t["text"].strip().splitlines() or [""])[-1]) for t in logged]
    out = []
    for t in printed:
        key = (t["case"], (t["text"].strip().splitlines() or [""])[-1])
        if key in unused:
            unused.remove(key)
        else:
            out.append(t)
    return out


def _median(values):
    values = sorted(values)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def summary_line(report: dict) -> str:
    return (
        f"crafted_requests: {report['cases']} cases ({report['link_cases']} links opened in "
        f"Chromium, {report['http_cases']} raw HTTP requests to each of {len(APPS)} apps), "
        f"{report['requests']} requests in {report['wall_s']} s (load average "
        f"{report['machine_at_end']['load_average'][0]}); HTTP 5xx: {report['http_5xx']}; "
        f"server tracebacks: {report['tracebacks']}; script executions: "
        f"{report['script_executions']}; injected elements: {report['injected_elements']}; "
        f"dialogs: {report['dialogs']}; links that failed to load: {report['failed_to_load']}; "
        f"lab notices wrong: {report['notices_wrong']}; raw requests closed without an "
        f"answer: {report['raw_without_answer']}; page script errors: {report['page_errors']}."
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="write the JSON report here")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    parser.add_argument("--settle", type=float, default=1.0,
                        help="seconds a page is left once ready (default 1)")
    parser.add_argument("--ready-timeout", type=float, default=20.0,
                        help="seconds a page may take to show its controls (default 20)")
    parser.add_argument("--max-sessions", type=int, default=8,
                        help="the session cap of the served apps (default 8, as served)")
    parser.add_argument("--pages", type=int, default=1,
                        help="pages open at once (default 1)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N of each kind")
    parser.add_argument("--only", default=None, help="comma list of categories")
    args = parser.parse_args(argv)
    if args.out and Path(args.out).exists() and not args.force:
        print(f"crafted_requests: {args.out} exists; pass --force to overwrite it",
              file=sys.stderr)
        return 2
    only = [c.strip() for c in args.only.split(",") if c.strip()] if args.only else None
    report = run(settle=args.settle, ready_timeout=args.ready_timeout,
                 max_sessions=args.max_sessions, limit=args.limit, only=only, pages=args.pages)
    text = json.dumps(report, indent=1, default=str)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    print(summary_line(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
