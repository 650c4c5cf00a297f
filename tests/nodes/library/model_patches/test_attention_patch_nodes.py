"""HyperTile and TomePatchModel on a tiny UNet: neutral settings are the identity, clones, bad input."""

from __future__ import annotations

import pytest
import torch

from nodes.library.model_patches.attention_patches import HyperTile, TomePatchModel
from tests.nodes.library.model_patches.patch_fixtures import positive_only, table_sigma, tiny_unet_handle
from tests.nodes.sd_fakes import values

HYPERTILE = {"tile_size": 256, "swap_size": 2, "max_depth": 0, "scale_depth": False}


def _output(handle, size=8):
    x = torch.randn(1, 4, size, size, generator=torch.Generator().manual_seed(1))
    context = torch.randn(1, 3, handle.model.config.context_dim, generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        return positive_only(handle, x, table_sigma(500), context)


def test_hypertile_with_a_tile_covering_the_latent_is_the_identity(make_ctx):
    handle = tiny_unet_handle()
    (patched,) = values(HyperTile, make_ctx(), model=handle, **{**HYPERTILE, "tile_size": 2048})
    torch.testing.assert_close(_output(patched), _output(handle), rtol=1e-6, atol=1e-6)


def test_hypertile_tiles_the_full_resolution_self_attention(make_ctx):
    handle = tiny_unet_handle()
    (patched,) = values(HyperTile, make_ctx(), model=handle, **{**HYPERTILE, "tile_size": 32, "swap_size": 1})
    seen = []
    spy = patched.clone()
    spy.options["attn1_output_patch"] = [lambda out, info: seen.append(tuple(out.shape)) or out,
                                         *patched.options["attn1_output_patch"]]
    changed = _output(spy, 16)
    # 16 x 16 tokens at 32 channels (model_channels): 4-token tiles -> 4 x 4 tiles in the batch
    assert (16, 16, 32) in seen and all(shape[0] in (1, 16) for shape in seen)
    assert not torch.allclose(changed, _output(handle, 16), atol=1e-5)
    assert handle.options == {} and patched.is_clone(handle)
    assert len(patched.options["attn1_patch"]) == len(patched.options["attn1_output_patch"]) == 1


def test_tome_ratio_zero_is_the_identity_and_a_ratio_changes_the_output(make_ctx):
    handle = tiny_unet_handle()
    (neutral,) = values(TomePatchModel, make_ctx(), model=handle, ratio=0.0)
    torch.testing.assert_close(_output(neutral), _output(handle), rtol=1e-6, atol=1e-6)
    (merged,) = values(TomePatchModel, make_ctx(), model=handle, ratio=0.5)
    assert not torch.allclose(_output(merged), _output(handle), atol=1e-5)
    assert handle.options == {}


@pytest.mark.parametrize("inputs, error, message", [
    ({"tile_size": 0}, ValueError, "'tile_size' must be between 1 and 2048"),
    ({"swap_size": 1.5}, TypeError, "'swap_size' must be an integer"),
    ({"max_depth": 11}, ValueError, "'max_depth' must be between 0 and 10"),
    ({"scale_depth": "yes"}, TypeError, "'scale_depth' must be a boolean"),
])
def test_hypertile_bad_inputs(make_ctx, inputs, error, message):
    with pytest.raises(error, match=f"HyperTile: input {message}"):
        values(HyperTile, make_ctx(), model=tiny_unet_handle(), **{**HYPERTILE, **inputs})


def test_bad_models_and_ratios_are_refused(make_ctx):
    with pytest.raises(TypeError, match="HyperTile: input 'model' must be a MODEL"):
        values(HyperTile, make_ctx(), model=object(), **HYPERTILE)
    with pytest.raises(ValueError, match="TomePatchModel: input 'ratio' must be between 0.0 and 1.0"):
        values(TomePatchModel, make_ctx(), model=tiny_unet_handle(), ratio=1.5)
    with pytest.raises(TypeError, match="TomePatchModel: input 'model' must be a MODEL"):
        values(TomePatchModel, make_ctx(), model="model", ratio=0.3)
