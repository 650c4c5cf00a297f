"""Utility nodes, called through their adapter with a fake context."""

from __future__ import annotations

import math
import sys

import pytest

from graph.context import Interrupted
from nodes.api.declare import DeclaredNodeType
from nodes.library.utility.basics import (
    NODES,
    CountTo,
    FloatMath,
    IntMath,
    PreviewAny,
    PrimitiveBoolean,
    PrimitiveFloat,
    PrimitiveInt,
    PrimitiveString,
    PrimitiveStringMultiline,
    SaveText,
    StringConcatenate,
    StringLength,
    StringReplace,
    describe_value,
)


def call(node_cls, ctx=None, **inputs):
    return DeclaredNodeType(node_cls).execute(ctx, inputs)


def test_every_utility_node_declares_cleanly():
    ids = [DeclaredNodeType(cls).schema().class_type for cls in NODES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    "node, value, expected_type, options",
    [
        (PrimitiveInt, 5, "INT", {"min": -sys.maxsize, "max": sys.maxsize, "control_after_generate": True}),
        (PrimitiveFloat, 0.5, "FLOAT", {"min": -sys.maxsize, "max": sys.maxsize, "step": 0.1}),
        (PrimitiveString, "hi", "STRING", {}),
        (PrimitiveStringMultiline, "a\nb", "STRING", {"multiline": True}),
        (PrimitiveBoolean, False, "BOOLEAN", {}),
    ],
)
def test_primitives_match_comfyui(node, value, expected_type, options):
    schema = DeclaredNodeType(node).schema()
    assert schema.category == "utils/primitive"
    assert [i.name for i in schema.inputs] == ["value"]
    assert dict(schema.inputs[0].options) == options
    assert schema.output_types == (expected_type,)
    assert call(node, value=value).values == (value,)


def test_string_nodes():
    assert call(StringConcatenate, string_a="a", string_b="b", delimiter=", ").values == ("a, b",)
    assert call(StringReplace, string="a-b-c", find="-", replace="+").values == ("a+b+c",)
    assert call(StringLength, string="four").values == (4,)
    schema = DeclaredNodeType(StringConcatenate).schema()
    assert [i.name for i in schema.inputs] == ["string_a", "string_b", "delimiter"]
    assert schema.input("delimiter").options == {"default": ""}


@pytest.mark.parametrize(
    "value, text",
    [(None, "None"), ("s", "s"), (3, "3"), (1.5, "1.5"), (True, "True"), ({"a": [1]}, '{\n    "a": [\n        1\n    ]\n}')],
)
def test_describe_value(value, text):
    assert describe_value(value) == text


def test_describe_value_falls_back_to_str():
    class Thing:
        def __str__(self):
            return "a thing"

    assert describe_value(Thing()) == "a thing"


def test_preview_any_returns_ui_text_and_result():
    out = call(PreviewAny, source=[1, 2])
    assert out.values == ("[\n    1,\n    2\n]",)
    assert out.ui == {"text": ["[\n    1,\n    2\n]"]}
    assert DeclaredNodeType(PreviewAny).schema().output_node


@pytest.mark.parametrize(
    "a, b, operation, expected",
    [(7, 2, "add", 9), (7, 2, "subtract", 5), (7, 2, "multiply", 14), (7, 2, "divide", 3), (-7, 2, "divide", -4),
     (7, 2, "modulo", 1), (2, 10, "power", 1024), (7, 2, "min", 2), (7, 2, "max", 7), (2**70, 1, "add", 2**70 + 1)],
)
def test_int_math(a, b, operation, expected):
    assert call(IntMath, a=a, b=b, operation=operation).values == (expected,)


@pytest.mark.parametrize(
    "a, b, operation, message",
    [(1, 0, "divide", "division by zero"), (1, 0, "modulo", "division by zero"),
     (2, -1, "power", "negative exponent"), (3, 10**9, "power", "bits"), (1, 1, "xor", "unknown operation 'xor'")],
)
def test_int_math_errors_are_clear(a, b, operation, message):
    with pytest.raises(ValueError, match=message):
        call(IntMath, a=a, b=b, operation=operation)


