"""Plain string nodes with ComfyUI's ids, inputs and results (comfy_extras/nodes_string.py):
StringCompare, StringContains, StringSubstring, StringTrim, CaseConverter.

Results are Python's own string operations: `string[start:end]`, `str.strip`, `str.upper`,
`str.capitalize`, `str.title`, ... An unknown mode (possible only when the node is called
directly, since validation checks combos) is an error here, where ComfyUI returns the input.
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Boolean, Combo, Int, Node, Out, String

COMPARE_MODES = {"Starts With": str.startswith, "Ends With": str.endswith, "Equal": str.__eq__}
TRIM_MODES = {"Both": str.strip, "Left": str.lstrip, "Right": str.rstrip}
CASE_MODES = {"UPPERCASE": str.upper, "lowercase": str.lower, "Capitalize": str.capitalize, "Title Case": str.title}


def text(node: str, name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{node}: input '{name}' must be a STRING, got {type(value).__name__}")
    return value


def mode_function(node: str, mode: Any, modes: dict) -> Any:
    if mode not in modes:
        raise ValueError(f"{node}: input 'mode' must be one of {list(modes)}, got {mode!r}")
    return modes[mode]


class StringCompare(Node):
    node_id = "StringCompare"
    display_name = "Compare"
    category = "utils/string"
    inputs = [
        String("string_a", multiline=True),
        String("string_b", multiline=True),
        Combo("mode", list(COMPARE_MODES)),
        Boolean("case_sensitive", default=True),
    ]
    outputs = [Out("BOOLEAN")]

    @classmethod
    def run(cls, ctx: Any, *, string_a: str, string_b: str, mode: str, case_sensitive: bool) -> tuple:
        compare = mode_function(cls.node_id, mode, COMPARE_MODES)
        a, b = text(cls.node_id, "string_a", string_a), text(cls.node_id, "string_b", string_b)
        if not case_sensitive:
            a, b = a.lower(), b.lower()
        return (bool(compare(a, b)),)


class StringContains(Node):
    node_id = "StringContains"
    display_name = "Contains"
    category = "utils/string"
    inputs = [
        String("string", multiline=True),
        String("substring", multiline=True),
        Boolean("case_sensitive", default=True),
    ]
    outputs = [Out("BOOLEAN", "contains")]

    @classmethod
    def run(cls, ctx: Any, *, string: str, substring: str, case_sensitive: bool) -> tuple:
        whole, part = text(cls.node_id, "string", string), text(cls.node_id, "substring", substring)
        if not case_sensitive:
            whole, part = whole.lower(), part.lower()
        return (part in whole,)


class StringSubstring(Node):
    node_id = "StringSubstring"
    display_name = "Substring"
    category = "utils/string"
    description = "string[start:end], as Python slices: negative positions count from the end."
    inputs = [String("string", multiline=True), Int("start"), Int("end")]
    outputs = [Out("STRING")]

    @classmethod
    def run(cls, ctx: Any, *, string: str, start: int, end: int) -> tuple:
        for name, value in (("start", start), ("end", end)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{cls.node_id}: input '{name}' must be an INT, got {value!r}")
        return (text(cls.node_id, "string", string)[start:end],)


class StringTrim(Node):
    node_id = "StringTrim"
    display_name = "Trim"
    category = "utils/string"
    description = "Removes whitespace from both ends, the left or the right."
    inputs = [String("string", multiline=True), Combo("mode", list(TRIM_MODES))]
    outputs = [Out("STRING")]

    @classmethod
    def run(cls, ctx: Any, *, string: str, mode: str) -> tuple:
        return (mode_function(cls.node_id, mode, TRIM_MODES)(text(cls.node_id, "string", string)),)


class CaseConverter(Node):
    node_id = "CaseConverter"
    display_name = "Case Converter"
    category = "utils/string"
    inputs = [String("string", multiline=True), Combo("mode", list(CASE_MODES))]
    outputs = [Out("STRING")]

    @classmethod
    def run(cls, ctx: Any, *, string: str, mode: str) -> tuple:
        return (mode_function(cls.node_id, mode, CASE_MODES)(text(cls.node_id, "string", string)),)


NODES = [CaseConverter, StringTrim, StringContains, StringCompare, StringSubstring]
