"""Model-free IMAGE transform nodes: sizes, exact pixel values, the outpaint feather, clear errors, schemas."""

import pytest
import torch

from nodes.library.image.transform import (
    EmptyImage,
    ImageBatch,
    ImageCrop,
    ImageInvert,
    ImagePadForOutpaint,
    ImageScale,
    ImageScaleBy,
    ImageScaleToTotalPixels,
)
from tests.nodes.sd_fakes import schema, values


@pytest.fixture
def ctx(make_ctx):
    return make_ctx()


def test_image_scale_sizes_and_aspect(ctx):
    image = torch.rand(2, 20, 40, 3)
    assert values(ImageScale, ctx, image=image, upscale_method="bilinear", width=10, height=30,
                  crop="disabled")[0].shape == (2, 30, 10, 3)
    assert values(ImageScale, ctx, image=image, upscale_method="area", width=20, height=0,
                  crop="disabled")[0].shape == (2, 10, 20, 3)
    assert values(ImageScale, ctx, image=image, upscale_method="nearest-exact", width=0, height=5,
                  crop="disabled")[0].shape == (2, 5, 10, 3)
    (same,) = values(ImageScale, ctx, image=image, upscale_method="bicubic", width=0, height=0, crop="center")
    assert torch.equal(same, image)


def test_image_scale_center_crop_and_lanczos(ctx):
    columns = torch.arange(8, dtype=torch.float32).reshape(1, 1, 8, 1).expand(1, 4, 8, 3) / 10
    (cropped,) = values(ImageScale, ctx, image=columns, upscale_method="nearest-exact", width=4, height=4,
                        crop="center")
    assert torch.allclose(cropped[0, 0, :, 0], torch.tensor([0.2, 0.3, 0.4, 0.5]))
    flat = torch.full((1, 8, 8, 3), 0.4)
    (lanczos,) = values(ImageScale, ctx, image=flat, upscale_method="lanczos", width=16, height=12, crop="disabled")
    assert lanczos.shape == (1, 12, 16, 3)
    assert torch.allclose(lanczos, torch.full_like(lanczos, int(0.4 * 255) / 255.0))


def test_scale_by_and_total_pixels(ctx):
    image = torch.rand(1, 100, 50, 3)
    assert values(ImageScaleBy, ctx, image=image, upscale_method="bilinear", scale_by=0.5)[0].shape == (1, 50, 25, 3)
    image = torch.rand(1, 100, 100, 3)
    (total,) = values(ImageScaleToTotalPixels, ctx, image=image, upscale_method="area", megapixels=0.01,
                      resolution_steps=1)
    assert total.shape == (1, 102, 102, 3)  # sqrt(0.01 * 1024 * 1024) = 102.4
    (stepped,) = values(ImageScaleToTotalPixels, ctx, image=image, upscale_method="area", megapixels=0.01,
                        resolution_steps=8)
    assert stepped.shape == (1, 104, 104, 3)


def test_invert_and_empty_image(ctx):
    image = torch.rand(1, 3, 3, 3)
    assert torch.equal(values(ImageInvert, ctx, image=image)[0], 1.0 - image)
    (orange,) = values(EmptyImage, ctx, width=5, height=4, batch_size=2, color=0xFF8000)
    assert orange.shape == (2, 4, 5, 3)
    assert torch.allclose(orange[1, 3, 4], torch.tensor([1.0, 128 / 255, 0.0]))
    assert not values(EmptyImage, ctx, width=2, height=2, batch_size=1, color=0)[0].any()


def test_pad_for_outpaint_grey_border_and_squared_feather(ctx):
    image = torch.rand(1, 100, 100, 3)
    padded, mask = values(ImagePadForOutpaint, ctx, image=image, left=16, top=0, right=0, bottom=8, feathering=40)
    assert padded.shape == (1, 108, 116, 3) and mask.shape == (1, 108, 116)
    assert torch.equal(padded[:, :100, 16:], image)
    assert (padded[:, :, :16] == 0.5).all() and (padded[:, 100:] == 0.5).all()
    assert (mask[0, :, :16] == 1).all() and (mask[0, 100:] == 1).all()
    inner = mask[0, :100, 16:]
    assert inner[50, 0] == 1.0  # on the padded left edge: distance 0
    assert inner[50, 10] == pytest.approx(((40 - 10) / 40) ** 2)
    assert inner[50, 40] == 0 and inner[50, 99] == 0
    assert inner[99, 60] == pytest.approx(((40 - 1) / 40) ** 2)  # bottom distance counts from 1, as in ComfyUI
    assert inner[0, 60] == 0  # top not padded


