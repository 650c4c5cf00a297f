"""MASK nodes that make or reshape masks: hand-worked values, scipy as the reference for GrowMask, bad inputs."""

import pytest
import torch

from nodes.library.mask.mask_ops import (
    CropMask,
    FeatherMask,
    GrowMask,
    InvertMask,
    MaskComposite,
    SolidMask,
    ThresholdMask,
)
from tests.nodes.sd_fakes import values


@pytest.fixture
def ctx(make_ctx):
    return make_ctx()


def dot(height: int = 5, width: int = 5, y: int = 2, x: int = 2) -> torch.Tensor:
    mask = torch.zeros(1, height, width)
    mask[0, y, x] = 1.0
    return mask


# ---------------------------------------------------------------------------- SolidMask, InvertMask, CropMask


def test_solid_mask_is_one_mask_of_the_value(ctx):
    (mask,) = values(SolidMask, ctx, value=0.25, width=3, height=2)
    assert mask.shape == (1, 2, 3) and mask.dtype == torch.float32
    assert torch.equal(mask, torch.full((1, 2, 3), 0.25))


def test_solid_mask_refuses_an_empty_size(ctx):
    with pytest.raises(ValueError, match="SolidMask: width and height"):
        values(SolidMask, ctx, value=1.0, width=0, height=4)


def test_invert_mask_is_one_minus_the_mask_and_keeps_the_input(ctx):
    mask = torch.tensor([[[0.0, 0.25], [1.0, 0.5]]])
    before = mask.clone()
    (inverted,) = values(InvertMask, ctx, mask=mask)
    assert torch.equal(inverted, torch.tensor([[[1.0, 0.75], [0.0, 0.5]]]))
    assert torch.equal(mask, before)


def test_a_two_dimensional_mask_is_read_as_a_batch_of_one(ctx):
    (inverted,) = values(InvertMask, ctx, mask=torch.zeros(2, 3))
    assert inverted.shape == (1, 2, 3) and torch.equal(inverted, torch.ones(1, 2, 3))


@pytest.mark.parametrize("bad", [torch.zeros(4), torch.zeros(1, 1, 2, 2), torch.zeros(1, 0, 3), "mask"])
def test_a_mask_input_that_is_no_mask_is_refused_by_name(ctx, bad):
    with pytest.raises((TypeError, ValueError), match="InvertMask: input 'mask' must be a MASK"):
        values(InvertMask, ctx, mask=bad)


def test_crop_mask_cuts_the_region_and_stops_at_the_edge(ctx):
    mask = torch.arange(20, dtype=torch.float32).reshape(1, 4, 5)
    (cropped,) = values(CropMask, ctx, mask=mask, x=1, y=2, width=2, height=1)
    assert torch.equal(cropped, torch.tensor([[[11.0, 12.0]]]))
    (edge,) = values(CropMask, ctx, mask=mask, x=3, y=1, width=512, height=512)
    assert torch.equal(edge, mask[:, 1:, 3:])
    edge[...] = -1
    assert mask.min() == 0  # the crop is a copy


def test_crop_mask_outside_the_mask_is_an_error(ctx):
    with pytest.raises(ValueError, match=r"CropMask: the corner \(5, 0\) lies outside the 5x4 mask"):
        values(CropMask, ctx, mask=torch.ones(1, 4, 5), x=5, y=0, width=2, height=2)


# ---------------------------------------------------------------------------- ThresholdMask


def test_threshold_mask_is_strictly_above_the_value(ctx):
    mask = torch.tensor([[[0.2, 0.5, 0.51, 1.0]]])
    (binary,) = values(ThresholdMask, ctx, mask=mask, value=0.5)
    assert torch.equal(binary, torch.tensor([[[0.0, 0.0, 1.0, 1.0]]]))


# ---------------------------------------------------------------------------- GrowMask


