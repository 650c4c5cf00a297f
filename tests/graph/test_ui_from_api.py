"""API prompt → UI workflow, and round trips back to the same prompt."""

import json
import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ui_stub_registry import StubRegistry  # noqa: E402

from graph.api_to_ui import api_to_ui  # noqa: E402
from graph.document import WorkflowError, detect_format  # noqa: E402
from graph.layout import TITLE_HEIGHT  # noqa: E402
from graph.ui_to_api import ui_to_api  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
REG = StubRegistry()


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def rectangles_overlap(a: dict, b: dict) -> bool:
    """Node rectangles including the title bar drawn above pos."""
    ax, ay, aw, ah = a["pos"][0], a["pos"][1] - TITLE_HEIGHT, a["size"][0], a["size"][1] + TITLE_HEIGHT
    bx, by, bw, bh = b["pos"][0], b["pos"][1] - TITLE_HEIGHT, b["size"][0], b["size"][1] + TITLE_HEIGHT
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def wide_prompt(count: int = 30, seed: int = 3) -> dict:
    """A branching graph: latents upscaled from random earlier latents, prompts, samplers and previews."""
    rng = random.Random(seed)
    prompt = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
        "2": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat", "clip": ["1", 1]}},
    }
    latents = ["2"]
    for index in range(4, count + 1):
        node_id = str(index)
        kind = rng.choice(["upscale", "upscale", "sample", "decode"])
        if kind == "upscale":
            prompt[node_id] = {
                "class_type": "LatentUpscaleBy",
                "inputs": {"upscale_method": "bilinear", "scale_by": 1.5, "samples": [rng.choice(latents), 0]},
            }
            latents.append(node_id)
        elif kind == "sample":
            prompt[node_id] = {
                "class_type": "KSampler",
                "inputs": {
                    "seed": index,
                    "steps": 20,
                    "cfg": 8.0,
                    "sampler_name": "euler",
                    "scheduler": "normal",
                    "denoise": 1.0,
                    "model": ["1", 0],
                    "positive": ["3", 0],
                    "negative": ["3", 0],
                    "latent_image": [rng.choice(latents), 0],
                },
            }
            latents.append(node_id)
        else:
            prompt[node_id] = {
                "class_type": "VAEDecode",
                "inputs": {"samples": [rng.choice(latents), 0], "vae": ["1", 2]},
            }
    for node in prompt.values():
        node["_meta"] = {"title": REG.get(node["class_type"]).schema().display_name}
    return prompt


def test_txt2img_example_round_trips_exactly():
    prompt = load("txt2img_api.json")
    ui = api_to_ui(prompt, REG)
    assert detect_format(ui) == "ui"
    assert ui_to_api(ui, REG) == prompt


def test_ui_shape_the_editor_expects():
    ui = api_to_ui(load("txt2img_api.json"), REG)
    assert ui["version"] == 0.4
    assert ui["last_node_id"] == 9 and ui["last_link_id"] == len(ui["links"]) == 9
    assert ui["groups"] == [] and ui["config"] == {} and ui["extra"]["ds"] == {"scale": 1, "offset": [0, 0]}
    nodes = {node["id"]: node for node in ui["nodes"]}
    assert sorted(nodes) == [3, 4, 5, 6, 7, 8, 9]
    ksampler = nodes[3]
    assert ksampler["type"] == "KSampler" and ksampler["mode"] == 0
    assert ksampler["widgets_values"] == [42, "fixed", 20, 8.0, "euler", "normal", 1.0]
    assert [s["name"] for s in ksampler["inputs"]] == ["model", "positive", "negative", "latent_image"]
    assert "title" not in ksampler  # same as the display name
    assert "widgets_values" not in nodes[8]  # VAEDecode has no widgets
    checkpoint = nodes[4]
    assert [o["type"] for o in checkpoint["outputs"]] == ["MODEL", "CLIP", "VAE"]
    clip_links = checkpoint["outputs"][1]["links"]
    assert len(clip_links) == 2
    for link in ui["links"]:
        link_id, origin, origin_slot, target, target_slot, link_type = link
        assert link_id in nodes[origin]["outputs"][origin_slot]["links"]
        assert nodes[target]["inputs"][target_slot]["link"] == link_id
        assert nodes[origin]["outputs"][origin_slot]["type"] == link_type
    assert sorted(node["order"] for node in ui["nodes"]) == list(range(7))


def test_sdxl_prompt_round_trips_with_titles():
    prompt = load("comfyui_sdxl_simple_api.json")
    ui = api_to_ui(prompt, REG)
    titles = {node["id"]: node.get("title") for node in ui["nodes"]}
    assert titles[10] == "Positive Prompt" and titles[13] == "Empty Latent" and titles[12] is None
    assert ui_to_api(ui, REG) == prompt


