"""Coercion of literal input values to their declared widget type (INT, FLOAT, STRING, BOOLEAN).

ComfyUI applies ``int()``, ``float()``, ``str()`` and ``bool()``. We follow it where that is
sound and are stricter where it silently changes meaning:

- INT: ints; whole finite floats (``3.0`` -> 3); strings of digits (``" 12 "`` -> 12).
  Refused: booleans, fractional floats (ComfyUI would truncate 7.9 to 7), NaN and
  infinities (JSON ``1e309`` parses as infinity), other strings such as ``"abc"``.
  Huge ints are kept as they are, so ``2**64`` then fails the declared ``max``.
- FLOAT: ints and floats (ints become floats) and numeric strings, finite only.
  Refused: booleans, NaN, infinities (also ``"inf"``), ints too large for a float, and
  subnormal numbers (non-zero but smaller than 2.2e-308, such as ``1e-320``): dividing
  by one overflows, so a node would fail at run time instead.
- STRING: strings; ints and floats become their decimal text (as ComfyUI's ``str()``).
  Refused: booleans, null, lists and objects.
- BOOLEAN: booleans; the strings ``"true"``/``"false"`` (any case, trimmed); the ints 0 and 1.
  Refused: every other value, notably ``"no"``, ``"0"`` and ``"false "`` variants ComfyUI's
  ``bool("false") == True`` would turn into True.
Any other declared type (combos, sockets, ``*``, unions) is passed through unchanged.
"""

from __future__ import annotations

import math
import re
import sys
from typing import Any

_INT_TEXT = re.compile(r"[+-]?[0-9]+")


class CoercionError(ValueError):
    """A literal cannot be read as its declared type; the message says why."""


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise CoercionError("a boolean is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CoercionError(f"{value} is not a finite number")
        if not value.is_integer():
            raise CoercionError(f"{value} is not a whole number")
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if _INT_TEXT.fullmatch(text) and len(text) <= 4300:
            return int(text)
        raise CoercionError(f"invalid literal for an integer: {value[:80]!r}")
    raise CoercionError(f"a {type(value).__name__} is not an integer")


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise CoercionError("a boolean is not a number")
    if isinstance(value, (int, float)):
        try:
            result = float(value)
        except OverflowError:
            raise CoercionError("the integer is too large for a FLOAT") from None
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            raise CoercionError(f"could not convert string to float: {value[:80]!r}") from None
    else:
        raise CoercionError(f"a {type(value).__name__} is not a number")
    if not math.isfinite(result):
        raise CoercionError(f"{value} is not a finite number")
    if result != 0 and abs(result) < sys.float_info.min:
        raise CoercionError(f"{result!r} is too close to zero (a subnormal number); use 0 or at least 2.2e-308")
    return result


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise CoercionError(f"a {type(value).__name__} is not a string")


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "true":
            return True
        if text == "false":
            return False
        raise CoercionError(f"{value[:80]!r} is not a boolean (use true or false)")
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise CoercionError(f"{value!r:.80} is not a boolean (use true or false)")


_COERCERS = {"INT": _int, "FLOAT": _float, "STRING": _string, "BOOLEAN": _boolean}


def coerce_literal(value: Any, input_type: str) -> Any:
    """`value` read as `input_type`; raises CoercionError with the reason when it cannot be."""
    coercer = _COERCERS.get(input_type)
    return value if coercer is None else coercer(value)
