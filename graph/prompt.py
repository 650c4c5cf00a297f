"""Helpers for ComfyUI's API prompt format: links, wrapped literals and document shape.

A prompt is ``{node_id: {"class_type": str, "inputs": {name: value}, "_meta": {...}}}``.
An input value is a *link* ``[source_node_id, output_index]`` or a literal; a literal
list travels wrapped as ``{"__value__": [...]}`` so it cannot be mistaken for a link.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

VALUE_KEY = "__value__"


def is_link(value: Any) -> bool:
    """ComfyUI's test: a list of two items, a string node id and a numeric output index.

    A float index such as ``0.0`` counts (as in ComfyUI); a boolean does not.
    """
    return (
        type(value) is list
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], (int, float))
        and not isinstance(value[1], bool)
    )


def link_index(value: Any) -> int | None:
    """The output index of a link as an int, or None when it is not a whole number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def unwrap_literal(value: Any) -> Any:
    """``{"__value__": v}`` -> ``v``; any other value unchanged."""
    if isinstance(value, dict) and VALUE_KEY in value:
        return value[VALUE_KEY]
    return value


def wrap_literal(value: Any) -> Any:
    """Wrap a list literal so that it is never read as a link; other values unchanged."""
    if isinstance(value, list):
        return {VALUE_KEY: value}
    return value


def node_inputs(node: dict) -> dict:
    """The inputs of a node whose shape was checked; a missing ``inputs`` key reads as none."""
    inputs = node.get("inputs")
    return inputs if isinstance(inputs, dict) else {}


@dataclass(frozen=True)
class ShapeProblem:
    """One reason a prompt document is malformed; `node_id` is None for the document itself."""

    node_id: Any
    message: str
    class_type: Any = None


def _describe(value: Any) -> str:
    return type(value).__name__


def check_prompt_shape(prompt: Any) -> list[ShapeProblem]:
    """Every shape problem of a prompt document (empty when well formed).

    Checks: the prompt is a dict; ids are strings; each node is a dict with a string
    ``class_type`` and, when present, a dict ``inputs`` (a missing ``inputs`` means none).
    Class names are not looked up here.
    """
    if not isinstance(prompt, dict):
        return [ShapeProblem(None, f"The prompt must be a JSON object mapping node ids to nodes, not {_describe(prompt)}.")]
    problems: list[ShapeProblem] = []
    for node_id, node in prompt.items():
        if not isinstance(node_id, str):
            problems.append(ShapeProblem(node_id, f"Node id {node_id!r} must be a string."))
            continue
        if not isinstance(node, dict):
            problems.append(ShapeProblem(node_id, f"Node '#{node_id}' must be a JSON object, not {_describe(node)}."))
            continue
        class_type = node.get("class_type")
        if "class_type" not in node:
            problems.append(
                ShapeProblem(node_id, "Cannot execute because a node is missing the class_type property.")
            )
        elif not isinstance(class_type, str):
            problems.append(
                ShapeProblem(node_id, f"The class_type of node '#{node_id}' must be a string, not {_describe(class_type)}.")
            )
            class_type = None
        inputs = node.get("inputs", {})
        if not isinstance(inputs, dict):
            problems.append(
                ShapeProblem(node_id, f"The inputs of node '#{node_id}' must be a JSON object, not {_describe(inputs)}.", class_type)
            )
    return problems
