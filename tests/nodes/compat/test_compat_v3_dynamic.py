"""V3's dynamic types from a pack (tests/nodes/compat/v3_pack_source.py DYNAMIC), loaded by build_registry and
run by graph's executor: a MatchType switch, a DynamicCombo whose option brings its own inputs, Autogrow
inputs, MultiCombo lists and a V3 node that expands into a subgraph; and their /object_info entries as
ComfyUI's Schema.get_v1_info writes them."""

from __future__ import annotations

import json

import pytest
import torch

from graph.executor import Executor
from graph.validate import validate_prompt
from nodes.build import build_registry
from tests.nodes.compat.v3_pack_source import DYNAMIC

IMAGE = {"class_type": "EmptyImage", "inputs": {"width": 4, "height": 2, "batch_size": 1, "color": 0x808080}}
MASK = {"class_type": "SolidMask", "inputs": {"value": 1.0, "width": 3, "height": 3}}
LATENT = {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}}
NODES = ["V3MatchSwitch", "V3DynScale", "V3Stack", "V3Tags", "V3AddOne", "V3PlusTwo", "V3Report"]


@pytest.fixture
def registry(runtime, tmp_path):
    directory = tmp_path / "custom_nodes"
    directory.mkdir()
    (directory / "v3dynamic.py").write_text(DYNAMIC, encoding="utf-8")
    registry, report = build_registry(runtime, [directory])
    assert not report.failed and not report.messages, report.messages
    assert report.pack("v3dynamic").node_ids == NODES
    return registry


def run(registry, runtime, prompt):
    checked = validate_prompt(prompt, registry)
    assert checked.ok, checked.to_json()
    result = Executor(registry, runtime=runtime).execute(checked.prompt, prompt_id="p", outputs=checked.outputs)
    assert result.status == "success", result.error
    return result


def errors_of(prompt, registry, node_id):
    checked = validate_prompt(prompt, registry)
    assert not checked.ok
    return {(e["type"], e["extra_info"].get("input_name")) for e in checked.node_errors[node_id]["errors"]}


def switch_prompt(first, on_true, on_false):
    return {"i": IMAGE, "m": MASK, "l": LATENT,
            "s": {"class_type": "V3MatchSwitch", "inputs": {"first": first, "on_true": on_true, "on_false": on_false}},
            "r": {"class_type": "V3Report", "inputs": {"value": ["s", 0]}}}


def test_a_match_type_switch_passes_the_chosen_input_on_and_runs_only_that_branch(registry, runtime):
    result = run(registry, runtime, switch_prompt(False, ["i", 0], ["m", 0]))
    assert result.outputs["r"] == {"text": ["(1, 3, 3)"]}  # the mask went through
    assert "m" in result.executed and "i" not in result.executed
    image = run(registry, runtime, switch_prompt(True, ["i", 0], ["m", 0]))
    assert image.outputs["r"] == {"text": ["(1, 2, 4, 3)"]}


def test_a_match_type_input_refuses_a_link_outside_its_allowed_types(registry):
    errors = errors_of(switch_prompt(True, ["l", 0], ["m", 0]), registry, "s")
    assert errors == {("return_type_mismatch", "on_true")}


def test_the_match_type_output_feeds_an_input_of_the_matched_type(registry, runtime):
    prompt = {"i": IMAGE, "m": MASK,
              "s": {"class_type": "V3MatchSwitch", "inputs": {"first": True, "on_true": ["i", 0], "on_false": ["m", 0]}},
              "st": {"class_type": "V3Stack", "inputs": {"images.image0": ["s", 0], "images.image1": ["i", 0]}},
              "r": {"class_type": "V3Report", "inputs": {"value": ["st", 0]}}}
    assert run(registry, runtime, prompt).outputs["r"] == {"text": ["(2, 2, 4, 3)"]}


