"""ResizeImageMaskNode: every resize type on images and masks, the V3 inputs in a real graph, bad input."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from graph.executor import Executor
from graph.validate import validate_prompt
from nodes.build import build_registry
from nodes.library.image.resize_image_mask import ResizeImageMaskNode
from tests.nodes.sd_fakes import values


def resize(make_ctx, value, kind, method="nearest-exact", **choice):
    (out,) = values(ResizeImageMaskNode, make_ctx(), input=value, resize_type={"resize_type": kind, **choice},
                    scale_method=method)
    return out


IMAGE = torch.rand(2, 6, 10, 3, generator=torch.Generator().manual_seed(0))  # 10 wide, 6 high
MASK = torch.rand(1, 6, 10, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize(("kind", "choice", "size"), [
    ("scale by multiplier", {"multiplier": 1.5}, (15, 9)),
    ("scale dimensions", {"width": 20, "height": 0, "crop": "disabled"}, (20, 12)),
    ("scale dimensions", {"width": 0, "height": 3, "crop": "center"}, (5, 3)),
    ("scale longer dimension", {"longer_size": 5}, (5, 3)),
    ("scale shorter dimension", {"shorter_size": 12}, (20, 12)),
    ("scale width", {"width": 5}, (5, 3)),
    ("scale height", {"height": 12}, (20, 12)),
    ("scale total pixels", {"megapixels": 240 / 1024 ** 2}, (20, 12)),  # 4x the 60 pixels: both sides x2
])
def test_sizes_follow_comfyuis_rules_for_images_and_masks(make_ctx, kind, choice, size):
    image, mask = resize(make_ctx, IMAGE, kind, **choice), resize(make_ctx, MASK, kind, **choice)
    assert image.shape == (2, size[1], size[0], 3) and mask.shape == (1, size[1], size[0])
    expected = F.interpolate(IMAGE.movedim(-1, 1), size=(size[1], size[0]), mode="nearest-exact").movedim(1, -1)
    torch.testing.assert_close(image, expected)


def test_scale_dimensions_crops_to_the_aspect_first_and_both_zero_is_unchanged(make_ctx):
    out = resize(make_ctx, IMAGE, "scale dimensions", method="area", width=6, height=6, crop="center")
    torch.testing.assert_close(out, F.interpolate(IMAGE[:, :, 2:8].movedim(-1, 1), size=(6, 6), mode="area")
                               .movedim(1, -1))
    assert resize(make_ctx, IMAGE, "scale dimensions", width=0, height=0, crop="center") is IMAGE


def test_match_size_takes_the_size_of_an_image_or_a_mask(make_ctx):
    out = resize(make_ctx, MASK, "match size", match=torch.zeros(1, 3, 4, 3), crop="disabled")
    assert out.shape == (1, 3, 4)
    out = resize(make_ctx, IMAGE, "match size", match=torch.zeros(1, 12, 20), crop="disabled", method="bilinear")
    torch.testing.assert_close(out, F.interpolate(IMAGE.movedim(-1, 1), size=(12, 20), mode="bilinear").movedim(1, -1))


def test_bad_input_names_the_input(make_ctx):
    with pytest.raises(ValueError, match="input 'input' must be an IMAGE .* or a MASK"):
        resize(make_ctx, torch.zeros(4), "scale by multiplier", multiplier=1.0)
    with pytest.raises(ValueError, match="input 'resize_type': 'sideways' is not one of"):
        resize(make_ctx, IMAGE, "sideways")
    with pytest.raises(ValueError, match=r"input 'resize_type' \(scale by multiplier\): cannot resize to 0x0"):
        resize(make_ctx, MASK, "scale by multiplier", multiplier=0.01)
    with pytest.raises(ValueError, match="input 'resize_type.match'"):
        resize(make_ctx, IMAGE, "match size", match="big", crop="disabled")


def prompt(**resize_inputs) -> dict:
    return {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 16, "height": 8, "batch_size": 1, "color": 0xFF0000}},
        "2": {"class_type": "ResizeImageMaskNode", "inputs": {"input": ["1", 0], "scale_method": "area",
                                                              **resize_inputs}},
        "3": {"class_type": "PreviewImage", "inputs": {"images": ["2", 0]}},
    }


def test_a_prompt_with_comfyuis_dotted_names_validates_and_runs(runtime):
    registry, _ = build_registry(runtime)
    inputs = {"resize_type": "scale dimensions", "resize_type.width": 8, "resize_type.height": 0,
              "resize_type.crop": "disabled"}
    checked = validate_prompt(prompt(**inputs), registry)
    assert checked.ok, checked.to_json()
    result = Executor(registry, runtime=runtime).execute(checked.prompt, prompt_id="p1", outputs=checked.outputs)
    assert result.status == "success", result.error
    (image,) = result.outputs["3"]["images"]
    from PIL import Image

    with Image.open(runtime.folders.temp_dir / image["subfolder"] / image["filename"]) as picture:
        assert picture.size == (8, 4)


def test_validation_checks_the_chosen_keys_inputs(runtime):
    registry, _ = build_registry(runtime)
    checked = validate_prompt(prompt(**{"resize_type": "scale by multiplier", "resize_type.multiplier": 9.0}), registry)
    assert not checked.ok
    errors = {(e["type"], e["extra_info"]["input_name"]) for e in checked.node_errors["2"]["errors"]}
    assert errors == {("value_bigger_than_max", "resize_type.multiplier")}
    missing = validate_prompt(prompt(**{"resize_type": "scale longer dimension"}), registry)
    assert {e["extra_info"]["input_name"] for e in missing.node_errors["2"]["errors"]} == {"resize_type.longer_size"}
    unknown = validate_prompt(prompt(**{"resize_type": "sideways"}), registry)
    assert {e["type"] for e in unknown.node_errors["2"]["errors"]} == {"value_not_in_list"}
    wrong_type = prompt(**{"resize_type": "scale width", "resize_type.width": 4})
    wrong_type["4"] = {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}}
    wrong_type["2"]["inputs"]["input"] = ["4", 0]
    assert {e["type"] for e in validate_prompt(wrong_type, registry).node_errors["2"]["errors"]} == {
        "return_type_mismatch"}
