"""VAE nodes on a tiny checkpoint: shapes, cropping to multiples of 8, tiling, inpaint preparation, bad input."""

# The fixtures imported from sd_fixtures are used as test arguments (pytest's by-name injection).
# ruff: noqa: F811

from __future__ import annotations

import pytest
import torch

from nodes.api.declare import DeclaredNodeType
from nodes.library.latent.vae_codec import (
    VAEDecode,
    VAEDecodeTiled,
    VAEEncode,
    VAEEncodeForInpaint,
    VAEEncodeTiled,
    inpaint_inputs,
)
from tests.nodes.sd_fixtures import call, context, sd_runtime, tiny_files, tiny_models  # noqa: F401


@pytest.fixture
def vae(tiny_models):
    return tiny_models["sd15"].vae


def image(height=32, width=32, batch=1, seed=0):
    return torch.rand(batch, height, width, 3, generator=torch.Generator().manual_seed(seed))


def test_encode_then_decode_shapes(sd_runtime, vae):
    (latent,) = call(VAEEncode, context(sd_runtime), pixels=image(32, 48, batch=2), vae=vae)
    assert set(latent) == {"samples"} and latent["samples"].shape == (2, 4, 4, 6)
    (decoded,) = call(VAEDecode, context(sd_runtime), samples=latent, vae=vae)
    assert decoded.shape == (2, 32, 48, 3)
    assert decoded.min() >= 0 and decoded.max() <= 1


def test_sizes_not_multiple_of_8_are_cropped(sd_runtime, vae):
    (latent,) = call(VAEEncode, context(sd_runtime), pixels=image(37, 70), vae=vae)
    assert latent["samples"].shape == (1, 4, 4, 8)
    (latent,) = call(VAEEncodeForInpaint, context(sd_runtime), pixels=image(37, 70), vae=vae,
                     mask=torch.zeros(1, 37, 70), grow_mask_by=6)
    assert latent["samples"].shape == (1, 4, 4, 8) and latent["noise_mask"].shape == (1, 1, 32, 64)


def test_alpha_channel_is_ignored(sd_runtime, vae):
    rgb = image(16, 16)
    rgba = torch.cat([rgb, torch.zeros(1, 16, 16, 1)], dim=-1)
    a = call(VAEEncode, context(sd_runtime), pixels=rgb, vae=vae)[0]["samples"]
    b = call(VAEEncode, context(sd_runtime), pixels=rgba, vae=vae)[0]["samples"]
    assert torch.equal(a, b)


def test_tiled_nodes_match_plain_shapes_and_declare_comfyui_defaults(sd_runtime, vae):
    pixels = image(64, 64)
    (tiled,) = call(VAEEncodeTiled, context(sd_runtime), pixels=pixels, vae=vae, tile_size=64, overlap=16,
                    temporal_size=64, temporal_overlap=8)
    assert tiled["samples"].shape == (1, 4, 8, 8)
    (decoded,) = call(VAEDecodeTiled, context(sd_runtime), samples=tiled, vae=vae, tile_size=64, overlap=32,
                      temporal_size=64, temporal_overlap=8)
    assert decoded.shape == (1, 64, 64, 3)
    decode = DeclaredNodeType(VAEDecodeTiled).schema()
    assert [i.name for i in decode.inputs] == ["samples", "vae", "tile_size", "overlap", "temporal_size",
                                               "temporal_overlap"]
    assert decode.input("tile_size").options["step"] == 32
    assert DeclaredNodeType(VAEEncodeTiled).schema().input("tile_size").options["step"] == 64


def test_decode_of_a_latent_with_wrong_channels_names_the_input(sd_runtime, vae):
    with pytest.raises(ValueError, match="VAEDecode: input 'samples'"):
        call(VAEDecode, context(sd_runtime), samples={"samples": torch.zeros(1, 3, 4, 4)}, vae=vae)
    with pytest.raises(TypeError, match="VAEDecode: input 'samples' must be a LATENT"):
        call(VAEDecode, context(sd_runtime), samples=torch.zeros(1, 4, 4, 4), vae=vae)


def test_missing_vae_and_bad_image_are_clear_errors(sd_runtime, vae):
    with pytest.raises(RuntimeError, match="VAEEncode: input 'vae' is None"):
        call(VAEEncode, context(sd_runtime), pixels=image(), vae=None)
    with pytest.raises(ValueError, match=r"VAEEncode: input 'pixels' must be an IMAGE"):
        call(VAEEncode, context(sd_runtime), pixels=torch.zeros(16, 16, 3), vae=vae)
    with pytest.raises(ValueError, match="smaller than"):
        call(VAEEncode, context(sd_runtime), pixels=image(4, 4), vae=vae)


def test_inpaint_inputs_grey_out_the_masked_pixels():
    pixels = image(16, 16)
    mask = torch.zeros(1, 16, 16)
    mask[:, 4:8, 4:8] = 1.0
    greyed, noise_mask = inpaint_inputs(pixels, mask, 8, 0)
    assert torch.all(greyed[:, 4:8, 4:8] == 0.5)
    outside = torch.ones(16, 16, dtype=torch.bool)
    outside[4:8, 4:8] = False
    assert torch.allclose(greyed[0][outside], pixels[0][outside])
    assert torch.equal(noise_mask[0, 0], mask[0])
    _, grown = inpaint_inputs(pixels, mask, 8, 6)
    assert grown.sum() > mask.sum() and torch.all(grown[0, 0, 4:8, 4:8] == 1)


def test_inpaint_mask_of_another_size_is_resized():
    mask = torch.zeros(1, 8, 8)
    mask[:, :4] = 1.0  # top half
    greyed, noise_mask = inpaint_inputs(image(32, 32), mask, 8, 0)
    assert noise_mask.shape == (1, 1, 32, 32)
    assert noise_mask[0, 0, :14].min() == 1 and noise_mask[0, 0, 18:].max() == 0
    assert torch.all(greyed[:, :14] == 0.5)


def test_inpaint_bad_masks_are_clear_errors(sd_runtime, vae):
    with pytest.raises(ValueError, match="input 'mask' has 3 masks for 2 images"):
        call(VAEEncodeForInpaint, context(sd_runtime), pixels=image(16, 16, batch=2), vae=vae,
             mask=torch.zeros(3, 16, 16), grow_mask_by=6)
    with pytest.raises(ValueError, match="input 'mask' must be a MASK"):
        call(VAEEncodeForInpaint, context(sd_runtime), pixels=image(16, 16), vae=vae, mask=torch.zeros(16),
             grow_mask_by=6)


def test_inpaint_encode_returns_noise_mask(sd_runtime, vae):
    mask = torch.zeros(1, 32, 32)
    mask[:, 8:24, 8:24] = 1
    pixels = image(32, 32)
    (latent,) = call(VAEEncodeForInpaint, context(sd_runtime), pixels=pixels, vae=vae, mask=mask, grow_mask_by=6)
    assert latent["samples"].shape == (1, 4, 4, 4)
    assert latent["noise_mask"].shape == (1, 1, 32, 32) and set(latent["noise_mask"].unique().tolist()) == {0.0, 1.0}
    assert torch.equal(pixels, image(32, 32))  # input not changed