def dyn_prompt(**mode):
    return {"i": IMAGE,
            "d": {"class_type": "V3DynScale", "inputs": {"image": ["i", 0], **mode}},
            "r": {"class_type": "V3Report", "inputs": {"value": ["d", 1]}},
            "p": {"class_type": "V3Report", "inputs": {"value": ["d", 0]}}}


def test_a_dynamic_combo_hands_execute_its_key_and_the_chosen_options_inputs(registry, runtime):
    result = run(registry, runtime, dyn_prompt(mode="multiply", **{"mode.factor": 0.5}))
    assert result.outputs["r"] == {"text": ["[('factor', 0.5), ('mode', 'multiply')]"]}
    offset = run(registry, runtime, dyn_prompt(mode="offset", **{"mode.amount": 0.25, "mode.sign": "-"}))
    assert offset.outputs["r"] == {"text": ["[('amount', 0.25), ('mode', 'offset'), ('sign', '-')]"]}
    node = registry.get("V3DynScale")
    out = node.execute(None, {"image": torch.full((1, 1, 1, 3), 0.5), "mode": "offset", "mode.amount": 0.25})
    torch.testing.assert_close(out.values[0], torch.full((1, 1, 1, 3), 0.75))  # "sign" is optional


def test_a_dynamic_combos_sub_inputs_are_validated_for_the_chosen_key_only(registry):
    assert errors_of(dyn_prompt(mode="multiply", **{"mode.factor": 9.0}), registry, "d") == {
        ("value_bigger_than_max", "mode.factor")}
    assert errors_of(dyn_prompt(mode="multiply"), registry, "d") == {("required_input_missing", "mode.factor")}
    assert errors_of(dyn_prompt(mode="offset", **{"mode.amount": 0.1, "mode.sign": "*"}), registry, "d") == {
        ("value_not_in_list", "mode.sign")}
    assert errors_of(dyn_prompt(mode="divide"), registry, "d") == {("value_not_in_list", "mode")}
    # the other key's inputs are not asked for
    assert validate_prompt(dyn_prompt(mode="offset", **{"mode.amount": 0.1}), registry).ok


def test_autogrow_inputs_arrive_as_one_dict_by_the_names_that_came(registry, runtime):
    prompt = {"i": IMAGE, "j": IMAGE,
              "st": {"class_type": "V3Stack", "inputs": {"images.image0": ["i", 0], "images.image2": ["j", 0],
                                                         "labels.right": ["t", 1]}},
              "t": {"class_type": "V3Stack", "inputs": {"images.image0": ["i", 0]}},
              "r": {"class_type": "V3Report", "inputs": {"value": ["st", 1]}}}
    result = run(registry, runtime, prompt)
    assert result.outputs["r"] == {"text": ["['image0', 'image2']|[('right', \"['image0']|[]\")]"]}
    missing = errors_of({"st": {"class_type": "V3Stack", "inputs": {"images.image1": ["i", 0]}}, "i": IMAGE,
                         "r": {"class_type": "V3Report", "inputs": {"value": ["st", 0]}}}, registry, "st")
    assert missing == {("required_input_missing", "images.image0")}


def test_a_multi_combo_takes_a_list_of_its_options_and_refuses_others(registry, runtime):
    # a list literal travels as {"__value__": [...]} in a prompt (a bare list is a link), as ComfyUI's editor sends it
    prompt = {"t": {"class_type": "V3Tags", "inputs": {"tags": {"__value__": ["red", "blue"]}}},
              "r": {"class_type": "V3Report", "inputs": {"value": ["t", 0]}}}
    assert run(registry, runtime, prompt).outputs["r"] == {"text": ["red+blue"]}
    prompt["t"]["inputs"]["tags"] = {"__value__": ["red", "pink"]}
    checked = validate_prompt(prompt, registry)
    assert not checked.ok
    (problem,) = checked.node_errors["t"]["errors"]
    assert problem["extra_info"]["input_name"] == "tags" and "['pink'] not in ['red', 'green', 'blue']" in \
        problem["details"]


