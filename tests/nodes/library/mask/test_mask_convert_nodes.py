"""Nodes between MASK and IMAGE: channels, exact colours, grey images, and the mask preview files."""

import json
import re

import numpy as np
import pytest
import torch
from PIL import Image

from nodes.library.mask.mask_convert import ImageColorToMask, ImageToMask, MaskPreview, MaskToImage
from tests.nodes.sd_fakes import execute, values

PROMPT = {"1": {"class_type": "SolidMask", "inputs": {}}}


@pytest.fixture
def ctx(make_ctx):
    return make_ctx()


def rgba(seed: int = 0) -> torch.Tensor:
    return torch.rand(2, 3, 4, 4, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------------------- ImageToMask / MaskToImage


@pytest.mark.parametrize(("channel", "index"), [("red", 0), ("green", 1), ("blue", 2), ("alpha", 3)])
def test_image_to_mask_takes_one_channel_of_every_image(ctx, channel, index):
    image = rgba()
    (mask,) = values(ImageToMask, ctx, image=image, channel=channel)
    assert mask.shape == (2, 3, 4) and torch.equal(mask, image[..., index])
    mask[...] = -1
    assert image.min() >= 0  # a copy, not a view into the input


def test_image_to_mask_alpha_of_an_rgb_image_is_a_clear_error(ctx):
    with pytest.raises(ValueError, match="ImageToMask: the image has 3 channels, so it has no alpha channel"):
        values(ImageToMask, ctx, image=torch.zeros(1, 2, 2, 3), channel="alpha")


def test_image_to_mask_refuses_a_mask_given_as_image(ctx):
    with pytest.raises(ValueError, match="ImageToMask: input 'image' must be an IMAGE"):
        values(ImageToMask, ctx, image=torch.zeros(1, 2, 2), channel="red")


def test_mask_to_image_is_grey_rgb(ctx):
    mask = torch.tensor([[[0.0, 0.5], [1.0, 0.25]]])
    (image,) = values(MaskToImage, ctx, mask=mask)
    assert image.shape == (1, 2, 2, 3)
    for channel in range(3):
        assert torch.equal(image[..., channel], mask)
    image[...] = 7
    assert mask.max() == 1.0


def test_mask_to_image_and_back_is_the_identity(ctx):
    mask = torch.rand(3, 5, 4, generator=torch.Generator().manual_seed(1))
    (image,) = values(MaskToImage, ctx, mask=mask)
    (back,) = values(ImageToMask, ctx, image=image, channel="green")
    assert torch.equal(back, mask)


# ---------------------------------------------------------------------------- ImageColorToMask


def test_image_color_to_mask_picks_the_exact_colour(ctx):
    image = torch.zeros(1, 2, 3, 3)
    image[0, 0, 0] = torch.tensor([1.0, 0.0, 0.0])                # 0xFF0000
    image[0, 0, 1] = torch.tensor([1.0, 128 / 255, 0.0])          # 0xFF8000
    image[0, 1, 2] = torch.tensor([1.0, 127.6 / 255, 0.2 / 255])  # rounds to 0xFF8000
    image[0, 1, 0] = torch.tensor([1.0, 127.4 / 255, 0.0])        # rounds to 0xFF7F00
    (orange,) = values(ImageColorToMask, ctx, image=image, color=0xFF8000)
    assert torch.equal(orange, torch.tensor([[[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]]))
    (black,) = values(ImageColorToMask, ctx, image=image, color=0)
    assert torch.equal(black, torch.tensor([[[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]]))


def test_image_color_to_mask_clamps_before_rounding_and_ignores_alpha(ctx):
    image = torch.tensor([[[[1.3, -0.2, 1.0, 0.0]]]])
    (mask,) = values(ImageColorToMask, ctx, image=image, color=0xFF00FF)
    assert torch.equal(mask, torch.ones(1, 1, 1))


def test_image_color_to_mask_refuses_a_colour_out_of_range_and_grey_images(ctx):
    with pytest.raises(ValueError, match="ImageColorToMask: color must be 0..16777215"):
        values(ImageColorToMask, ctx, image=torch.zeros(1, 1, 1, 3), color=0x1000000)
    with pytest.raises(ValueError, match="ImageColorToMask: the image must have red, green and blue"):
        values(ImageColorToMask, ctx, image=torch.zeros(1, 1, 1, 1), color=0)


# ---------------------------------------------------------------------------- MaskPreview


def test_mask_preview_writes_grey_pngs_to_temp(ctx, runtime):
    folders = runtime.folders
    mask = torch.tensor([[[0.0, 1.0], [0.5, 0.25]], [[1.0, 1.0], [0.0, 0.0]]])
    output = execute(MaskPreview, ctx, mask=mask, prompt=PROMPT)
    entries = output.ui["images"]
    assert [entry["type"] for entry in entries] == ["temp", "temp"]
    assert re.fullmatch(r"ComfyUI_temp_[a-z]{5}_00001_\.png", entries[0]["filename"])
    assert re.fullmatch(r"ComfyUI_temp_[a-z]{5}_00002_\.png", entries[1]["filename"])
    with Image.open(folders.temp_dir / entries[0]["filename"]) as png:
        assert png.mode == "RGB" and json.loads(png.text["prompt"]) == PROMPT
        pixels = np.asarray(png)
    assert pixels[..., 0].tolist() == [[0, 255], [127, 63]]  # truncated to 8 bits, as SaveImage does
    assert (pixels[..., 0] == pixels[..., 2]).all()
    assert not list(folders.output_dir.iterdir())
    assert output.values == ()


def test_mask_preview_without_a_runtime_says_so(make_ctx):
    from graph.context import NodeContext

    with pytest.raises(RuntimeError, match="MaskPreview needs a runtime"):
        execute(MaskPreview, NodeContext(node_id="1", prompt_id="p"), mask=torch.zeros(1, 2, 2))
    with pytest.raises(ValueError, match="MaskPreview: input 'mask' must be a MASK"):
        execute(MaskPreview, make_ctx(), mask=torch.zeros(1, 2, 2, 3))
