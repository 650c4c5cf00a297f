"""Utility nodes that need no model: primitives, math, strings, text output and a progress demo.

The primitive and string nodes carry ComfyUI's ids, inputs and outputs
(comfy_extras/nodes_primitive.py, nodes_string.py, nodes_preview_any.py), so workflows
using them run unchanged. IntMath, FloatMath, SaveText and CountTo are latentgraph's own.
"""

from __future__ import annotations

import json
import math
import sys
import time
from typing import Any

from nodes.api.declare import Boolean, Combo, Float, Int, Node, Out, Socket, String
from nodes.api.runtime import runtime_of
from nodes.library.output_files import SavesNamedFiles

# ------------------------------------------------------------------ primitives (ComfyUI ids)


class PrimitiveInt(Node):
    node_id = "PrimitiveInt"
    display_name = "Int"
    category = "utils/primitive"
    inputs = [Int("value", min=-sys.maxsize, max=sys.maxsize, control_after_generate=True)]
    outputs = [Out("INT")]

    @classmethod
    def run(cls, ctx: Any, *, value: int) -> tuple:
        return (value,)


class PrimitiveFloat(Node):
    node_id = "PrimitiveFloat"
    display_name = "Float"
    category = "utils/primitive"
    inputs = [Float("value", min=-sys.maxsize, max=sys.maxsize, step=0.1)]
    outputs = [Out("FLOAT")]

    @classmethod
    def run(cls, ctx: Any, *, value: float) -> tuple:
        return (value,)


class PrimitiveString(Node):
    node_id = "PrimitiveString"
    display_name = "String"
    category = "utils/primitive"
    inputs = [String("value")]
    outputs = [Out("STRING")]

    @classmethod
    def run(cls, ctx: Any, *, value: str) -> tuple:
        return (value,)


class PrimitiveStringMultiline(Node):
    node_id = "PrimitiveStringMultiline"
    display_name = "String (Multiline)"
    category = "utils/primitive"
    inputs = [String("value", multiline=True)]
    outputs = [Out("STRING")]

    @classmethod
    def run(cls, ctx: Any, *, value: str) -> tuple:
        return (value,)


class PrimitiveBoolean(Node):
    node_id = "PrimitiveBoolean"
    display_name = "Boolean"
    category = "utils/primitive"
    inputs = [Boolean("value")]
    outputs = [Out("BOOLEAN")]

    @classmethod
    def run(cls, ctx: Any, *, value: bool) -> tuple:
        return (value,)


# ------------------------------------------------------------------ strings (ComfyUI ids)


class StringConcatenate(Node):
    node_id = "StringConcatenate"
    display_name = "Concatenate"
    category = "utils/string"
    inputs = [String("string_a", multiline=True), String("string_b", multiline=True),
              String("delimiter", default="")]
    outputs = [Out("STRING")]

    @classmethod
    def run(cls, ctx: Any, *, string_a: str, string_b: str, delimiter: str) -> tuple:
        return (delimiter.join((string_a, string_b)),)


class StringReplace(Node):
    node_id = "StringReplace"
    display_name = "Replace"
    category = "utils/string"
    inputs = [String("string", multiline=True), String("find", multiline=True), String("replace", multiline=True)]
    outputs = [Out("STRING")]

    @classmethod
    def run(cls, ctx: Any, *, string: str, find: str, replace: str) -> tuple:
        # str.replace("") would insert `replace` between every character; ComfyUI does that too.
        return (string.replace(find, replace),)


class StringLength(Node):
    node_id = "StringLength"
    display_name = "Length"
    category = "utils/string"
    inputs = [String("string", multiline=True)]
    outputs = [Out("INT", "length")]

    @classmethod
    def run(cls, ctx: Any, *, string: str) -> tuple:
        return (len(string),)


def describe_value(value: Any) -> str:
    """Text shown for any value: strings as they are, numbers via str, the rest as JSON or str."""
    if value is None:
        return "None"
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):
        return str(value)
    try:
        return json.dumps(value, indent=4)
    except (TypeError, ValueError):
        try:
            return str(value)
        except Exception:
            return "source exists, but could not be serialized."


class PreviewAny(Node):
    node_id = "PreviewAny"
    display_name = "Preview as Text"
    category = "utils"
    # ComfyUI v0.8's PreviewAny has no outputs; the STRING output is newer ComfyUI's (a documented difference).
    description = "Shows any value as text in the editor and passes the text on."
    output_node = True
    inputs = [Socket("*", "source")]
    outputs = [Out("STRING")]

    @classmethod
    def run(cls, ctx: Any, *, source: Any = None) -> dict:
        text = describe_value(source)
        return {"ui": {"text": [text]}, "result": (text,)}


# ------------------------------------------------------------------ math (latentgraph's own)

# Largest result IntMath computes with `power`, in bits, so a typo cannot hang the worker.
MAX_POWER_BITS = 1 << 20