def test_a_v3_node_expands_into_a_subgraph(registry, runtime):
    prompt = {"p": {"class_type": "V3PlusTwo", "inputs": {"x": 5}},
              "r": {"class_type": "V3Report", "inputs": {"value": ["p", 0]}}}
    result = run(registry, runtime, prompt)
    assert result.outputs["r"] == {"text": ["7"]}
    assert sum(1 for node_id in result.executed if node_id.startswith("p.")) == 2


# What ComfyUI's Schema.get_v1_info gives for these schemas (inputs and outputs).
COMFYUI_INPUTS = {
    "V3MatchSwitch": {"required": {
        "first": ["BOOLEAN", {"default": True}],
        "on_true": ["COMFY_MATCHTYPE_V3", {"lazy": True,
                                           "template": {"template_id": "picture", "allowed_types": "IMAGE,MASK"}}],
        "on_false": ["COMFY_MATCHTYPE_V3", {"lazy": True,
                                            "template": {"template_id": "picture", "allowed_types": "IMAGE,MASK"}}]}},
    "V3DynScale": {"required": {
        "image": ["IMAGE", {}],
        "mode": ["COMFY_DYNAMICCOMBO_V3", {"options": [
            {"key": "multiply", "inputs": {"required": {
                "factor": ["FLOAT", {"default": 1.0, "min": 0.0, "max": 4.0}]}}},
            {"key": "offset", "inputs": {
                "required": {"amount": ["FLOAT", {"default": 0.0, "min": -1.0, "max": 1.0}]},
                "optional": {"sign": ["COMBO", {"multiselect": False, "options": ["+", "-"]}]}}}]}]}},
    "V3Stack": {
        "required": {"images": ["COMFY_AUTOGROW_V3", {"template": {
            "input": {"required": {"image": ["IMAGE", {}]}}, "prefix": "image", "min": 1, "max": 4}}]},
        "optional": {"labels": ["COMFY_AUTOGROW_V3", {"template": {
            "input": {"required": {"label": ["STRING", {"forceInput": True, "multiline": False}]}},
            "names": ["left", "right"], "min": 0}}]}},
    "V3Tags": {"required": {"tags": ["COMBO", {"default": ["red"], "multiselect": True,
                                               "options": ["red", "green", "blue"], "multi_select": True,
                                               "placeholder": "pick colours"}]}},
}


def test_object_info_matches_comfyuis_entries(registry):
    info = json.loads(json.dumps(registry.object_info()))
    for node_id, expected in COMFYUI_INPUTS.items():
        assert info[node_id]["input"] == expected, node_id
        assert info[node_id]["input_order"] == {section: list(entries) for section, entries in expected.items()}
    switch = info["V3MatchSwitch"]
    assert (switch["output"], switch["output_name"], switch["output_matchtypes"]) == (
        ["COMFY_MATCHTYPE_V3"], ["chosen"], ["picture"])
    assert info["V3DynScale"]["output_matchtypes"] is None and info["V3DynScale"]["output_name"] == ["IMAGE", "seen"]


def test_dynamic_declarations_that_cannot_work_are_refused_with_a_reason():
    from nodes.compat.comfy_api.latest import io

    with pytest.raises(ValueError, match="template needs one plain"):
        io.Autogrow.TemplatePrefix(io.Autogrow.Input("x", template=io.Autogrow.TemplateNames(
            io.Int.Input("n"), names=["a"])), prefix="p")
    with pytest.raises(ValueError, match="max <= 100"):
        io.Autogrow.TemplatePrefix(io.Int.Input("n"), prefix="p", max=101)
    with pytest.raises(ValueError, match="allowed types must be io types"):
        io.MatchType.Template("T", allowed_types=["IMAGE"])
    combo = io.DynamicCombo.Input("mode", options=[io.DynamicCombo.Option("a", []), io.DynamicCombo.Option("a", [])])
    with pytest.raises(ValueError, match="distinct string keys"):
        combo.validate()
