"""UI workflow → API prompt, as ComfyUI's editor exports it: the example files, version 1, frontend-only
nodes, bypass and mute. Widget values: test_ui_to_api_widgets.py; bad input: test_ui_to_api_errors.py."""

import copy
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ui_base_graph import REG, base_graph, ksampler_inputs, sdxl_api, sdxl_ui  # noqa: E402
from ui_stub_registry import slot, ui_node  # noqa: E402

from graph.document import WorkflowError  # noqa: E402
from graph.ui_to_api import types_connect, ui_to_api  # noqa: E402

# --- the shared example -------------------------------------------------------------------


def test_sdxl_example_converts_to_the_expected_prompt():
    assert ui_to_api(sdxl_ui(), REG) == sdxl_api()


def test_sdxl_example_positional_values_only():
    ui = sdxl_ui()
    for node in ui["nodes"]:
        node.pop("widgets_values_named", None)
    result = ui_to_api(ui, REG)
    assert result == sdxl_api()
    # widgets first then links, as the editor writes them
    assert list(result["12"]["inputs"]) == [
        "seed",
        "steps",
        "cfg",
        "sampler_name",
        "scheduler",
        "denoise",
        "model",
        "positive",
        "negative",
        "latent_image",
    ]
    assert list(result["12"]) == ["inputs", "class_type", "_meta"]


def test_named_values_win_over_positions():
    ui = sdxl_ui()
    ksampler = next(n for n in ui["nodes"] if n["id"] == 12)
    ksampler["widgets_values"] = []  # only the named copy is left
    assert ui_to_api(ui, REG)["12"]["inputs"]["steps"] == 25


def test_does_not_modify_its_input():
    ui = sdxl_ui()
    before = copy.deepcopy(ui)
    ui_to_api(ui, REG)
    assert ui == before


# --- version 1 -------------------------------------------------------------------------------


def test_version_1_with_link_objects_gives_the_same_prompt():
    ui = sdxl_ui()
    ui["version"] = 1
    ui["state"] = {"lastGroupId": 2, "lastNodeId": 16, "lastLinkId": 41, "lastRerouteId": 0}
    for key in ("last_node_id", "last_link_id"):
        del ui[key]
    ui["links"] = [
        dict(zip(("id", "origin_id", "origin_slot", "target_id", "target_slot", "type"), link, strict=True))
        for link in ui["links"]
    ]
    assert ui_to_api(ui, REG) == sdxl_api()
    ui["links"] = {str(link["id"]): link for link in ui["links"]}
    assert ui_to_api(ui, REG) == sdxl_api()


def test_string_node_ids_and_link_ids():
    ui = sdxl_ui()
    for node in ui["nodes"]:
        node["id"] = str(node["id"])
    for link in ui["links"]:
        link[1], link[3] = str(link[1]), str(link[3])
    assert ui_to_api(ui, REG) == sdxl_api()


# --- frontend-only nodes, bypass and mute -------------------------------------------------------


def test_reroute_chains_resolve_to_the_real_output():
    wf = base_graph(
        extra_nodes=[
            ui_node(20, "Reroute", inputs=[slot("", "*", 20)], outputs=["MODEL"]),
            ui_node(21, "Reroute", inputs=[slot("", "*", 21)], outputs=["MODEL"]),
        ],
        extra_links=[[20, 1, 0, 20, 0, "MODEL"], [21, 20, 0, 21, 0, "MODEL"], [22, 21, 0, 5, 0, "MODEL"]],
        ks_inputs=ksampler_inputs(22, 4, 5, 6),
    )
    result = ui_to_api(wf, REG)
    assert result["5"]["inputs"]["model"] == ["1", 0]
    assert "20" not in result and "21" not in result


def test_unconnected_reroute_leaves_the_input_out():
    wf = base_graph(
        extra_nodes=[ui_node(20, "Reroute", inputs=[slot("", "*", None)], outputs=["MODEL"])],
        extra_links=[[22, 20, 0, 5, 0, "MODEL"]],
        ks_inputs=ksampler_inputs(22, 4, 5, 6),
    )
    assert "model" not in ui_to_api(wf, REG)["5"]["inputs"]


def test_primitive_node_value_is_copied_into_the_widget_it_drives():
    primitive = ui_node(30, "PrimitiveNode", outputs=["INT"], values=[123456, "randomize"])
    primitive["outputs"][0]["widget"] = {"name": "seed"}
    wf = base_graph(
        extra_nodes=[primitive],
        extra_links=[[30, 30, 0, 5, 4, "INT"]],
        ks_inputs=ksampler_inputs(1, 4, 5, 6) + [slot("seed", "INT", 30, widget="seed")],
    )
    result = ui_to_api(wf, REG)
    assert result["5"]["inputs"]["seed"] == 123456
    assert "30" not in result


def test_primitive_node_without_a_value_is_an_error():
    wf = base_graph(
        extra_nodes=[ui_node(30, "PrimitiveNode", outputs=["INT"])],
        extra_links=[[30, 30, 0, 5, 4, "INT"]],
        ks_inputs=ksampler_inputs(1, 4, 5, 6) + [slot("seed", "INT", 30, widget="seed")],
    )
    with pytest.raises(WorkflowError, match="node 30.*PrimitiveNode is connected but holds no value"):
        ui_to_api(wf, REG)