def test_grow_one_pixel_by_one_with_tapered_corners_gives_a_cross(ctx):
    (grown,) = values(GrowMask, ctx, mask=dot(), expand=1, tapered_corners=True)
    expected = torch.zeros(1, 5, 5)
    expected[0, 1:4, 2] = 1.0
    expected[0, 2, 1:4] = 1.0
    assert torch.equal(grown, expected)


def test_grow_one_pixel_by_one_without_tapered_corners_gives_a_square(ctx):
    (grown,) = values(GrowMask, ctx, mask=dot(), expand=1, tapered_corners=False)
    expected = torch.zeros(1, 5, 5)
    expected[0, 1:4, 1:4] = 1.0
    assert torch.equal(grown, expected)


def test_grow_by_two_with_tapered_corners_gives_a_diamond(ctx):
    (grown,) = values(GrowMask, ctx, mask=dot(), expand=2, tapered_corners=True)
    rows, cols = torch.meshgrid(torch.arange(5), torch.arange(5), indexing="ij")
    assert torch.equal(grown[0], ((rows - 2).abs() + (cols - 2).abs() <= 2).float())


def test_negative_expand_shrinks_and_the_border_does_not_erode(ctx):
    mask = torch.ones(1, 4, 6)
    mask[0, 0, 3] = 0.0
    (shrunk,) = values(GrowMask, ctx, mask=mask, expand=-1, tapered_corners=True)
    expected = torch.ones(1, 4, 6)
    expected[0, 0, 2:5] = 0.0
    expected[0, 1, 3] = 0.0
    assert torch.equal(shrunk, expected)


@pytest.mark.parametrize("expand", [3, -2])
@pytest.mark.parametrize("tapered", [True, False])
def test_grow_mask_matches_scipy_grey_morphology(ctx, expand, tapered):
    ndimage = pytest.importorskip("scipy.ndimage")
    import numpy as np

    mask = torch.rand(2, 9, 11, generator=torch.Generator().manual_seed(3))
    corner = 0 if tapered else 1
    footprint = np.array([[corner, 1, corner], [1, 1, 1], [corner, 1, corner]])
    operation = ndimage.grey_dilation if expand > 0 else ndimage.grey_erosion
    expected = []
    for plane in mask.numpy():
        for _ in range(abs(expand)):
            plane = operation(plane, footprint=footprint)
        expected.append(torch.from_numpy(plane))
    (grown,) = values(GrowMask, ctx, mask=mask, expand=expand, tapered_corners=tapered)
    assert torch.equal(grown, torch.stack(expected))


def test_grow_far_beyond_the_mask_size_fills_it(ctx):
    (grown,) = values(GrowMask, ctx, mask=dot(3, 4, 0, 0), expand=16384, tapered_corners=True)
    assert torch.equal(grown, torch.ones(1, 3, 4))


# ---------------------------------------------------------------------------- FeatherMask


def test_feather_left_ramps_from_one_quarter_to_one(ctx):
    (feathered,) = values(FeatherMask, ctx, mask=torch.ones(1, 2, 6), left=4, top=0, right=0, bottom=0)
    assert torch.allclose(feathered[0, 0], torch.tensor([0.25, 0.5, 0.75, 1.0, 1.0, 1.0]))
    assert torch.equal(feathered[0, 0], feathered[0, 1])


def test_feather_right_and_bottom_ramp_like_left_and_top(ctx):
    (feathered,) = values(FeatherMask, ctx, mask=torch.ones(1, 3, 5), left=0, top=0, right=2, bottom=3)
    columns = torch.tensor([1.0, 1.0, 1.0, 1.0, 0.5])
    rows = torch.tensor([1 / 3, 2 / 3, 1.0]).flip(0)
    assert torch.allclose(feathered[0], rows.unsqueeze(1) * columns.unsqueeze(0))


def test_crossing_feathers_multiply_and_are_capped_by_the_size(ctx):
    (feathered,) = values(FeatherMask, ctx, mask=torch.ones(1, 2, 2), left=50, top=2, right=0, bottom=0)
    assert torch.allclose(feathered[0], torch.tensor([[0.25, 0.5], [0.5, 1.0]]))


