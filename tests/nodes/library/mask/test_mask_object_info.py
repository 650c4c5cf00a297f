"""The mask family's /object_info entries against ComfyUI's own (scripts/compare_object_info.py)."""

import json

import pytest

from scripts import compare_object_info

MASK_NODES = ["SolidMask", "InvertMask", "CropMask", "GrowMask", "FeatherMask", "ThresholdMask", "MaskComposite",
              "ImageToMask", "MaskToImage", "ImageColorToMask", "MaskPreview", "JoinImageWithAlpha",
              "SplitImageWithAlpha", "PorterDuffImageComposite", "LatentCompositeMasked", "ImageCompositeMasked"]


@pytest.fixture(scope="module")
def reference() -> dict:
    path = compare_object_info.DEFAULT_REFERENCE
    if not path.is_file():
        pytest.skip(f"no reference /object_info at {path}")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def ours() -> dict:
    return compare_object_info.our_object_info()


@pytest.mark.parametrize("node", MASK_NODES)
def test_mask_node_matches_comfyui_object_info(reference, ours, node):
    assert node in ours, f"{node} is not registered"
    assert compare_object_info.node_differences(node, ours[node], reference[node]) == []


def test_the_comparison_sees_a_difference(reference, ours):
    changed = json.loads(json.dumps(ours["GrowMask"]))
    changed["input"]["required"]["expand"][1]["min"] = 0
    assert compare_object_info.node_differences("GrowMask", changed, reference["GrowMask"]) != []
