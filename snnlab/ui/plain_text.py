"""Text from links, records, specs and errors, shown as text.

Panel's ``Str`` pane wraps its text in ``<pre>`` and the page parses the result as HTML, so a
value such as ``<img src=x onerror=...>`` in a refused link became an element that ran script.
``PlainText`` escapes the text itself first: whatever it holds, the page shows those characters.
"""

from __future__ import annotations

from html import escape

import panel as pn

NOTICE_STYLE = {"background": "#fff3cd", "border": "1px solid #ffe69c", "padding": "6px",
                "border-radius": "4px", "white-space": "pre-wrap"}


class PlainText(pn.pane.Str):
    """A ``Str`` pane whose text is never read as markup."""

    def _transform_object(self, obj) -> dict:
        text = "" if obj is None else str(obj)
        # the model unescapes once and sets the result as the element's HTML: escape twice
        return {"object": escape("<pre>" + (escape(text) if text else " ") + "</pre>")}


def choice_labels(values) -> dict[str, str]:
    """``{escaped label: value}`` for a selector's ``objects``, sorted: for widgets whose labels
    the page reads as HTML (``MultiChoice``)."""
    return {escape(str(v)): v for v in sorted(set(values))}


def column_titles(frame) -> dict[str, str]:
    """Escaped titles for a ``Tabulator``'s columns (it shows column titles as HTML; cells are
    plain text)."""
    return {str(c): escape(str(c)) for c in frame.columns}


def notice_pane() -> PlainText:
    """A hidden warning box for refused values and errors."""
    return PlainText("", visible=False, styles=NOTICE_STYLE, sizing_mode="stretch_width")
