"""ImageCompositeMasked and LatentCompositeMasked: the source where the mask is 1, the destination elsewhere."""

import pytest
import torch

from nodes.library.mask.composite_masked import ImageCompositeMasked, LatentCompositeMasked
from tests.nodes.sd_fakes import values


@pytest.fixture
def ctx(make_ctx):
    return make_ctx()


def paste(ctx, destination, source, x=0, y=0, resize_source=False, **mask):
    (out,) = values(ImageCompositeMasked, ctx, destination=destination, source=source, x=x, y=y,
                    resize_source=resize_source, **mask)
    return out


# ---------------------------------------------------------------------------- ImageCompositeMasked


def test_without_a_mask_the_source_covers_its_rectangle(ctx):
    destination = torch.zeros(1, 4, 5, 3)
    out = paste(ctx, destination, torch.ones(1, 2, 2, 3), x=1, y=2)
    expected = torch.zeros(1, 4, 5, 3)
    expected[0, 2:4, 1:3] = 1.0
    assert torch.equal(out, expected)
    assert not destination.any()  # the input is unchanged


def test_the_source_is_kept_where_the_mask_is_one_and_the_destination_elsewhere(ctx):
    destination = torch.full((1, 3, 3, 3), 0.2)
    source = torch.full((1, 2, 2, 3), 0.9)
    mask = torch.tensor([[[1.0, 0.0], [0.5, 1.0]]])
    out = paste(ctx, destination, source, x=1, y=1, mask=mask)
    expected = torch.full((1, 3, 3), 0.2)
    expected[0, 1, 1] = 0.9
    expected[0, 2, 1] = 0.55  # half and half
    expected[0, 2, 2] = 0.9
    for channel in range(3):
        assert torch.allclose(out[..., channel], expected)


def test_the_source_is_cut_at_the_destination_edge_and_off_the_edge_is_a_no_op(ctx):
    destination = torch.zeros(1, 3, 3, 3)
    source = torch.arange(16, dtype=torch.float32).reshape(1, 4, 4, 1).expand(1, 4, 4, 3)
    out = paste(ctx, destination, source, x=2, y=1)
    assert torch.equal(out[0, 1:, 2:, 0], torch.tensor([[0.0], [4.0]]))
    assert out[0, :, :2].abs().sum() == 0 and out[0, 0].abs().sum() == 0
    assert torch.equal(paste(ctx, destination, source, x=3, y=0), destination)


def test_the_mask_is_resized_bilinearly_to_the_source(ctx):
    destination = torch.zeros(1, 1, 4, 3)
    mask = torch.tensor([[[0.0, 1.0]]])  # 1 x 2, stretched to 1 x 4: 0, 0.25, 0.75, 1
    out = paste(ctx, destination, torch.ones(1, 1, 4, 3), mask=mask)
    assert torch.allclose(out[0, 0, :, 0], torch.tensor([0.0, 0.25, 0.75, 1.0]))


def test_resize_source_scales_the_source_bilinearly_to_the_destination(ctx):
    source = torch.tensor([[[0.0, 1.0]]]).unsqueeze(-1).expand(1, 1, 2, 3)
    out = paste(ctx, torch.zeros(1, 2, 4, 3), source, resize_source=True)
    row = torch.tensor([0.0, 0.25, 0.75, 1.0])
    assert torch.allclose(out[0, :, :, 1], row.expand(2, 4))


def test_batches_repeat_to_the_destination(ctx):
    destination = torch.zeros(3, 1, 1, 3)
    masks = torch.tensor([[[1.0]], [[0.5]]])
    out = paste(ctx, destination, torch.ones(1, 1, 1, 3), mask=masks)
    assert torch.allclose(out[:, 0, 0, 0], torch.tensor([1.0, 0.5, 1.0]))


def test_channels_follow_the_destination(ctx):
    rgba = paste(ctx, torch.zeros(1, 2, 2, 4), torch.full((1, 1, 1, 3), 0.5))
    assert torch.equal(rgba[0, 0, 0], torch.tensor([0.5, 0.5, 0.5, 1.0]))  # the source gets an opaque alpha
    assert not rgba[0, 1, 1].any()
    rgb = paste(ctx, torch.zeros(1, 2, 2, 3), torch.full((1, 1, 1, 4), 0.5))
    assert rgb.shape == (1, 2, 2, 3) and torch.equal(rgb[0, 0, 0], torch.full((3,), 0.5))


def test_bad_images_and_masks_are_refused_by_name(ctx):
    with pytest.raises(ValueError, match="ImageCompositeMasked: input 'source' must be an IMAGE"):
        paste(ctx, torch.zeros(1, 2, 2, 3), torch.zeros(2, 2, 3))
    with pytest.raises(TypeError, match="ImageCompositeMasked: input 'destination' must be an IMAGE"):
        paste(ctx, None, torch.zeros(1, 2, 2, 3))
    with pytest.raises(ValueError, match="ImageCompositeMasked: input 'mask' must be a MASK"):
        paste(ctx, torch.zeros(1, 2, 2, 3), torch.zeros(1, 2, 2, 3), mask=torch.zeros(1, 1, 2, 2))


# ---------------------------------------------------------------------------- LatentCompositeMasked


def test_latent_composite_masked_counts_x_and_y_in_image_pixels(ctx):
    destination = {"samples": torch.zeros(1, 4, 4, 4), "batch_index": [3]}
    source = {"samples": torch.ones(1, 4, 2, 2)}
    mask = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    (out,) = values(LatentCompositeMasked, ctx, destination=destination, source=source, x=8, y=16,
                    resize_source=False, mask=mask)
    expected = torch.zeros(1, 4, 4, 4)
    expected[:, :, 2:4, 1:3] = mask
    assert torch.equal(out["samples"], expected)
    assert out["batch_index"] == [3]
    assert not destination["samples"].any()  # the input is unchanged


def test_latent_composite_masked_floors_offsets_and_resizes_the_source(ctx):
    destination = {"samples": torch.zeros(2, 4, 2, 4)}
    source = {"samples": torch.tensor([0.0, 1.0]).reshape(1, 1, 1, 2).expand(1, 4, 1, 2)}
    (out,) = values(LatentCompositeMasked, ctx, destination=destination, source=source, x=7, y=0,
                    resize_source=True)
    assert out["samples"].shape == (2, 4, 2, 4)
    assert torch.allclose(out["samples"][1, 3], torch.tensor([0.0, 0.25, 0.75, 1.0]).expand(2, 4))


def test_latent_composite_masked_refuses_other_families_and_non_latents(ctx):
    with pytest.raises(ValueError, match="LatentCompositeMasked: destination has 4 channels but source has 16"):
        values(LatentCompositeMasked, ctx, destination={"samples": torch.zeros(1, 4, 2, 2)},
               source={"samples": torch.zeros(1, 16, 2, 2)}, x=0, y=0, resize_source=False)
    with pytest.raises(TypeError, match="LatentCompositeMasked: input 'source' must be a LATENT"):
        values(LatentCompositeMasked, ctx, destination={"samples": torch.zeros(1, 4, 2, 2)},
               source=torch.zeros(1, 4, 2, 2), x=0, y=0, resize_source=False)