def _int_power(a: int, b: int) -> int:
    if b < 0:
        raise ValueError(f"IntMath power: negative exponent {b} has no integer result; use FloatMath")
    if abs(a) > 1 and a.bit_length() * b > MAX_POWER_BITS:
        raise ValueError(f"IntMath power: {a} ** {b} would have more than {MAX_POWER_BITS} bits")
    return a**b


def _int_divide(a: int, b: int, op: str) -> int:
    if b == 0:
        raise ValueError(f"IntMath {op}: division by zero (b is 0)")
    return a // b if op == "divide" else a % b


INT_OPERATIONS = {
    "add": lambda a, b: a + b,
    "subtract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b,
    "divide": lambda a, b: _int_divide(a, b, "divide"),
    "modulo": lambda a, b: _int_divide(a, b, "modulo"),
    "power": _int_power,
    "min": min,
    "max": max,
}


class IntMath(Node):
    node_id = "IntMath"
    display_name = "Int Math"
    category = "utils/math"
    description = "a (operation) b on integers; divide rounds toward negative infinity."
    inputs = [Int("a", default=0), Int("b", default=0), Combo("operation", list(INT_OPERATIONS), default="add")]
    outputs = [Out("INT")]

    @classmethod
    def run(cls, ctx: Any, *, a: int, b: int, operation: str) -> tuple:
        if operation not in INT_OPERATIONS:
            raise ValueError(f"IntMath: unknown operation {operation!r}; expected one of {list(INT_OPERATIONS)}")
        return (int(INT_OPERATIONS[operation](int(a), int(b))),)


def _float_divide(a: float, b: float, op: str) -> float:
    if b == 0:
        raise ValueError(f"FloatMath {op}: division by zero (b is 0)")
    return a / b if op == "divide" else math.fmod(a, b)


def _float_power(a: float, b: float) -> float:
    try:
        result = math.pow(a, b)
    except (OverflowError, ValueError) as exc:
        raise ValueError(f"FloatMath power: {a} ** {b} has no finite real result ({exc})") from None
    return result


FLOAT_OPERATIONS = {
    "add": lambda a, b: a + b,
    "subtract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b,
    "divide": lambda a, b: _float_divide(a, b, "divide"),
    "modulo": lambda a, b: _float_divide(a, b, "modulo"),
    "power": _float_power,
    "min": min,
    "max": max,
}


class FloatMath(Node):
    node_id = "FloatMath"
    display_name = "Float Math"
    category = "utils/math"
    description = "a (operation) b on floats."
    inputs = [Float("a", default=0.0, step=0.01), Float("b", default=0.0, step=0.01),
              Combo("operation", list(FLOAT_OPERATIONS), default="add")]
    outputs = [Out("FLOAT")]

    @classmethod
    def run(cls, ctx: Any, *, a: float, b: float, operation: str) -> tuple:
        if operation not in FLOAT_OPERATIONS:
            raise ValueError(f"FloatMath: unknown operation {operation!r}; expected one of {list(FLOAT_OPERATIONS)}")
        return (float(FLOAT_OPERATIONS[operation](float(a), float(b))),)


# ------------------------------------------------------------------ output and progress


class SaveText(SavesNamedFiles):
    node_id = "SaveText"
    display_name = "Save Text"
    category = "utils/string"
    description = "Writes the text to <output>/<prefix>_00001_.txt (ComfyUI's counter naming)."
    output_node = True
    inputs = [String("text", multiline=True, force_input=True),
              String("filename_prefix", default="latentgraph",
                     tooltip="File name prefix; may contain a subfolder, e.g. notes/run")]
    outputs = []

    @classmethod
    def run(cls, ctx: Any, *, text: str, filename_prefix: str) -> dict:
        folders = runtime_of(ctx, "SaveText").folders
        path, subfolder, filename = folders.next_output_path(filename_prefix, "txt")
        path.write_text(str(text), encoding="utf-8")
        return {"ui": {"text": [str(text)], "files": [{"filename": filename, "subfolder": subfolder,
                                                        "type": "output"}]}}


class CountTo(Node):
    node_id = "CountTo"
    display_name = "Count To (progress demo)"
    category = "utils/debug"
    description = "Counts to `steps`, reporting progress after each step and waiting `seconds_per_step` between."
    inputs = [Int("steps", default=10, min=1, max=100000),
              Float("seconds_per_step", default=0.0, min=0.0, max=60.0, step=0.01)]
    outputs = [Out("INT", "count")]

    @classmethod
    def run(cls, ctx: Any, *, steps: int, seconds_per_step: float) -> tuple:
        for step in range(1, int(steps) + 1):
            if seconds_per_step > 0:
                _interruptible_sleep(ctx, float(seconds_per_step))
            ctx.progress(step, int(steps))  # raises graph.context.Interrupted when asked to stop
        return (int(steps),)


def _interruptible_sleep(ctx: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        ctx.check_interrupted()
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.02))


NODES = [
    PrimitiveInt, PrimitiveFloat, PrimitiveString, PrimitiveStringMultiline, PrimitiveBoolean,
    StringConcatenate, StringReplace, StringLength, PreviewAny,
    IntMath, FloatMath, SaveText, CountTo,
]
