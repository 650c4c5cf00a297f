"""The image nodes' /object_info entries against ComfyUI's own (scripts/compare_object_info.py)."""

import json

import pytest

from scripts import compare_object_info

IMAGE_NODES = ["ImageBlend", "ImageBlur", "ImageSharpen", "ImageQuantize", "Morphology", "Canny", "ImageFlip",
               "ImageRotate", "ImageStitch", "ResizeAndPadImage", "ImageScaleToMaxDimension", "GetImageSize",
               "ImageAddNoise", "ImageFromBatch", "RepeatImageBatch", "RebatchImages", "BatchImagesNode",
               "LoadImageOutput", "SaveAnimatedPNG", "SaveAnimatedWEBP"]


@pytest.fixture(scope="module")
def reference() -> dict:
    path = compare_object_info.DEFAULT_REFERENCE
    if not path.is_file():
        pytest.skip(f"no reference /object_info at {path}")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def ours() -> dict:
    return compare_object_info.our_object_info()


@pytest.mark.parametrize("node", IMAGE_NODES)
def test_image_node_matches_comfyui_object_info(reference, ours, node):
    assert node in ours, f"{node} is not registered"
    assert compare_object_info.node_differences(node, ours[node], reference[node]) == []


def test_image_comparison_sees_a_difference(reference, ours):
    changed = json.loads(json.dumps(ours["ImageBlur"]))
    changed["input"]["required"]["sigma"][1]["step"] = 0.5
    assert compare_object_info.node_differences("ImageBlur", changed, reference["ImageBlur"]) != []


def test_autogrow_and_remote_options_are_passed_through(ours):
    template = ours["BatchImagesNode"]["input"]["required"]["images"]
    assert template[0] == "COMFY_AUTOGROW_V3" and template[1]["template"]["prefix"] == "image"
    options = ours["LoadImageOutput"]["input"]["required"]["image"][1]
    assert options["remote"]["route"] == "/internal/files/output" and options["image_upload"] is True
    assert ours["LoadImageOutput"]["experimental"] is True
