"""V3 dynamic combos and match types: the chosen key's inputs become dotted inputs; match types take their types."""

import pytest

from graph.dynamic_combo import DYNAMIC_COMBO, MATCH_TYPE, DynamicComboError, entry_spec
from graph.dynamic_inputs import expand_dynamic_inputs
from graph.schema import InputSpec, NodeSchema
from graph.types import types_compatible

OPTIONS = [
    {"key": "by", "inputs": {"required": {"multiplier": ["FLOAT", {"default": 1.0, "min": 0.01}]}}},
    {"key": "to", "inputs": {"required": {"width": ["INT", {}], "crop": ["COMBO", {"options": ["a", "b"]}]},
                             "optional": {"match": ["IMAGE,MASK", {}]}}},
]


def schema(options=OPTIONS) -> NodeSchema:
    return NodeSchema(class_type="Resize", inputs=(
        InputSpec(name="input", type=MATCH_TYPE, options={"template": {"allowed_types": "IMAGE,MASK"}}),
        InputSpec(name="kind", type=DYNAMIC_COMBO, options={"options": options}),
        InputSpec(name="method", type="COMBO", choices=("area",)),
    ))


def described(expanded: NodeSchema) -> list[tuple]:
    return [(s.name, s.type, s.required, s.choices) for s in expanded.inputs]


def test_the_chosen_keys_inputs_follow_the_key_combo():
    assert described(expand_dynamic_inputs(schema(), {"kind": "to"})) == [
        ("input", "IMAGE,MASK", True, None), ("kind", "COMBO", True, ("by", "to")),
        ("kind.width", "INT", True, None), ("kind.crop", "COMBO", True, ("a", "b")),
        ("kind.match", "IMAGE,MASK", False, None), ("method", "COMBO", True, ("area",))]
    by = expand_dynamic_inputs(schema(), {"kind": "by", "kind.width": 3})
    assert [s.name for s in by.inputs] == ["input", "kind", "kind.multiplier", "method"]
    assert by.inputs[2].options == {"default": 1.0, "min": 0.01}


def test_an_unknown_linked_or_missing_key_brings_no_inputs():
    for live in ({"kind": "sideways"}, {"kind": ["3", 0]}, {}):
        assert [s.name for s in expand_dynamic_inputs(schema(), live).inputs] == ["input", "kind", "method"]


def test_bad_declarations_are_refused():
    with pytest.raises(DynamicComboError, match="declares no options"):
        expand_dynamic_inputs(schema(options=[]), {})
    with pytest.raises(DynamicComboError, match="has no key"):
        expand_dynamic_inputs(schema(options=[{"inputs": {}}]), {})
    with pytest.raises(DynamicComboError, match="is not \\[type, options\\]"):
        entry_spec("x", "INT", True)


def test_match_types_link_like_comfyui():
    assert types_compatible("IMAGE", "IMAGE,MASK") and types_compatible("MASK", "IMAGE,MASK")
    assert not types_compatible("LATENT", "IMAGE,MASK")
    assert types_compatible(MATCH_TYPE, "IMAGE") and types_compatible("MASK", MATCH_TYPE)
