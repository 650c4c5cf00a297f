"""Socket type compatibility: the one rule that decides whether an output may feed an input.

ComfyUI's rules (comfy_execution/validation.py): the types are equal; either side is
the wildcard ``*`` (or V3's match type ``COMFY_MATCHTYPE_V3``); a combo-typed output (a list
of choices, or ``COMBO``) feeds a combo input; or two comma-separated type sets such as
``"FLOAT,INT"`` share a member.
"""

from __future__ import annotations

from typing import Any

WILDCARD = "*"
COMBO = "COMBO"
# ComfyUI's V3 match type: one of its template's types, which ComfyUI's validation treats as a wildcard.
MATCH_TYPE = "COMFY_MATCHTYPE_V3"


def _is_combo(type_: Any) -> bool:
    return isinstance(type_, (list, tuple)) or type_ == COMBO


def _type_set(type_: str) -> set[str]:
    return {part.strip() for part in type_.split(",") if part.strip()}


def types_compatible(output_type: Any, input_type: Any) -> bool:
    """True when a value of `output_type` may be linked into an input of `input_type`.

    Either argument may be a type name (``"IMAGE"``, ``"FLOAT,INT"``, ``"*"``) or, for a
    legacy combo, the list of its choices.
    """
    if isinstance(output_type, str) and isinstance(input_type, str):
        if output_type == input_type:
            return True
        if output_type in (WILDCARD, MATCH_TYPE) or input_type in (WILDCARD, MATCH_TYPE):
            return True
        return bool(_type_set(output_type) & _type_set(input_type))
    if output_type == WILDCARD or input_type == WILDCARD:
        return True
    return _is_combo(output_type) and _is_combo(input_type)