def test_int_math_power_of_one_and_zero_is_cheap():
    assert call(IntMath, a=1, b=10**12, operation="power").values == (1,)
    assert call(IntMath, a=-1, b=10**12 + 1, operation="power").values == (-1,)


@pytest.mark.parametrize(
    "a, b, operation, expected",
    [(1.5, 2.0, "add", 3.5), (1.5, 2.0, "subtract", -0.5), (1.5, 2.0, "multiply", 3.0), (1.0, 4.0, "divide", 0.25),
     (5.5, 2.0, "modulo", 1.5), (2.0, 0.5, "power", math.sqrt(2.0)), (1.0, 2.0, "min", 1.0), (1.0, 2.0, "max", 2.0)],
)
def test_float_math(a, b, operation, expected):
    assert call(FloatMath, a=a, b=b, operation=operation).values == pytest.approx((expected,))


@pytest.mark.parametrize(
    "a, b, operation, message",
    [(1.0, 0.0, "divide", "division by zero"), (10.0, 1000.0, "power", "no finite real result"),
     (-8.0, 0.5, "power", "no finite real result"), (1.0, 1.0, "nope", "unknown operation")],
)
def test_float_math_errors_are_clear(a, b, operation, message):
    with pytest.raises(ValueError, match=message):
        call(FloatMath, a=a, b=b, operation=operation)


def test_math_operation_combos():
    schema = DeclaredNodeType(IntMath).schema()
    assert schema.input("operation").choices[0] == "add"
    assert schema.input("operation").options == {"default": "add"}


def test_save_text_writes_counter_named_files(make_ctx, runtime):
    ctx = make_ctx("9")
    first = call(SaveText, ctx, text="hello", filename_prefix="notes/run")
    second = call(SaveText, ctx, text="again", filename_prefix="notes/run")
    assert first.values == ()
    assert first.ui["files"] == [{"filename": "run_00001_.txt", "subfolder": "notes", "type": "output"}]
    assert second.ui["files"][0]["filename"] == "run_00002_.txt"
    assert first.ui["text"] == ["hello"]
    out_dir = runtime.folders.output_dir
    assert (out_dir / "notes" / "run_00001_.txt").read_text() == "hello"
    assert (out_dir / "notes" / "run_00002_.txt").read_text() == "again"
    assert DeclaredNodeType(SaveText).schema().output_node


def test_save_text_refuses_escaping_prefixes(make_ctx, runtime):
    from folders.safe_paths import UnsafePathError

    for prefix in ("../evil", "/abs/x", "a\\b", ""):
        with pytest.raises(UnsafePathError):
            call(SaveText, make_ctx(), text="x", filename_prefix=prefix)
    assert not any(runtime.folders.output_dir.parent.glob("evil*"))


def test_save_text_without_runtime_is_a_clear_error():
    from graph.context import NodeContext

    with pytest.raises(RuntimeError, match="needs a runtime"):
        call(SaveText, NodeContext(node_id="1", prompt_id="p"), text="x", filename_prefix="x")


def test_count_to_reports_progress(make_ctx, progress):
    assert call(CountTo, make_ctx("4"), steps=3, seconds_per_step=0.0).values == (3,)
    assert progress.calls == [("4", 1, 3), ("4", 2, 3), ("4", 3, 3)]


def test_count_to_stops_when_interrupted(make_ctx, progress):
    ctx = make_ctx("4")

    def interrupt_after_two(node_id, value, total, preview):
        progress.calls.append((node_id, value, total))
        if value == 2:
            ctx.interrupt.set()

    ctx.on_progress = interrupt_after_two
    with pytest.raises(Interrupted):
        call(CountTo, ctx, steps=100, seconds_per_step=0.0)
    assert [c[1] for c in progress.calls] == [1, 2]


def test_count_to_sleep_checks_the_interrupt(make_ctx):
    ctx = make_ctx()
    ctx.interrupt.set()
    with pytest.raises(Interrupted):
        call(CountTo, ctx, steps=5, seconds_per_step=30.0)  # returns at once: interrupted before sleeping
