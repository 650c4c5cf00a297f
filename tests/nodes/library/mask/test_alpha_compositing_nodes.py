"""Alpha nodes: JoinImageWithAlpha, SplitImageWithAlpha, and every Porter-Duff mode on a hand-worked pixel."""

import pytest
import torch

from nodes.library.mask.alpha_compositing import (
    PORTER_DUFF_MODES,
    JoinImageWithAlpha,
    PorterDuffImageComposite,
    SplitImageWithAlpha,
)
from tests.nodes.sd_fakes import values


@pytest.fixture
def ctx(make_ctx):
    return make_ctx()


# ---------------------------------------------------------------------------- Join / Split


def test_join_puts_one_minus_the_mask_in_the_alpha_channel(ctx):
    image = torch.rand(1, 2, 2, 3, generator=torch.Generator().manual_seed(0))
    mask = torch.tensor([[[0.0, 1.0], [0.5, 0.25]]])
    (joined,) = values(JoinImageWithAlpha, ctx, image=image, alpha=mask)
    assert joined.shape == (1, 2, 2, 4)
    assert torch.equal(joined[..., :3], image)
    assert torch.equal(joined[..., 3], torch.tensor([[[1.0, 0.0], [0.5, 0.75]]]))


def test_join_resizes_the_mask_drops_old_alpha_and_takes_the_shorter_batch(ctx):
    image = torch.zeros(3, 2, 4, 4)
    (joined,) = values(JoinImageWithAlpha, ctx, image=image, alpha=torch.tensor([[[1.0, 0.0]], [[0.0, 0.0]]]))
    assert joined.shape == (2, 2, 4, 4)
    assert torch.allclose(joined[0, :, :, 3], torch.tensor([0.0, 0.25, 0.75, 1.0]).expand(2, 4))
    assert torch.equal(joined[1, ..., 3], torch.ones(2, 4))


def test_split_gives_rgb_and_one_minus_alpha(ctx):
    image = torch.rand(2, 3, 2, 4, generator=torch.Generator().manual_seed(1))
    rgb, mask = values(SplitImageWithAlpha, ctx, image=image)
    assert torch.equal(rgb, image[..., :3]) and torch.equal(mask, 1.0 - image[..., 3])
    rgb_only, empty = values(SplitImageWithAlpha, ctx, image=image[..., :3])
    assert torch.equal(rgb_only, image[..., :3]) and empty.shape == (2, 3, 2) and not empty.any()


def test_join_then_split_gives_the_mask_back(ctx):
    image = torch.rand(1, 3, 3, 3, generator=torch.Generator().manual_seed(2))
    mask = torch.rand(1, 3, 3, generator=torch.Generator().manual_seed(3))
    (joined,) = values(JoinImageWithAlpha, ctx, image=image, alpha=mask)
    rgb, back = values(SplitImageWithAlpha, ctx, image=joined)
    assert torch.equal(rgb, image) and torch.allclose(back, mask)


def test_join_and_split_refuse_bad_inputs(ctx):
    with pytest.raises(ValueError, match="JoinImageWithAlpha: input 'alpha' must be a MASK"):
        values(JoinImageWithAlpha, ctx, image=torch.zeros(1, 2, 2, 3), alpha=torch.zeros(2))
    with pytest.raises(ValueError, match="SplitImageWithAlpha: the image must have at least 3 channels"):
        values(SplitImageWithAlpha, ctx, image=torch.zeros(1, 2, 2, 1))


# ---------------------------------------------------------------------------- PorterDuffImageComposite

