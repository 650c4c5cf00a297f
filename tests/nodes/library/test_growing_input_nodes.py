"""BatchImagesNode, BatchLatentsNode and BatchMasksNode in real prompts, with the dotted inputs ComfyUI sends."""

import pytest
import torch
from PIL import Image

from graph.executor import Executor
from graph.validate import validate_prompt
from nodes.api.inputs import Autogrow, Int, Socket
from nodes.build import build_registry


def run(runtime, prompt: dict) -> dict:
    registry, _ = build_registry(runtime)
    checked = validate_prompt(prompt, registry)
    assert checked.ok, checked.to_json()
    result = Executor(registry, runtime=runtime).execute(checked.prompt, prompt_id="p", outputs=checked.outputs)
    assert result.status == "success", result.error
    return result.outputs


def solid(color: int, width: int = 8, height: int = 8) -> dict:
    return {"class_type": "EmptyImage", "inputs": {"width": width, "height": height, "batch_size": 1, "color": color}}


def test_batch_images_joins_the_pieces_in_the_templates_order(runtime):
    prompt = {"1": solid(0xFF0000), "2": solid(0x0000FF, 16, 16), "3": solid(0x00FF00),
              # Keys arrive out of order and with a gap: image2 is not connected.
              "4": {"class_type": "BatchImagesNode",
                    "inputs": {"images.image3": ["3", 0], "images.image0": ["1", 0], "images.image1": ["2", 0]}},
              "5": {"class_type": "GetImageSize", "inputs": {"image": ["4", 0]}},
              "6": {"class_type": "PreviewImage", "inputs": {"images": ["4", 0]}}}
    outputs = run(runtime, prompt)
    saved = outputs["6"]["images"]
    colours = []
    for entry in saved:
        with Image.open(runtime.folders.temp_dir / entry["subfolder"] / entry["filename"]) as picture:
            assert picture.size == (8, 8)  # the 16x16 one was resized to the first one's size
            colours.append(picture.convert("RGB").getpixel((4, 4)))
    assert colours == [(255, 0, 0), (0, 0, 255), (0, 255, 0)]


def test_a_missing_required_piece_is_a_validation_error_naming_it(runtime):
    registry, _ = build_registry(runtime)
    prompt = {"1": solid(0), "4": {"class_type": "BatchImagesNode", "inputs": {"images.image0": ["1", 0]}},
              "6": {"class_type": "PreviewImage", "inputs": {"images": ["4", 0]}}}
    checked = validate_prompt(prompt, registry)
    assert not checked.ok
    errors = checked.node_errors["4"]["errors"]
    assert [(e["type"], e["extra_info"]["input_name"]) for e in errors] == [("required_input_missing",
                                                                              "images.image1")]


def test_a_piece_of_the_wrong_type_is_a_type_mismatch(runtime):
    registry, _ = build_registry(runtime)
    prompt = {"1": solid(0), "2": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64,
                                                                               "batch_size": 1}},
              "4": {"class_type": "BatchImagesNode", "inputs": {"images.image0": ["1", 0], "images.image1": ["2", 0]}},
              "6": {"class_type": "PreviewImage", "inputs": {"images": ["4", 0]}}}
    errors = validate_prompt(prompt, registry).node_errors["4"]["errors"]
    assert [(e["type"], e["extra_info"]["input_name"]) for e in errors] == [("return_type_mismatch",
                                                                              "images.image1")]


def test_batch_latents_and_masks_compute_the_joined_batch(runtime):
    from nodes.library.latent.latent_math import BatchLatentsNode
    from nodes.library.mask.mask_ops import BatchMasksNode

    first, second = {"samples": torch.zeros(1, 4, 2, 2)}, {"samples": torch.ones(2, 4, 4, 4), "batch_index": [7, 8]}
    (joined,) = BatchLatentsNode.run(None, latents={"latent0": first, "latent1": second})
    assert joined["samples"].shape == (3, 4, 2, 2) and joined["batch_index"] == [0, 7, 8]
    assert torch.equal(joined["samples"][1:], torch.ones(2, 4, 2, 2))
    (masks,) = BatchMasksNode.run(None, masks={"mask0": torch.zeros(1, 4, 4), "mask1": torch.ones(1, 8, 8)})
    assert masks.shape == (2, 4, 4) and torch.equal(masks[1], torch.ones(4, 4)) and masks[0].sum() == 0
    with pytest.raises(TypeError, match="masks.mask1"):
        BatchMasksNode.run(None, masks={"mask0": torch.zeros(1, 4, 4), "mask1": "not a mask"})


def test_the_growing_input_exports_comfyuis_template():
    spec = Autogrow("images", Socket("IMAGE", "image"), prefix="image", min=2, max=50).to_spec(None)
    assert spec.type == "COMFY_AUTOGROW_V3"
    assert spec.options["template"] == {"input": {"required": {"image": ["IMAGE", {}]}}, "max": 50, "min": 2,
                                        "prefix": "image"}
    with pytest.raises(ValueError, match="min <= max"):
        Autogrow("xs", Int("x"), prefix="x", min=5, max=2)
    with pytest.raises(TypeError, match="template must be one plain input"):
        Autogrow("xs", "INT")
