"""Real workflow files load as ComfyUI's editor loads them: ComfyUI's classic templates
(tests/fixtures/templates) and a hand-made file in the shape of a 2023 save
(tests/fixtures/old_workflows), converted with the real node registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graph.ui_to_api import ui_to_api
from nodes.api.runtime import NodeRuntime
from nodes.build import build_registry

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TEMPLATES = sorted((FIXTURES / "templates").glob("*.json"))
FRONTEND_ONLY = {"Reroute", "PrimitiveNode", "Note", "MarkdownNote"}


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    runtime = NodeRuntime.for_directory(tmp_path_factory.mktemp("base"))
    return build_registry(runtime, [])[0]


@pytest.mark.parametrize("path", TEMPLATES, ids=[p.stem for p in TEMPLATES])
def test_every_template_whose_nodes_we_have_converts(registry, path):
    doc = json.loads(path.read_text())
    types = {node["type"] for node in doc["nodes"] if node.get("mode", 0) not in (2, 4)} - FRONTEND_ONLY  # run
    missing = sorted(t for t in types if registry.get(t) is None)
    if missing:
        pytest.skip(f"node types not registered yet: {', '.join(missing)}")
    notes: list[str] = []
    prompt = ui_to_api(doc, registry, notes=notes)
    assert {node["class_type"] for node in prompt.values()} == types
    if path.stem == "default":  # its SaveImage was saved with no widget values at all
        assert prompt["9"]["inputs"]["filename_prefix"] == "ComfyUI"
        assert notes == ["workflow node 9 (nodes[5]): widgets_values has 0 value(s) and none for 'filename_prefix' "
                         "of SaveImage (saved before the widget existed?); using its default 'ComfyUI'"]
    else:
        assert notes == []


def test_the_inpaint_example_keeps_its_saved_values(registry):
    prompt = ui_to_api(json.loads((FIXTURES / "templates" / "inpaint_example.json").read_text()), registry)
    assert prompt["26"]["inputs"]["grow_mask_by"] == 6 and prompt["20"]["inputs"] == {"image": "input.png"}


def test_a_2023_save_gets_the_later_widgets_defaults_with_a_note(registry):
    doc = json.loads((FIXTURES / "old_workflows" / "inpaint_2023_shape.json").read_text())
    notes: list[str] = []
    prompt = ui_to_api(doc, registry, notes=notes)
    encode = prompt["26"]["inputs"]
    assert encode["grow_mask_by"] == 6  # VAEEncodeForInpaint's default (ComfyUI's)
    assert encode["pixels"] == ["20", 0] and encode["mask"] == ["20", 1] and encode["vae"] == ["29", 2]
    assert prompt["20"]["inputs"] == {"image": "input.png"}  # the old upload entry is not a value
    sampler = prompt["3"]["inputs"]
    assert (sampler["seed"], sampler["steps"], sampler["sampler_name"], sampler["denoise"]) == \
        (808369199502636, 20, "uni_pc_bh2", 1)
    assert len(notes) == 1 and "'grow_mask_by' of VAEEncodeForInpaint" in notes[0] and "default 6" in notes[0]