# Source colour 0.5 at alpha 0.5 (mask 0.5) over destination colour 0.4 at alpha 1 (mask 0); premultiplied
# that is s = 0.25, d = 0.4. Each row: mode -> (colour, mask) worked out from the mode's formula.
EXPECTED = {
    "ADD": (0.65, 0.0),       # alpha min(1.5, 1); colour 0.25 + 0.4
    "CLEAR": (0.0, 1.0),
    "DARKEN": (0.45, 0.0),    # 0 * s + 0.5 * d + min(s, d)
    "DST": (0.4, 0.0),
    "DST_ATOP": (0.4, 0.5),   # alpha = source alpha; (0.5 * d) / 0.5
    "DST_IN": (0.4, 0.5),
    "DST_OUT": (0.4, 0.5),    # alpha 0.5 * 1; (0.5 * d) / 0.5
    "DST_OVER": (0.4, 0.0),
    "LIGHTEN": (0.6, 0.0),    # 0.5 * d + max(s, d)
    "MULTIPLY": (0.2, 0.5),   # (s * d) / 0.5
    "OVERLAY": (0.2, 0.0),    # 2d < 1, so 2 * s * d
    "SCREEN": (0.55, 0.0),    # s + d - s * d
    "SRC": (0.5, 0.5),
    "SRC_ATOP": (0.45, 0.0),  # alpha = destination alpha; s + 0.5 * d
    "SRC_IN": (0.5, 0.5),
    "SRC_OUT": (0.0, 1.0),    # the destination is opaque: nothing of the source is left
    "SRC_OVER": (0.45, 0.0),
    "XOR": (0.4, 0.5),        # alpha 0 + 0.5 * 1; (0.5 * d) / 0.5
}


def composite(ctx, mode, source=None, source_mask=None, destination=None, destination_mask=None):
    source = torch.full((1, 2, 2, 3), 0.5) if source is None else source
    destination = torch.full((1, 2, 2, 3), 0.4) if destination is None else destination
    source_mask = torch.full((1, 2, 2), 0.5) if source_mask is None else source_mask
    destination_mask = torch.zeros(1, 2, 2) if destination_mask is None else destination_mask
    return values(PorterDuffImageComposite, ctx, source=source, source_alpha=source_mask,
                  destination=destination, destination_alpha=destination_mask, mode=mode)


def test_every_mode_has_a_worked_case():
    assert set(EXPECTED) == set(PORTER_DUFF_MODES)


@pytest.mark.parametrize("mode", PORTER_DUFF_MODES)
def test_porter_duff_mode_on_a_half_transparent_source_over_an_opaque_destination(ctx, mode):
    image, mask = composite(ctx, mode)
    colour, expected_mask = EXPECTED[mode]
    assert image.shape == (1, 2, 2, 3) and mask.shape == (1, 2, 2)
    assert torch.allclose(image, torch.full_like(image, colour), atol=1e-6), image[0, 0, 0]
    assert torch.allclose(mask, torch.full_like(mask, expected_mask), atol=1e-6), mask[0, 0, 0]


def test_src_over_with_an_opaque_source_is_the_source(ctx):
    source = torch.rand(1, 2, 2, 3, generator=torch.Generator().manual_seed(4))
    image, mask = composite(ctx, "SRC_OVER", source=source, source_mask=torch.zeros(1, 2, 2))
    assert torch.allclose(image, source) and not mask.any()


def test_source_and_masks_are_resized_to_the_destination_and_the_batch_is_the_shortest(ctx):
    image, mask = composite(ctx, "SRC_OVER", source=torch.full((2, 1, 1, 3), 0.5),
                            source_mask=torch.full((3, 1, 1), 0.5), destination=torch.full((2, 3, 2, 3), 0.4),
                            destination_mask=torch.zeros(1, 5, 5))
    assert image.shape == (1, 3, 2, 3) and mask.shape == (1, 3, 2)
    assert torch.allclose(image, torch.full_like(image, 0.45)) and torch.allclose(mask, torch.zeros_like(mask), atol=1e-6)


def test_porter_duff_refuses_unmatched_channels_and_unknown_modes(ctx):
    with pytest.raises(ValueError, match="PorterDuffImageComposite: source has 4 channels but destination has 3"):
        composite(ctx, "SRC", source=torch.zeros(1, 2, 2, 4))
    with pytest.raises(ValueError, match="PorterDuffImageComposite: unknown mode 'BLEND'"):
        composite(ctx, "BLEND")
    with pytest.raises(ValueError, match="PorterDuffImageComposite: input 'destination_alpha' must be a MASK"):
        composite(ctx, "SRC", destination_mask=torch.zeros(1, 1, 2, 2))
