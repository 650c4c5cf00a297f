"""UI workflow → API prompt, as ComfyUI's editor exports it."""

import copy
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ui_stub_registry import StubRegistry, slot, ui_node, workflow  # noqa: E402

from graph.document import WorkflowError  # noqa: E402
from graph.ui_to_api import types_connect, ui_to_api  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
REG = StubRegistry()
KSAMPLER_VALUES = [5, "fixed", 20, 8, "euler", "normal", 1]


def sdxl_ui() -> dict:
    return json.loads((FIXTURES / "comfyui_sdxl_simple_ui.json").read_text())


def sdxl_api() -> dict:
    return json.loads((FIXTURES / "comfyui_sdxl_simple_api.json").read_text())


def ksampler_inputs(model=1, positive=2, negative=3, latent=4, seed_link=None):
    slots = [slot("model", "MODEL", model)]
    if seed_link is not None:
        slots.append(slot("seed", "INT", seed_link, widget="seed"))
    return slots + [
        slot("positive", "CONDITIONING", positive),
        slot("negative", "CONDITIONING", negative),
        slot("latent_image", "LATENT", latent),
    ]


def base_graph(extra_nodes=(), extra_links=(), ks_inputs=None, ks_values=None):
    """Checkpoint(1) → two prompts (2, 3), latent (4) → KSampler(5) → decode (6) → save (7)."""
    nodes = [
        ui_node(1, "CheckpointLoaderSimple", outputs=["MODEL", "CLIP", "VAE"], values=["sd_xl_base_1.0.safetensors"]),
        ui_node(2, "CLIPTextEncode", inputs=[slot("clip", "CLIP", 2)], outputs=["CONDITIONING"], values=["cat"]),
        ui_node(3, "CLIPTextEncode", inputs=[slot("clip", "CLIP", 3)], outputs=["CONDITIONING"], values=["dog"]),
        ui_node(4, "EmptyLatentImage", outputs=["LATENT"], values=[512, 512, 1]),
        ui_node(
            5,
            "KSampler",
            inputs=ks_inputs or ksampler_inputs(1, 4, 5, 6),
            outputs=["LATENT"],
            values=ks_values or list(KSAMPLER_VALUES),
        ),
        ui_node(6, "VAEDecode", inputs=[slot("samples", "LATENT", 7), slot("vae", "VAE", 8)], outputs=["IMAGE"]),
        ui_node(7, "SaveImage", inputs=[slot("images", "IMAGE", 9)], values=["out"]),
        *extra_nodes,
    ]
    links = [
        [1, 1, 0, 5, 0, "MODEL"],
        [2, 1, 1, 2, 0, "CLIP"],
        [3, 1, 1, 3, 0, "CLIP"],
        [4, 2, 0, 5, 1, "CONDITIONING"],
        [5, 3, 0, 5, 2, "CONDITIONING"],
        [6, 4, 0, 5, 3, "LATENT"],
        [7, 5, 0, 6, 0, "LATENT"],
        [8, 1, 2, 6, 1, "VAE"],
        [9, 6, 0, 7, 0, "IMAGE"],
        *extra_links,
    ]
    return workflow(nodes, links)


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


# --- widget values --------------------------------------------------------------------------


@pytest.mark.parametrize("control", ["randomize", "fixed", "increment", "decrement", True, False])
def test_control_after_generate_value_is_skipped(control):
    result = ui_to_api(base_graph(ks_values=[156680208700286, control, 20, 8, "euler", "normal", 1]), REG)
    assert result["5"]["inputs"]["seed"] == 156680208700286
    assert result["5"]["inputs"]["steps"] == 20
    assert result["5"]["inputs"]["denoise"] == 1
    assert "control_after_generate" not in result["5"]["inputs"]


def test_files_from_before_the_control_widget_still_align():
    result = ui_to_api(base_graph(ks_values=[7, 30, 6.5, "heun", "karras", 0.5]), REG)
    assert {k: result["5"]["inputs"][k] for k in ("seed", "steps", "cfg", "sampler_name", "denoise")} == {
        "seed": 7,
        "steps": 30,
        "cfg": 6.5,
        "sampler_name": "heun",
        "denoise": 0.5,
    }


