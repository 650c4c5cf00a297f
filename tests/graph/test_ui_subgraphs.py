"""Subgraphs (definitions.subgraphs, instances, boundary nodes -10/-20) flattened to colon ids."""

import copy
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ui_stub_registry import StubRegistry, slot, ui_node, workflow  # noqa: E402

from graph.document import WorkflowError  # noqa: E402
from graph.ui_to_api import ui_to_api  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
REG = StubRegistry()
PAIR = "aaaaaaaa-0000-4000-8000-000000000001"
OUTER = "bbbbbbbb-0000-4000-8000-000000000002"


def nested_ui() -> dict:
    return json.loads((FIXTURES / "nested_subgraph_ui.json").read_text())


def definitions() -> dict:
    return {d["id"]: d for d in nested_ui()["definitions"]["subgraphs"]}


def pair_instance(node_id, clip_link, text_link=None, values=None, mode=0):
    node = ui_node(
        node_id,
        PAIR,
        inputs=[slot("clip", "CLIP", clip_link), slot("positive_text", "STRING", text_link, widget="positive_text")],
        outputs=["CONDITIONING", "CONDITIONING"],
        values=values,
        mode=mode,
    )
    return node


def one_level(instance=None, extra_nodes=(), extra_links=(), defs=None):
    """Checkpoint(1), latent(4), prompt-pair instance(12) → KSampler(5) → PreviewImage via decode(6)."""
    nodes = [
        ui_node(1, "CheckpointLoaderSimple", outputs=["MODEL", "CLIP", "VAE"], values=["sd_xl_base_1.0.safetensors"]),
        ui_node(4, "EmptyLatentImage", outputs=["LATENT"], values=[512, 512, 1]),
        instance or pair_instance(12, 2, values=["a dog"]),
        ui_node(
            5,
            "KSampler",
            inputs=[
                slot("model", "MODEL", 1),
                slot("positive", "CONDITIONING", 4),
                slot("negative", "CONDITIONING", 5),
                slot("latent_image", "LATENT", 3),
            ],
            outputs=["LATENT"],
            values=[1, "fixed", 20, 8, "euler", "normal", 1],
        ),
        ui_node(6, "VAEDecode", inputs=[slot("samples", "LATENT", 7), slot("vae", "VAE", 8)], outputs=["IMAGE"]),
        ui_node(7, "PreviewImage", inputs=[slot("images", "IMAGE", 9)]),
        *extra_nodes,
    ]
    links = [
        [1, 1, 0, 5, 0, "MODEL"],
        [2, 1, 1, 12, 0, "CLIP"],
        [3, 4, 0, 5, 3, "LATENT"],
        [4, 12, 0, 5, 1, "CONDITIONING"],
        [5, 12, 1, 5, 2, "CONDITIONING"],
        [7, 5, 0, 6, 0, "LATENT"],
        [8, 1, 2, 6, 1, "VAE"],
        [9, 6, 0, 7, 0, "IMAGE"],
        *extra_links,
    ]
    return workflow(nodes, links, definitions={"subgraphs": defs if defs is not None else [definitions()[PAIR]]})


def test_nested_subgraphs_flatten_to_colon_ids():
    expected = json.loads((FIXTURES / "nested_subgraph_api.json").read_text())
    assert ui_to_api(nested_ui(), REG) == expected


def test_one_level_with_a_promoted_widget_value():
    result = ui_to_api(one_level(), REG)
    assert result["12:5"]["inputs"] == {"text": "a dog", "clip": ["1", 1]}
    assert result["12:6"]["inputs"] == {"text": "blurry", "clip": ["1", 1]}
    assert result["5"]["inputs"]["positive"] == ["12:5", 0]
    assert result["5"]["inputs"]["negative"] == ["12:6", 0]
    assert "12" not in result


def test_subgraph_input_linked_from_outside():
    text = ui_node(30, "PrimitiveString", outputs=["STRING"], values=["from outside"])
    wf = one_level(
        pair_instance(12, 2, text_link=30, values=["ignored"]),
        extra_nodes=[text],
        extra_links=[[30, 30, 0, 12, 1, "STRING"]],
    )
    assert ui_to_api(wf, REG)["12:5"]["inputs"]["text"] == ["30", 0]


