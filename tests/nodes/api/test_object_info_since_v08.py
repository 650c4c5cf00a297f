"""The /object_info keys ComfyUI added after v0.8: present only when a node declares them."""

from __future__ import annotations

from graph.schema import InputSpec, NodeSchema, OutputSpec
from nodes.api.object_info import node_info


def _schema(**extra) -> NodeSchema:
    return NodeSchema("Thing", (InputSpec("x", "INT"),), (OutputSpec("INT", "INT"),), extra=extra)


def test_new_keys_are_absent_unless_declared():
    info = node_info(_schema())
    assert not {"search_aliases", "essentials_category", "has_intermediate_output"} & set(info)


def test_declared_keys_follow_comfyui_names_and_types():
    info = node_info(_schema(search_aliases=("find thing", "lookup"), essentials_category="Image Tools",
                             has_intermediate_output=True))
    assert info["search_aliases"] == ["find thing", "lookup"]
    assert info["essentials_category"] == "Image Tools" and info["has_intermediate_output"] is True
    assert list(info)[-3:] == ["search_aliases", "essentials_category", "has_intermediate_output"]
    assert "has_intermediate_output" not in node_info(_schema(has_intermediate_output=False))