def test_extra_trailing_values_such_as_upload_buttons_are_ignored():
    wf = workflow(
        [
            ui_node(1, "LoadImage", outputs=["IMAGE", "MASK"], values=["cat.png", "image"]),
            ui_node(2, "PreviewImage", inputs=[slot("images", "IMAGE", 1)]),
        ],
        [[1, 1, 0, 2, 0, "IMAGE"]],
    )
    assert ui_to_api(wf, REG)["1"]["inputs"] == {"image": "cat.png"}


def test_list_values_are_wrapped_optional_defaults_and_force_input_sockets():
    wf = workflow(
        [
            ui_node(1, "EmptyLatentImage", outputs=["LATENT"], values=[64, 64, 1]),
            ui_node(2, "PrimitiveInt", outputs=["INT"], values=[3, "fixed"]),
            ui_node(
                3,
                "StubOptions",
                inputs=[slot("latent", "LATENT", 1), slot("count", "INT", 2)],
                outputs=["LATENT"],
                values=[["a", "c"]],
            ),
        ],
        [[1, 1, 0, 3, 0, "LATENT"], [2, 2, 0, 3, 1, "INT"]],
    )
    inputs = ui_to_api(wf, REG)["3"]["inputs"]
    assert inputs == {"tags": {"__value__": ["a", "c"]}, "note": "hello", "latent": ["1", 0], "count": ["2", 0]}


def test_widgets_values_saved_as_an_object():
    wf = workflow(
        [ui_node(1, "EmptyLatentImage", outputs=["LATENT"], values={"width": 768, "height": 640, "batch_size": 2})], []
    )
    assert ui_to_api(wf, REG)["1"]["inputs"] == {"width": 768, "height": 640, "batch_size": 2}


def test_converted_widget_link_wins_and_its_value_slot_is_still_consumed():
    wf = base_graph(
        extra_nodes=[ui_node(8, "PrimitiveInt", outputs=["INT"], values=[99, "fixed"])],
        extra_links=[[10, 8, 0, 5, 1, "INT"]],
        ks_inputs=ksampler_inputs(1, 4, 5, 6, seed_link=10),
    )
    # inputs: model, seed, positive, negative, latent_image -> slot indexes shift
    for link in wf["links"]:
        if link[3] == 5 and link[0] in (4, 5, 6):
            link[4] += 1
    inputs = ui_to_api(wf, REG)["5"]["inputs"]
    assert inputs["seed"] == ["8", 0]
    assert inputs["steps"] == 20 and inputs["cfg"] == 8 and inputs["denoise"] == 1
    assert inputs["latent_image"] == ["4", 0]
    assert list(inputs)[0] == "seed"  # keeps the widget position


def test_unlinked_converted_widget_keeps_its_value():
    wf = base_graph(ks_inputs=ksampler_inputs(1, 4, 5, 6) + [slot("seed", "INT", None, widget="seed")])
    assert ui_to_api(wf, REG)["5"]["inputs"]["seed"] == 5


def test_title_or_display_name():
    wf = base_graph()
    wf["nodes"][1]["title"] = "Positive"
    result = ui_to_api(wf, REG)
    assert result["2"]["_meta"] == {"title": "Positive"}
    assert result["3"]["_meta"] == {"title": "CLIP Text Encode (Prompt)"}


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


# --- bad input -------------------------------------------------------------------------------


