"""What a declared node returns: the shapes normalised, bad values named, async runs completed."""

from __future__ import annotations

import asyncio

import pytest

from graph.schema import NodeOutput
from nodes.api.declare import (
    DeclaredNodeType,
    Int,
    Node,
    Out,
)
from nodes.api.results import NodeResultError, run_to_completion


def _single_output_node(result):
    class Returner(Node):
        node_id = "TestReturner"
        outputs = [Out("STRING")]

        @classmethod
        def run(cls, ctx):
            return result

    return DeclaredNodeType(Returner)


@pytest.mark.parametrize(
    "result, expected",
    [
        (("a",), NodeOutput(("a",), None)),
        ("a", NodeOutput(("a",), None)),
        (["a", "b"], NodeOutput((["a", "b"],), None)),  # a list is one value of a one-output node
        (NodeOutput(("a",), {"text": ["a"]}), NodeOutput(("a",), {"text": ["a"]})),
        ({"ui": {"text": ("a",)}, "result": ("a",)}, NodeOutput(("a",), {"text": ["a"]})),
        ({"ui": {"text": "a"}, "result": ("a",)}, NodeOutput(("a",), {"text": ["a"]})),
        ({"ui": {"text": ["a"]}}, NodeOutput((None,), {"text": ["a"]})),
        # node expansion (graph/expansion.py runs the subgraph); an empty one is no expansion
        ({"result": ("a",), "expand": {"n.1": {"class_type": "X", "inputs": {}}}},
         NodeOutput(("a",), None, expand={"n.1": {"class_type": "X", "inputs": {}}})),
        ({"result": ("a",), "expand": {}}, NodeOutput(("a",))),
    ],
)
def test_return_shapes_are_normalised(result, expected):
    assert _single_output_node(result).execute(None, {}) == expected


@pytest.mark.parametrize(
    "result, message",
    [
        (("a", "b"), "returned 2 value(s) but declares 1 output(s)"),
        ({"ui": ["not", "a", "dict"], "result": ("a",)}, "'ui' must be a dict"),
    ],
)
def test_bad_return_values_name_the_node(result, message):
    with pytest.raises(NodeResultError) as err:
        _single_output_node(result).execute(None, {})
    assert "TestReturner" in str(err.value)
    assert message in str(err.value)


def test_zero_output_node_may_return_none():
    class Sink(Node):
        node_id = "TestSink"
        output_node = True

        @classmethod
        def run(cls, ctx):
            return None

    assert DeclaredNodeType(Sink).execute(None, {}) == NodeOutput((), None)


def test_async_run_is_completed():
    class Later(Node):
        node_id = "TestLater"
        inputs = [Int("x")]
        outputs = [Out("INT")]

        @classmethod
        async def run(cls, ctx, *, x):
            await asyncio.sleep(0)
            return (x * 2,)

    assert DeclaredNodeType(Later).execute(None, {"x": 21}).values == (42,)


def test_run_to_completion_inside_a_running_loop():
    async def value():
        return 7

    async def caller():
        return run_to_completion(value())

    assert asyncio.run(caller()) == 7


def test_run_to_completion_reraises_errors_from_a_helper_thread():
    async def failing():
        raise KeyError("inner")

    async def caller():
        return run_to_completion(failing())

    with pytest.raises(KeyError, match="inner"):
        asyncio.run(caller())


def test_a_dict_value_of_a_one_output_node_is_the_output():
    latent = {"samples": [1, 2]}
    assert _single_output_node(latent).execute(None, {}).values == (latent,)
    assert _single_output_node({}).execute(None, {}).values == ({},)


def test_unknown_keys_in_a_result_dict_of_a_multi_output_node():
    class Two(Node):
        node_id = "TestTwo"
        outputs = [Out("INT"), Out("INT")]

        @classmethod
        def run(cls, ctx):
            return {"result": (1, 2), "bogus": 1}

    with pytest.raises(NodeResultError, match=r"node TestTwo: returned a dict with unexpected keys \['bogus'\]"):
        DeclaredNodeType(Two).execute(None, {})