def outpaint_reference(height, width, feathering, top, bottom, left, right):
    """ComfyUI's feather, pixel by pixel: distance to the nearest padded edge, squared falloff."""
    weights = torch.zeros(height, width)
    for i in range(height):
        for j in range(width):
            distance = min(i if top else height, height - i if bottom else height,
                           j if left else width, width - j if right else width)
            if distance < feathering:
                weights[i, j] = ((feathering - distance) / feathering) ** 2
    return weights


@pytest.mark.parametrize("pads", [(8, 8, 8, 8), (0, 16, 0, 8), (24, 0, 0, 0)])
def test_pad_for_outpaint_mask_matches_the_per_pixel_formula(ctx, pads):
    left, top, right, bottom = pads
    image = torch.rand(1, 30, 26, 3)
    before = image.clone()
    _, mask = values(ImagePadForOutpaint, ctx, image=image, left=left, top=top, right=right, bottom=bottom,
                     feathering=9)
    expected = outpaint_reference(30, 26, 9, top != 0, bottom != 0, left != 0, right != 0)
    assert torch.allclose(mask[0, top:top + 30, left:left + 26], expected)
    assert torch.equal(image, before)


def test_pad_for_outpaint_skips_feather_larger_than_half_the_picture(ctx):
    _, mask = values(ImagePadForOutpaint, ctx, image=torch.rand(1, 60, 100, 3), left=8, top=8, right=8, bottom=8,
                     feathering=30)
    assert not mask[0, 8:68, 8:108].any() and mask.sum() == 76 * 116 - 60 * 100


def test_crop_clamps_its_origin(ctx):
    image = torch.rand(1, 10, 10, 3)
    assert torch.equal(values(ImageCrop, ctx, image=image, width=4, height=3, x=2, y=5)[0], image[:, 5:8, 2:6])
    (edge,) = values(ImageCrop, ctx, image=image, width=4, height=4, x=50, y=50)
    assert torch.equal(edge, image[:, 9:, 9:])


def test_batch_resizes_the_second_image_and_matches_channels(ctx):
    first, second = torch.rand(1, 8, 8, 3), torch.rand(2, 16, 32, 4)
    (batch,) = values(ImageBatch, ctx, image1=first, image2=second)
    assert batch.shape == (3, 8, 8, 4)
    assert torch.equal(batch[0, ..., :3], first[0]) and (batch[0, ..., 3] == 1).all()


@pytest.mark.parametrize("node, inputs", [
    (ImageInvert, {}),
    (ImageScale, {"upscale_method": "bilinear", "width": 4, "height": 4, "crop": "disabled"}),
    (ImagePadForOutpaint, {"left": 8, "top": 0, "right": 0, "bottom": 0, "feathering": 0}),
])
def test_transforms_name_a_bad_image_input(ctx, node, inputs):
    with pytest.raises((TypeError, ValueError), match=f"{node.node_id}: input 'image' must be an IMAGE tensor"):
        values(node, ctx, image=torch.rand(4, 4), **inputs)


def test_schemas_match_comfyui():
    pad = schema(ImagePadForOutpaint)
    assert [(i.name, i.options["default"], i.options["step"]) for i in pad.inputs[1:]] == [
        ("left", 0, 8), ("top", 0, 8), ("right", 0, 8), ("bottom", 0, 8), ("feathering", 40, 1)]
    assert pad.output_types == ("IMAGE", "MASK")
    scale = schema(ImageScale)
    assert [i.name for i in scale.inputs] == ["image", "upscale_method", "width", "height", "crop"]
    assert scale.input("upscale_method").choices == ("nearest-exact", "bilinear", "area", "bicubic", "lanczos")
    assert dict(scale.input("width").options) == {"default": 512, "min": 0, "max": 16384, "step": 1}
    empty = schema(EmptyImage)
    assert dict(empty.input("color").options) == {"default": 0, "min": 0, "max": 0xFFFFFF, "step": 1,
                                                  "display": "color"}
    assert [i.name for i in schema(ImageCrop).inputs] == ["image", "width", "height", "x", "y"]