def with_node_change(change):
    wf = base_graph()
    change(wf)
    return wf


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: [], "must be an object"),
        (lambda: workflow([], []) | {"nodes": {"1": {}}}, "'nodes' must be an array"),
        (lambda: workflow([3], []), r"nodes\[0\] must be an object"),
        (lambda: workflow([{"type": "KSampler"}], []), r"nodes\[0\] has no 'id'"),
        (lambda: workflow([{"id": True, "type": "KSampler"}], []), "id must be a number or a string"),
        (lambda: workflow([{"id": 1}], []), "node 1 .* has no 'type'"),
        (lambda: workflow([ui_node(1, "VAEDecode"), ui_node(1, "VAEDecode")], []), "node id 1 is used twice"),
        (lambda: with_node_change(lambda wf: wf["nodes"][0].update(mode="always")), "node 1 .*'mode' must be"),
        (lambda: with_node_change(lambda wf: wf["nodes"][0].update(inputs={"a": 1})), "node 1 .*'inputs' must be"),
        (lambda: with_node_change(lambda wf: wf["nodes"][0].update(outputs=[1])), r"node 1 .*outputs\[0\]"),
        (lambda: with_node_change(lambda wf: wf["nodes"][1].update(inputs=[7])), r"node 2 .*inputs\[0\] must be"),
        (lambda: with_node_change(lambda wf: wf["nodes"][1].update(inputs=[{"type": "CLIP"}])), "no 'name'"),
        (lambda: with_node_change(lambda wf: wf["nodes"][1]["inputs"][0].update(link=[1])), "'clip'.* link must be"),
        (lambda: with_node_change(lambda wf: wf["nodes"][0].update(widgets_values="x")), "'widgets_values' must be"),
        (lambda: with_node_change(lambda wf: wf.update(links={"a": 1})), r"links\['a'\] must be an array or an object"),
        (lambda: with_node_change(lambda wf: wf.update(links="x")), "'links' must be an array"),
        (lambda: with_node_change(lambda wf: wf["links"].append([1, 2, 3])), r"links\[9\] must have 6 items"),
        (lambda: with_node_change(lambda wf: wf["links"].append("x")), r"links\[9\] must be an array or an object"),
        (lambda: with_node_change(lambda wf: wf["links"].append({"id": 1})), r"links\[9\] is missing origin_id"),
        (lambda: with_node_change(lambda wf: wf["links"].append([50, 1, "a", 2, 0, "X"])), "origin_slot must be"),
        (lambda: with_node_change(lambda wf: wf["links"].append([50, 1, 0.5, 2, 0, "X"])), "origin_slot must be"),
    ],
)
def test_wrong_shapes_name_the_place(make, message):
    with pytest.raises(WorkflowError, match=message):
        ui_to_api(make(), REG)


def test_unknown_node_type_names_the_node_and_type():
    wf = base_graph(extra_nodes=[ui_node(8, "FancyUpscaler", values=[])])
    with pytest.raises(WorkflowError, match="node 8 .*unknown node type 'FancyUpscaler'") as info:
        ui_to_api(wf, REG)
    assert info.value.node_id == "8"


@pytest.mark.parametrize(
    ("type_", "hint"), [("workflow>MyGroup", "group node"), ("0fe56559-1cb1-4fe8-955a-15de80e086e9", "subgraph id")]
)
def test_unknown_type_hints(type_, hint):
    with pytest.raises(WorkflowError, match=hint):
        ui_to_api(base_graph(extra_nodes=[ui_node(8, type_)]), REG)


def test_link_from_a_missing_node():
    wf = base_graph()
    wf["links"][0][1] = 77
    with pytest.raises(WorkflowError, match="node 5 .*input 'model' is linked \\(link 1\\) from node 77") as info:
        ui_to_api(wf, REG)
    assert (info.value.node_id, info.value.input_name) == ("5", "model")


def test_input_using_a_link_that_is_not_in_the_table():
    wf = base_graph()
    wf["nodes"][4]["inputs"][0]["link"] = 500
    with pytest.raises(WorkflowError, match="node 5 .*input 'model' uses link 500"):
        ui_to_api(wf, REG)


def test_stale_links_nobody_uses_are_ignored():
    wf = base_graph()
    wf["links"].append([77, 123, 0, 456, 0, "MODEL"])
    assert set(ui_to_api(wf, REG)) == {"1", "2", "3", "4", "5", "6", "7"}


def test_output_index_out_of_range():
    wf = base_graph()
    wf["links"][0][2] = 5
    with pytest.raises(WorkflowError, match="input 'model' is linked to output 5 of node 1 .*has 3 output"):
        ui_to_api(wf, REG)


@pytest.mark.parametrize(("values", "missing"), [([], "seed"), ([5, "fixed", 20, 8], "sampler_name"), (None, "seed")])
def test_widgets_values_too_short(values, missing):
    wf = base_graph()
    wf["nodes"][4]["widgets_values"] = values
    if values is None:
        del wf["nodes"][4]["widgets_values"]
    with pytest.raises(WorkflowError, match=f"node 5 .*no value for the widget input '{missing}' of KSampler") as info:
        ui_to_api(wf, REG)
    assert info.value.input_name == missing