def test_without_a_promoted_value_the_inner_widget_value_is_used():
    instance = ui_node(
        12,
        PAIR,
        inputs=[slot("clip", "CLIP", 2), slot("positive_text", "STRING", None)],
        outputs=["CONDITIONING", "CONDITIONING"],
    )
    assert ui_to_api(one_level(instance), REG)["12:5"]["inputs"]["text"] == "inner default"


def test_named_promoted_value_and_instance_inputs_saved_in_another_order():
    instance = ui_node(
        12,
        PAIR,
        inputs=[slot("positive_text", "STRING", None, widget="positive_text"), slot("clip", "CLIP", 2)],
        outputs=["CONDITIONING", "CONDITIONING"],
    )
    instance["widgets_values_named"] = {"positive_text": "named value"}
    result = ui_to_api(one_level(instance), REG)
    assert result["12:5"]["inputs"] == {"text": "named value", "clip": ["1", 1]}


def test_two_instances_of_one_definition_get_their_own_ids():
    second = pair_instance(13, 20, values=["a cat"])
    wf = one_level(extra_nodes=[second, ui_node(14, "PreviewImage")], extra_links=[[20, 1, 1, 13, 0, "CLIP"]])
    result = ui_to_api(wf, REG)
    assert result["12:5"]["inputs"]["text"] == "a dog"
    assert result["13:5"]["inputs"]["text"] == "a cat"
    assert result["13:6"]["inputs"]["clip"] == ["1", 1]


def test_muted_instance_drops_its_inner_nodes_and_the_links_to_it():
    result = ui_to_api(one_level(pair_instance(12, 2, values=["x"], mode=2)), REG)
    assert not any(node_id.startswith("12") for node_id in result)
    assert "positive" not in result["5"]["inputs"] and "negative" not in result["5"]["inputs"]


def test_bypassed_instance_passes_matching_types_through():
    wf = nested_ui()
    next(n for n in wf["nodes"] if n["id"] == 12)["mode"] = 4
    result = ui_to_api(wf, REG)
    assert not any(":" in node_id for node_id in result)
    assert result["5"]["inputs"]["latent_image"] == ["4", 0]  # LATENT output takes the LATENT input
    assert "positive" not in result["5"]["inputs"]  # no CONDITIONING input to pass through


def test_subgraph_input_wired_straight_to_an_output():
    passthrough = {
        "id": "cccccccc-0000-4000-8000-000000000003",
        "name": "Pass",
        "nodes": [],
        "inputs": [{"name": "latent", "type": "LATENT", "linkIds": [1]}],
        "outputs": [{"name": "latent", "type": "LATENT", "linkIds": [1]}],
        "links": [{"id": 1, "origin_id": -10, "origin_slot": 0, "target_id": -20, "target_slot": 0, "type": "LATENT"}],
    }
    instance = ui_node(40, passthrough["id"], inputs=[slot("latent", "LATENT", 40)], outputs=["LATENT"])
    wf = one_level(
        extra_nodes=[instance],
        extra_links=[[40, 4, 0, 40, 0, "LATENT"], [41, 40, 0, 5, 3, "LATENT"]],
        defs=[definitions()[PAIR], passthrough],
    )
    wf["nodes"][3]["inputs"][3]["link"] = 41
    assert ui_to_api(wf, REG)["5"]["inputs"]["latent_image"] == ["4", 0]


def test_definitions_nested_inside_definitions_are_found():
    wf = nested_ui()
    pair, outer = wf["definitions"]["subgraphs"]
    outer["definitions"] = {"subgraphs": [pair]}
    wf["definitions"]["subgraphs"] = [outer]
    assert "12:3:5" in ui_to_api(wf, REG)


def test_unknown_inner_node_type_names_the_execution_id():
    wf = nested_ui()
    wf["definitions"]["subgraphs"][0]["nodes"][1]["type"] = "MissingEncoder"
    with pytest.raises(WorkflowError, match="unknown node type 'MissingEncoder'") as info:
        ui_to_api(wf, REG)
    assert info.value.node_id == "12:3:6"
    assert "subgraph 'Prompt pair'" in str(info.value)


