"""Hyperparameter values as people type them: one reader for ``--param``, URL queries and sweep
specs, and one type of layer widths.

Text is read by the declared parameter's type, never by guessing (YAML reads ``1e-3`` as a
string, ``1:30`` as 90 and ``true`` as a number):

- numbers: ASCII decimal notation only (``1e-3``, ``.5``, ``-2``, ``+3.``); no ``nan``/``inf``
  spellings, no digits of other scripts (``²``, ``٣``), at most ``MAX_DIGITS`` digits;
- integers: ``-12``, ``40`` (no fractions, no exponents);
- booleans (only for boolean parameters): true/false, yes/no, on/off, 1/0, any case;
- layer widths: ``40``, ``40,40``, ``[40, 40]``, ``(40, 40)``; ``[]``, ``()`` or nothing for
  none;
- choices: the text of one of the choices.

Anything else raises ``ValueError`` with a message that names the parameter and what it takes.
"""

from __future__ import annotations

import math
import numbers
import re

import numpy as np
import param

MAX_DIGITS = 30  # longer numbers are refused before int() or float() reads them
MAX_LAYER_WIDTH = 10_000
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?", re.ASCII)
_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)
_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


class LayerWidths(param.Parameter):
    """A tuple of any length (possibly empty) of layer widths in [1, ``MAX_LAYER_WIDTH``].

    Lists become tuples and NumPy integers ``int`` (records and sweeps hand them over). The
    check runs on every assignment, through the descriptor's ``__set__`` (param's public
    extension point), and on the default.
    """

    def __init__(self, default=(), **params):
        super().__init__(default=layer_widths("layer widths", default), **params)

    def __set__(self, obj, val):
        super().__set__(obj, layer_widths(self.name, val))


def layer_widths(name: str, value) -> tuple[int, ...]:
    """``value`` as a tuple of ``int`` widths; ``ValueError`` naming ``name`` otherwise."""
    if not isinstance(value, (tuple, list)) or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
            and 1 <= v <= MAX_LAYER_WIDTH for v in value):
        raise ValueError(f"{name!r} must be layer widths in [1, {MAX_LAYER_WIDTH}], "
                         f"got {value!r}")
    return tuple(int(v) for v in value)


def read_value(key: str, declared: param.Parameter, raw):
    """The value of parameter ``key`` (declared as ``declared``) from ``raw``.

    ``raw`` is text (a flag, a URL, a spec) or an already typed value (a record, the API); text
    is read by the parameter's type, typed values are normalised (lists to tuples, NumPy and
    ``Decimal`` numbers to ``int``/``float``). Bounds are checked by the caller.
    """
    if isinstance(raw, str):
        return _read_text(key, declared, raw.strip())
    return _normalise(key, declared, raw)


def _read_text(key: str, declared: param.Parameter, text: str):
    if isinstance(declared, param.Boolean):
        lowered = text.lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
        raise ValueError(f"parameter {key!r} takes true or false, not {_quote(text)}")
    if isinstance(declared, param.Integer):
        return _integer(key, text)
    if isinstance(declared, param.Number):
        return _number(key, text)
    if isinstance(declared, LayerWidths):
        inner = text
        if inner[:1] + inner[-1:] in ("[]", "()"):
            inner = inner[1:-1]
        parts = [p.strip() for p in inner.split(",")]
        if parts and parts[-1] == "":  # "(40,)"
            parts = parts[:-1]
        return tuple(_integer(key, p) for p in parts) if any(parts) else ()
    if isinstance(declared, param.Selector):
        for choice in declared.objects:
            if str(choice) == text:
                return choice
        raise ValueError(f"parameter {key!r} takes one of "
                         f"{', '.join(map(str, declared.objects))}; not {_quote(text)}")
    if isinstance(declared, param.String):
        return text
    raise ValueError(f"parameter {key!r} cannot be set from text")


def _normalise(key: str, declared: param.Parameter, value):
    if isinstance(declared, LayerWidths) and isinstance(value, (list, tuple)):
        return tuple(_normalise(key, param.Integer(), v) for v in value)
    if isinstance(value, (bool, np.bool_)):
        if isinstance(declared, param.Boolean):
            return bool(value)
        if isinstance(declared, (param.Number, LayerWidths)):
            raise ValueError(f"parameter {key!r} takes a number, not {value}")
        return value
    if isinstance(value, numbers.Number) and isinstance(declared, (param.Number, param.Integer)):
        try:  # Decimal is a Number but not a Real; complex numbers have no float()
            as_float = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"parameter {key!r} takes a real number, not {value!r}") from None
        except OverflowError:  # an int of hundreds of digits
            raise ValueError(f"parameter {key!r} must be a finite number; "
                             f"{len(str(abs(value)))}-digit numbers are out of range") from None
        if not math.isfinite(as_float):
            raise ValueError(f"parameter {key!r} must be a finite number, not {value}")
        if isinstance(declared, param.Integer):
            # integers are compared exactly: above 2**53 a float no longer holds every one
            exact = isinstance(value, (int, np.integer))
            if not (exact or (as_float.is_integer() and value == int(value))):
                raise ValueError(f"parameter {key!r} takes a whole number, not {value}")
            return int(value)
        return as_float
    return value


def read_option(key: str, default, raw):
    """A task option from ``raw`` text, read by the type of its ``default`` (a task builder's
    keyword default): booleans, whole numbers, numbers, text; an option whose default is
    ``None`` takes ``none``, a whole number, whole numbers (``26,26``, ``[1, 7]``) or text.
    Typed values (a preset, a record, a sweep spec) are returned as they are."""
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    if isinstance(default, bool):
        return _read_text(key, param.Boolean(), text)
    if isinstance(default, int):
        return _integer(key, text)
    if isinstance(default, float):
        return _number(key, text)
    if default is None:
        if text.lower() in ("none", "null", ""):
            return None
        if _INTEGER.fullmatch(text) and len(text) <= MAX_DIGITS:
            return int(text)
        inner = text[1:-1] if text[:1] + text[-1:] in ("[]", "()") else text
        parts = [p.strip() for p in inner.split(",") if p.strip()]
        if "," in text and parts and all(_INTEGER.fullmatch(p) for p in parts):
            return [_integer(key, p) for p in parts]
    return text


def read_number(text: str) -> float | None:
    """``text`` as a finite number when it is written as one (ASCII decimal), else ``None``."""
    if not _NUMBER.fullmatch(text) or len(text) > MAX_DIGITS:
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _integer(key: str, text: str) -> int:
    if not _INTEGER.fullmatch(text) or len(text) > MAX_DIGITS:
        raise ValueError(f"parameter {key!r} takes a whole number (like 40), "
                         f"not {_quote(text)}")
    return int(text)


def _number(key: str, text: str) -> float:
    if not _NUMBER.fullmatch(text) or len(text) > MAX_DIGITS:
        raise ValueError(f"parameter {key!r} takes a finite number (like 0.5 or 1e-3), "
                         f"not {_quote(text)}")
    value = float(text)
    if not math.isfinite(value):  # 1e999
        raise ValueError(f"parameter {key!r} must be a finite number, not {_quote(text)}")
    return value


def _quote(text: str, limit: int = 40) -> str:
    """``text`` quoted for a message, cut to ``limit`` characters (it may come from a link)."""
    return repr(text if len(text) <= limit else text[:limit] + "…")