def test_linked_widget_becomes_a_converted_widget_input():
    prompt = load("txt2img_api.json")
    prompt["20"] = {"class_type": "PrimitiveInt", "inputs": {"value": 7}, "_meta": {"title": "Int"}}
    prompt["3"]["inputs"]["seed"] = ["20", 0]
    ui = api_to_ui(prompt, REG)
    ksampler = next(node for node in ui["nodes"] if node["id"] == 3)
    seed_slot = next(s for s in ksampler["inputs"] if s["name"] == "seed")
    assert seed_slot["widget"] == {"name": "seed"} and seed_slot["type"] == "INT"
    assert [s["name"] for s in ksampler["inputs"]] == ["model", "seed", "positive", "negative", "latent_image"]
    assert ksampler["widgets_values"][:2] == [0, "fixed"]  # default for the linked widget
    assert ui_to_api(ui, REG) == prompt


def test_list_values_and_force_input_round_trip():
    prompt = {
        "1": {
            "class_type": "EmptyLatentImage",
            "inputs": {"width": 64, "height": 64, "batch_size": 1},
            "_meta": {"title": "Empty Latent Image"},
        },
        "2": {"class_type": "PrimitiveInt", "inputs": {"value": 3}, "_meta": {"title": "Int"}},
        "3": {
            "class_type": "StubOptions",
            "inputs": {"tags": {"__value__": ["a", "c"]}, "note": "hi", "latent": ["1", 0], "count": ["2", 0]},
            "_meta": {"title": "Stub Options"},
        },
    }
    ui = api_to_ui(prompt, REG)
    stub = next(node for node in ui["nodes"] if node["id"] == 3)
    assert stub["widgets_values"] == [["a", "c"], "hi"]
    assert [s["name"] for s in stub["inputs"]] == ["latent", "count"]
    assert ui_to_api(ui, REG) == prompt


def test_non_numeric_ids_get_new_integers_and_a_mapping():
    prompt = load("nested_subgraph_api.json")
    ui = api_to_ui(prompt, REG)
    mapping = ui["extra"]["api_node_ids"]
    assert sorted(mapping.values()) == ["12:3:5", "12:3:6", "12:8"]
    assert sorted(int(k) for k in mapping) == [8, 9, 10]  # after the largest numeric id, 7
    assert ui["last_node_id"] == 10
    back = ui_to_api(ui, REG)
    renamed = {mapping.get(node_id, node_id): node for node_id, node in back.items()}
    for node in renamed.values():
        for name, value in node["inputs"].items():
            if isinstance(value, list):
                node["inputs"][name] = [mapping.get(value[0], value[0]), value[1]]
    assert renamed == prompt


def test_thirty_nodes_round_trip_and_never_overlap():
    prompt = wide_prompt()
    ui = api_to_ui(prompt, REG)
    nodes = ui["nodes"]
    assert len(nodes) == 30
    for i, a in enumerate(nodes):
        for b in nodes[i + 1 :]:
            assert not rectangles_overlap(a, b), (a["id"], b["id"])
    positions = {node["id"]: node["pos"] for node in nodes}
    for _, origin, _, target, _, _ in ui["links"]:
        assert positions[origin][0] < positions[target][0]  # wires run left to right
    assert ui_to_api(ui, REG) == prompt


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ([], "must be an object of nodes"),
        ({"1": 3}, "node '1' must be an object"),
        ({1: {"class_type": "VAEDecode", "inputs": {}}}, "node id 1 must be a string"),
        ({"1": {"inputs": {}}}, "node '1' has no class_type"),
        ({"1": {"class_type": "VAEDecode", "inputs": []}}, "node '1': 'inputs' must be an object"),
        ({"1": {"class_type": "Nope", "inputs": {}}}, "node '1': unknown node type 'Nope'"),
        (
            {"1": {"class_type": "VAEDecode", "inputs": {"samples": ["9", 0]}}},
            "node '1': input 'samples' is linked to node '9', which is not in the prompt",
        ),
        (
            {
                "1": {"class_type": "EmptyLatentImage", "inputs": {}},
                "2": {"class_type": "VAEDecode", "inputs": {"samples": ["1", 3]}},
            },
            "input 'samples' is linked to output 3 of node '1' \\(EmptyLatentImage\\), which has 1 output",
        ),
        (
            {
                "1": {"class_type": "EmptyLatentImage", "inputs": {}},
                "2": {"class_type": "VAEDecode", "inputs": {"samples": ["1", 0.5]}},
            },
            "output 0.5 of node '1'",
        ),
    ],
)
def test_bad_prompts_name_the_node_and_input(prompt, message):
    with pytest.raises(WorkflowError, match=message):
        api_to_ui(prompt, REG)


def test_missing_literal_widgets_take_their_defaults():
    ui = api_to_ui({"1": {"class_type": "KSampler", "inputs": {}}}, REG)
    assert ui["nodes"][0]["widgets_values"] == [0, "fixed", 20, 8.0, "euler", "simple", 1.0]