def test_a_subgraph_containing_itself():
    defs = definitions()
    pair = copy.deepcopy(defs[PAIR])
    pair["nodes"].append(ui_node(9, PAIR, inputs=[slot("clip", "CLIP", None)]))
    with pytest.raises(WorkflowError, match="contains an instance of itself"):
        ui_to_api(one_level(defs=[pair]), REG)


def test_output_from_a_missing_inner_node():
    pair = copy.deepcopy(definitions()[PAIR])
    pair["links"][3]["origin_id"] = 77
    with pytest.raises(WorkflowError, match="output 0 comes from node 77, which does not exist"):
        ui_to_api(one_level(defs=[pair]), REG)


def test_boundary_link_to_a_subgraph_input_that_does_not_exist():
    pair = copy.deepcopy(definitions()[PAIR])
    pair["links"][0]["origin_slot"] = 5
    with pytest.raises(WorkflowError, match="subgraph input 5, but subgraph 'Prompt pair' .* has 2 input"):
        ui_to_api(one_level(defs=[pair]), REG)


@pytest.mark.parametrize(
    ("defs", "message"),
    [
        ([], "'definitions' must be an object"),
        ({"subgraphs": {}}, "'definitions.subgraphs' must be an array"),
        ({"subgraphs": [3]}, r"definitions.subgraphs\[0\] must be an object"),
        ({"subgraphs": [{"name": "x"}]}, r"definitions.subgraphs\[0\] has no 'id'"),
        ({"subgraphs": [{"id": "x", "nodes": 1}]}, "subgraph 'x' \\(x\\): 'nodes' must be an array"),
        ({"subgraphs": [{"id": "x", "inputs": [{"type": "INT"}]}]}, r"inputs\[0\] must be an object with a 'name'"),
        ({"subgraphs": [{"id": "x", "outputs": {}}]}, "outputs must be an array"),
    ],
)
def test_malformed_definitions(defs, message):
    wf = one_level()
    wf["definitions"] = defs
    with pytest.raises(WorkflowError, match=message):
        ui_to_api(wf, REG)


SEEDS = {
    "id": "dddddddd-0000-4000-8000-000000000004",
    "name": "Seeds",
    "inputs": [{"name": "a", "type": "INT", "linkIds": [1]}, {"name": "b", "type": "INT", "linkIds": [2]}],
    "outputs": [{"name": "a", "type": "INT", "linkIds": [3]}, {"name": "b", "type": "INT", "linkIds": [4]}],
    "nodes": [
        ui_node(
            1, "PrimitiveInt", inputs=[slot("value", "INT", 1, widget="value")], outputs=["INT"], values=[0, "fixed"]
        ),
        ui_node(
            2, "PrimitiveInt", inputs=[slot("value", "INT", 2, widget="value")], outputs=["INT"], values=[0, "fixed"]
        ),
    ],
    "links": [
        {"id": 1, "origin_id": -10, "origin_slot": 0, "target_id": 1, "target_slot": 0, "type": "INT"},
        {"id": 2, "origin_id": -10, "origin_slot": 1, "target_id": 2, "target_slot": 0, "type": "INT"},
        {"id": 3, "origin_id": 1, "origin_slot": 0, "target_id": -20, "target_slot": 0, "type": "INT"},
        {"id": 4, "origin_id": 2, "origin_slot": 0, "target_id": -20, "target_slot": 1, "type": "INT"},
    ],
}


@pytest.mark.parametrize("values", [[123, 30], [123, "randomize", 30], [123, True, 30, "fixed"]])
def test_promoted_values_with_and_without_legacy_control_slots(values):
    instance = ui_node(
        9,
        SEEDS["id"],
        inputs=[slot("a", "INT", None, widget="a"), slot("b", "INT", None, widget="b")],
        outputs=["INT", "INT"],
        values=values,
    )
    result = ui_to_api(workflow([instance], [], definitions={"subgraphs": [SEEDS]}), REG)
    assert result == {
        "9:1": {"inputs": {"value": 123}, "class_type": "PrimitiveInt", "_meta": {"title": "Int"}},
        "9:2": {"inputs": {"value": 30}, "class_type": "PrimitiveInt", "_meta": {"title": "Int"}},
    }