def test_notes_are_ignored_even_without_a_schema():
    wf = base_graph(extra_nodes=[ui_node(40, "Note", values=["hello"]), ui_node(41, "MarkdownNote", values=["# x"])])
    assert set(ui_to_api(wf, REG)) == {"1", "2", "3", "4", "5", "6", "7"}


def lora_between(mode):
    """Checkpoint → LoraLoader(10, mode) → KSampler.model and prompt 2's clip."""
    lora = ui_node(
        10,
        "LoraLoader",
        inputs=[slot("model", "MODEL", 30), slot("clip", "CLIP", 31)],
        outputs=["MODEL", "CLIP"],
        values=["style.safetensors", 0.8, 0.6],
        mode=mode,
    )
    wf = base_graph(
        extra_nodes=[lora],
        extra_links=[
            [30, 1, 0, 10, 0, "MODEL"],
            [31, 1, 1, 10, 1, "CLIP"],
            [32, 10, 0, 5, 0, "MODEL"],
            [33, 10, 1, 2, 0, "CLIP"],
        ],
        ks_inputs=ksampler_inputs(32, 4, 5, 6),
    )
    wf["nodes"][1]["inputs"] = [slot("clip", "CLIP", 33)]
    return wf


def test_active_lora_is_wired_in():
    result = ui_to_api(lora_between(0), REG)
    assert result["10"]["inputs"] == {
        "lora_name": "style.safetensors",
        "strength_model": 0.8,
        "strength_clip": 0.6,
        "model": ["1", 0],
        "clip": ["1", 1],
    }
    assert result["5"]["inputs"]["model"] == ["10", 0]


def test_bypassed_node_passes_inputs_through_by_slot():
    result = ui_to_api(lora_between(4), REG)
    assert "10" not in result
    assert result["5"]["inputs"]["model"] == ["1", 0]
    assert result["2"]["inputs"]["clip"] == ["1", 1]


def test_muted_node_is_dropped_with_the_inputs_pointing_at_it():
    result = ui_to_api(lora_between(2), REG)
    assert "10" not in result
    assert "model" not in result["5"]["inputs"]
    assert "clip" not in result["2"]["inputs"]
    assert result["2"]["inputs"]["text"] == "cat"


def test_bypass_takes_the_first_input_of_the_wanted_type_when_the_slot_does_not_fit():
    # An unknown custom node is fine while bypassed: inputs (vae, samples), output LATENT.
    custom = ui_node(
        11,
        "SomeCustomLatentNode",
        inputs=[slot("vae", "VAE", 40), slot("samples", "LATENT", 41)],
        outputs=["LATENT"],
        mode=4,
    )
    wf = base_graph(
        extra_nodes=[custom],
        extra_links=[[40, 1, 2, 11, 0, "VAE"], [41, 5, 0, 11, 1, "LATENT"], [42, 11, 0, 6, 0, "LATENT"]],
    )
    wf["nodes"][5]["inputs"][0]["link"] = 42
    assert ui_to_api(wf, REG)["6"]["inputs"]["samples"] == ["5", 0]


def test_bypass_without_a_matching_input_drops_the_link():
    decode = ui_node(
        12, "VAEDecode", inputs=[slot("samples", "LATENT", 50), slot("vae", "VAE", 51)], outputs=["IMAGE"], mode=4
    )
    wf = base_graph(
        extra_nodes=[decode, ui_node(13, "PreviewImage", inputs=[slot("images", "IMAGE", 52)])],
        extra_links=[[50, 5, 0, 12, 0, "LATENT"], [51, 1, 2, 12, 1, "VAE"], [52, 12, 0, 13, 0, "IMAGE"]],
    )
    result = ui_to_api(wf, REG)
    assert result["13"]["inputs"] == {}


def test_muted_unknown_node_needs_no_schema():
    wf = base_graph(extra_nodes=[ui_node(14, "NotInstalledAnywhere", outputs=["IMAGE"], mode=2)])
    assert "14" not in ui_to_api(wf, REG)


def test_bypass_chain_through_reroute():
    wf = lora_between(4)
    wf["nodes"].append(ui_node(20, "Reroute", inputs=[slot("", "*", 60)], outputs=["MODEL"]))
    wf["links"].append([60, 20, 0, 10, 0, "MODEL"])
    wf["links"].append([61, 1, 0, 20, 0, "MODEL"])
    wf["nodes"][-1]["inputs"][0]["link"] = 61
    lora = next(n for n in wf["nodes"] if n["id"] == 10)
    lora["inputs"][0]["link"] = 60
    assert ui_to_api(wf, REG)["5"]["inputs"]["model"] == ["1", 0]


@pytest.mark.parametrize(
    ("a", "b", "ok"),
    [
        ("MODEL", "MODEL", True),
        ("model", "MODEL", True),
        ("*", "LATENT", True),
        ("", "X", True),
        ("IMAGE", "MASK", False),
        ("INT,FLOAT", "FLOAT", True),
        ("INT,FLOAT", "STRING,BOOLEAN", False),
    ],
)
def test_types_connect(a, b, ok):
    assert types_connect(a, b) is ok