def test_circular_reroutes():
    wf = base_graph(
        extra_nodes=[
            ui_node(20, "Reroute", inputs=[slot("", "*", 21)], outputs=["MODEL"]),
            ui_node(21, "Reroute", inputs=[slot("", "*", 20)], outputs=["MODEL"]),
        ],
        extra_links=[[20, 20, 0, 21, 0, "MODEL"], [21, 21, 0, 20, 0, "MODEL"], [22, 21, 0, 5, 0, "MODEL"]],
        ks_inputs=ksampler_inputs(22, 4, 5, 6),
    )
    with pytest.raises(WorkflowError, match="node 5 .*'model' is linked in a circle"):
        ui_to_api(wf, REG)


def test_boundary_link_outside_a_subgraph():
    wf = base_graph()
    wf["links"][0][1] = -10
    with pytest.raises(WorkflowError, match="comes from a subgraph input but the node is not inside a subgraph"):
        ui_to_api(wf, REG)


def test_long_reroute_chains_and_large_documents_convert_without_recursion():
    count = 5000
    nodes = [ui_node(1, "EmptyLatentImage", outputs=["LATENT"], values=[64, 64, 1])]
    nodes += [ui_node(i, "Reroute", inputs=[slot("", "*", i)], outputs=["LATENT"]) for i in range(2, count)]
    nodes.append(
        ui_node(
            count,
            "LatentUpscaleBy",
            inputs=[slot("samples", "LATENT", count)],
            outputs=["LATENT"],
            values=["bilinear", 2.0],
        )
    )
    links = [[i, i - 1, 0, i, 0, "LATENT"] for i in range(2, count + 1)]
    result = ui_to_api(workflow(nodes, links), REG)
    assert result == {
        "1": {
            "inputs": {"width": 64, "height": 64, "batch_size": 1},
            "class_type": "EmptyLatentImage",
            "_meta": {"title": "Empty Latent Image"},
        },
        str(count): {
            "inputs": {"upscale_method": "bilinear", "scale_by": 2.0, "samples": ["1", 0]},
            "class_type": "LatentUpscaleBy",
            "_meta": {"title": "Upscale Latent By"},
        },
    }


def test_bypass_prefers_an_exact_type_over_a_wildcard_input():
    custom = ui_node(
        11,
        "SomeCustomNode",
        outputs=["IMAGE", "LATENT"],
        mode=4,
        inputs=[slot("anything", "*", 40), slot("image", "IMAGE", None), slot("latent", "LATENT", 41)],
    )
    wf = base_graph(
        extra_nodes=[custom],
        extra_links=[[40, 1, 0, 11, 0, "MODEL"], [41, 4, 0, 11, 2, "LATENT"], [42, 11, 1, 5, 3, "LATENT"]],
        ks_inputs=ksampler_inputs(1, 4, 5, 42),
    )
    assert ui_to_api(wf, REG)["5"]["inputs"]["latent_image"] == ["4", 0]


def test_widget_linked_to_a_muted_node_loses_its_value_too():
    muted = ui_node(8, "PrimitiveInt", outputs=["INT"], values=[99, "fixed"], mode=2)
    wf = base_graph(
        extra_nodes=[muted],
        extra_links=[[10, 8, 0, 5, 4, "INT"]],
        ks_inputs=ksampler_inputs(1, 4, 5, 6) + [slot("seed", "INT", 10, widget="seed")],
    )
    inputs = ui_to_api(wf, REG)["5"]["inputs"]
    assert "seed" not in inputs and inputs["steps"] == 20


def test_a_muted_reroute_still_passes_through_as_in_the_editor():
    wf = base_graph(
        extra_nodes=[ui_node(20, "Reroute", inputs=[slot("", "*", 20)], outputs=["MODEL"], mode=2)],
        extra_links=[[20, 1, 0, 20, 0, "MODEL"], [22, 20, 0, 5, 0, "MODEL"]],
        ks_inputs=ksampler_inputs(22, 4, 5, 6),
    )
    assert ui_to_api(wf, REG)["5"]["inputs"]["model"] == ["1", 0]