def test_feather_scales_the_mask_values(ctx):
    mask = torch.full((1, 1, 2), 0.5)
    (feathered,) = values(FeatherMask, ctx, mask=mask, left=2, top=0, right=0, bottom=0)
    assert torch.allclose(feathered, torch.tensor([[[0.25, 0.5]]]))
    assert torch.equal(mask, torch.full((1, 1, 2), 0.5))


# ---------------------------------------------------------------------------- MaskComposite

DESTINATION = torch.tensor([[[0.2, 0.6, 1.0, 0.3, 0.9],
                             [0.0, 0.4, 0.8, 0.7, 0.1]]])
SOURCE = torch.tensor([[[0.5, 1.0, 0.3, 0.6]]])


# At (1, 1) the source meets [0.4, 0.8, 0.7, 0.1]; rounded, that is [0, 1, 1, 0] and the source [0, 1, 0, 1]
# (0.5 rounds half to even, to 0).
@pytest.mark.parametrize(("operation", "region"), [
    ("multiply", [0.2, 0.8, 0.21, 0.06]),
    ("add", [0.9, 1.0, 1.0, 0.7]),         # 1.8 and 1.0 clamped
    ("subtract", [0.0, 0.0, 0.4, 0.0]),    # -0.1, -0.2, -0.5 clamped
    ("and", [0.0, 1.0, 0.0, 0.0]),
    ("or", [0.0, 1.0, 1.0, 1.0]),
    ("xor", [0.0, 0.0, 1.0, 1.0]),
])
def test_mask_composite_operations_at_an_offset(ctx, operation, region):
    destination = DESTINATION.clone()
    (out,) = values(MaskComposite, ctx, destination=destination, source=SOURCE, x=1, y=1, operation=operation)
    expected = DESTINATION.clone()
    expected[0, 1, 1:5] = torch.tensor(region)
    assert torch.allclose(out, expected)
    assert torch.equal(destination, DESTINATION)  # the input is unchanged


def test_mask_composite_clamps_the_whole_result_and_cuts_the_source_at_the_edge(ctx):
    destination = torch.tensor([[[1.5, 0.0], [0.0, 0.0]]])
    (out,) = values(MaskComposite, ctx, destination=destination, source=torch.ones(1, 5, 5), x=1, y=0,
                    operation="add")
    assert torch.equal(out, torch.tensor([[[1.0, 1.0], [0.0, 1.0]]]))


def test_mask_composite_outside_the_destination_changes_nothing(ctx):
    (out,) = values(MaskComposite, ctx, destination=DESTINATION, source=SOURCE, x=7, y=0, operation="add")
    assert torch.equal(out, DESTINATION)


def test_mask_composite_one_source_applies_to_every_destination(ctx):
    destination = torch.ones(3, 2, 2)
    (out,) = values(MaskComposite, ctx, destination=destination, source=torch.zeros(1, 1, 1), x=0, y=0,
                    operation="multiply")
    assert out.shape == (3, 2, 2) and torch.equal(out[:, 0, 0], torch.zeros(3)) and out.sum() == 9


def test_mask_composite_refuses_unmatched_batches_and_unknown_operations(ctx):
    with pytest.raises(ValueError, match="MaskComposite: source has a batch of 2 but destination has 3"):
        values(MaskComposite, ctx, destination=torch.ones(3, 2, 2), source=torch.ones(2, 2, 2), x=0, y=0,
               operation="add")
    with pytest.raises(ValueError, match="MaskComposite: unknown operation 'max'"):
        values(MaskComposite, ctx, destination=DESTINATION, source=SOURCE, x=0, y=0, operation="max")
    with pytest.raises(ValueError, match="MaskComposite: input 'source' must be a MASK"):
        values(MaskComposite, ctx, destination=DESTINATION, source=torch.ones(1, 1, 2, 2), x=0, y=0,
               operation="add")
