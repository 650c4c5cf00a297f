"""The merge, save and extra loader nodes show ComfyUI's own /object_info (scripts/compare_object_info.py)."""

import json

import pytest

from scripts.compare_object_info import DEFAULT_REFERENCE, node_differences, our_object_info

NODE_IDS = [
    "ModelMergeSimple", "ModelMergeAdd", "ModelMergeSubtract", "ModelMergeBlocks", "ModelMergeSD1", "ModelMergeSD2",
    "ModelMergeSDXL", "CLIPMergeSimple", "CLIPMergeAdd", "CLIPMergeSubtract", "CheckpointSave", "CLIPSave",
    "VAESave", "ModelSave", "CheckpointLoader", "DualCLIPLoader", "DiffusersLoader",
]


@pytest.fixture(scope="module")
def object_infos():
    if not DEFAULT_REFERENCE.is_file():
        pytest.skip(f"the ComfyUI reference {DEFAULT_REFERENCE} is not present")
    return our_object_info(), json.loads(DEFAULT_REFERENCE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("node_id", NODE_IDS)
def test_merging_node_matches_comfyui_object_info(object_infos, node_id):
    ours, reference = object_infos
    assert node_id in ours, f"{node_id} is not registered"
    assert node_differences(node_id, ours[node_id], reference[node_id]) == []


def test_checkpoint_loader_is_deprecated_as_in_comfyui(object_infos):
    ours, reference = object_infos
    assert ours["CheckpointLoader"].get("deprecated") is True is reference["CheckpointLoader"]["deprecated"]
