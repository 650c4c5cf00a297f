"""FreeU / FreeU_V2: the block patch itself, one tiny UNet forward with it, clones and bad input."""

from __future__ import annotations

import pytest
import torch

from diffusion.models.unet.freeu import fourier_filter, freeu_patch
from nodes.library.model_patches.unet_patches import FreeU, FreeU_V2
from tests.nodes.library.model_patches.patch_fixtures import positive_only, table_sigma, tiny_unet_handle
from tests.nodes.sd_fakes import values

CH = 32  # model_channels of the patch tests


def _features(channels: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, channels, 6, 6, generator=g), torch.randn(2, channels, 6, 6, generator=g)


def test_fourier_filter_scales_only_the_lowest_frequencies():
    x = torch.randn(1, 2, 8, 8, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(fourier_filter(x, 1, 1.0), x, rtol=1e-5, atol=1e-5)
    constant = torch.full((1, 1, 8, 8), 3.0)
    torch.testing.assert_close(fourier_filter(constant, 1, 0.5), constant * 0.5, rtol=1e-5, atol=1e-5)
    checker = (torch.arange(8).reshape(8, 1) + torch.arange(8)).remainder(2).float().reshape(1, 1, 8, 8) * 2 - 1
    torch.testing.assert_close(fourier_filter(checker, 1, 0.0), checker, rtol=1e-5, atol=1e-5)  # highest frequency
    mixed = constant + checker
    torch.testing.assert_close(fourier_filter(mixed, 1, 0.0), checker, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("version", [1, 2])
def test_b1_s1_is_the_identity(version):
    patch = freeu_patch(CH, 1.0, 1.0, 1.0, 1.0, version=version)
    for channels in (CH, 2 * CH, 4 * CH):
        h, skip = _features(channels)
        new_h, new_skip = patch(h, skip, {})
        torch.testing.assert_close(new_h, h)
        torch.testing.assert_close(new_skip, skip, rtol=1e-5, atol=1e-5)


def test_b2_doubles_the_first_half_of_the_matching_channels():
    patch = freeu_patch(CH, 2.0, 3.0, 1.0, 1.0)
    h, skip = _features(4 * CH)
    new_h, _ = patch(h, skip, {})
    torch.testing.assert_close(new_h[:, : 2 * CH], 2 * h[:, : 2 * CH])
    torch.testing.assert_close(new_h[:, 2 * CH:], h[:, 2 * CH:])
    h2, skip2 = _features(2 * CH, 1)
    torch.testing.assert_close(patch(h2, skip2, {})[0][:, :CH], 3 * h2[:, :CH])
    h3, skip3 = _features(CH, 2)  # no stage of 1x channels: untouched
    assert patch(h3, skip3, {})[0] is h3 and patch(h3, skip3, {})[1] is skip3
    assert h.equal(_features(4 * CH)[0])  # the input tensor is not written


def test_freeu_v2_backbone_factor_follows_the_normalised_mean():
    patch = freeu_patch(CH, 3.0, 1.0, 1.0, 1.0, version=2)
    h, skip = _features(4 * CH, 3)
    new_h, _ = patch(h, skip, {})
    mean = h.mean(1, keepdim=True)
    low = mean.amin(dim=(2, 3), keepdim=True)
    high = mean.amax(dim=(2, 3), keepdim=True)
    factor = 1 + 2 * (mean - low) / (high - low)
    torch.testing.assert_close(new_h[:, : 2 * CH], h[:, : 2 * CH] * factor)
    torch.testing.assert_close(new_h[:, 2 * CH:], h[:, 2 * CH:])


def _unet_output(handle, x, s):
    context = torch.randn(1, 3, handle.model.config.context_dim, generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        return positive_only(handle, x, s, context)


def test_unet_forward_with_freeu(make_ctx):
    handle = tiny_unet_handle()
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    s = table_sigma(500)
    plain = _unet_output(handle, x, s)
    (neutral,) = values(FreeU, make_ctx(), model=handle, b1=1.0, b2=1.0, s1=1.0, s2=1.0)
    torch.testing.assert_close(_unet_output(neutral, x, s), plain, rtol=1e-5, atol=1e-5)

    seen = []
    channels = handle.model.config.model_channels
    doubling = freeu_patch(channels, 2.0, 2.0, 1.0, 1.0)

    def spy(h, skip, info):
        new_h, new_skip = doubling(h, skip, info)
        seen.append((info["block"], h.shape[1], new_h, h))
        return new_h, new_skip

    patched = neutral.clone()
    patched.options["output_block_patch"] = [spy]
    changed = _unet_output(patched, x, s)
    assert not torch.allclose(changed, plain)
    assert [b for b, *_ in seen] == [("output", i) for i in range(len(handle.model.output_blocks))]
    scaled = [(c, new, old) for _, c, new, old in seen if c in (2 * channels, 4 * channels)]
    assert scaled, "no output block at 2x or 4x the base channels"
    for c, new, old in scaled:
        torch.testing.assert_close(new[:, : c // 2], 2 * old[:, : c // 2])
    (freeu,) = values(FreeU, make_ctx(), model=handle, b1=2.0, b2=2.0, s1=1.0, s2=1.0)
    torch.testing.assert_close(_unet_output(freeu, x, s), changed, rtol=1e-5, atol=1e-5)
    assert handle.options == {}
    torch.testing.assert_close(_unet_output(handle, x, s), plain)


@pytest.mark.parametrize("node", [FreeU, FreeU_V2])
def test_nodes_return_a_clone(make_ctx, node):
    handle = tiny_unet_handle()
    (patched,) = values(node, make_ctx(), model=handle, b1=1.1, b2=1.2, s1=0.9, s2=0.2)
    assert patched is not handle and patched.is_clone(handle)
    assert handle.options == {} and len(patched.options["output_block_patch"]) == 1


@pytest.mark.parametrize("inputs, message", [
    ({"b1": 11.0}, "'b1' must be between"), ({"s2": -0.5}, "'s2' must be between"),
    ({"b2": None}, "'b2' must be a number"),
])
def test_bad_inputs_are_refused(make_ctx, inputs, message):
    values_in = {"b1": 1.1, "b2": 1.2, "s1": 0.9, "s2": 0.2, **inputs}
    with pytest.raises((TypeError, ValueError), match=f"FreeU: input {message}"):
        values(FreeU, make_ctx(), model=tiny_unet_handle(), **values_in)


def test_a_model_without_a_unet_is_refused(make_ctx):
    with pytest.raises(TypeError, match="FreeU_V2: input 'model' must be a MODEL"):
        values(FreeU_V2, make_ctx(), model=object(), b1=1.3, b2=1.4, s1=0.9, s2=0.2)
