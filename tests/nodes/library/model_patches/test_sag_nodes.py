"""SelfAttentionGuidance: blur, attention mask, the guidance step on a tiny UNet, clones, bad input."""

from __future__ import annotations

import pytest
import torch

from diffusion.sampling import self_attention_guidance as sag
from nodes.library.model_patches.guidance_patches import SelfAttentionGuidance
from tests.nodes.library.model_patches.patch_fixtures import guided, table_sigma, tiny_unet_handle
from tests.nodes.sd_fakes import values


def test_gaussian_blur_of_an_impulse_is_the_kernel():
    image = torch.zeros(1, 1, 11, 11)
    image[0, 0, 5, 5] = 1.0
    taps = torch.exp(-0.5 * (torch.arange(-4.0, 5.0) / 2.0) ** 2)
    taps = taps / taps.sum()
    blurred = sag.gaussian_blur(image, 9, 2.0)
    torch.testing.assert_close(blurred[0, 0, 1:10, 1:10], taps[:, None] * taps[None, :])
    constant = torch.full((2, 3, 6, 6), 0.7)
    torch.testing.assert_close(sag.gaussian_blur(constant, 9, 1.5), constant)
    assert sag.gaussian_blur(constant, 9, 0.0) is constant


def test_attention_with_scores_matches_scaled_dot_product():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 5, 8, generator=g) for _ in range(3))
    out, scores = sag.attention_with_scores(q, k, v, heads=2)
    split = [t.reshape(2, 5, 2, 4).transpose(1, 2) for t in (q, k, v)]
    expected = torch.nn.functional.scaled_dot_product_attention(*split).transpose(1, 2).reshape(2, 5, 8)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    assert scores.shape == (4, 5, 5)
    torch.testing.assert_close(scores.sum(-1), torch.ones(4, 5))


def test_blur_map_blurs_only_where_keys_draw_attention():
    x0 = torch.randn(1, 2, 8, 8, generator=torch.Generator().manual_seed(1))
    scores = torch.full((2, 4, 4), 0.25)  # 2 heads, a 2x2 grid, every key gets 1 in total: no mask
    torch.testing.assert_close(sag.blur_map(x0, scores, 2.0), x0)
    scores = torch.zeros(2, 4, 4)
    scores[:, :, 0] = 1.0  # every query looks at key 0 (top-left cell)
    blurred = sag.gaussian_blur(x0, 9, 2.0)
    result = sag.blur_map(x0, scores, 2.0)
    torch.testing.assert_close(result[..., :4, :4], blurred[..., :4, :4])
    torch.testing.assert_close(result[..., 4:, :], x0[..., 4:, :])
    torch.testing.assert_close(result[..., :4, 4:], x0[..., :4, 4:])


def test_sag_on_a_tiny_unet(make_ctx):
    handle = tiny_unet_handle()
    shape = (1, 4, 16, 16)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(2))
    s = table_sigma(500)
    (zero,) = values(SelfAttentionGuidance, make_ctx(), model=handle, scale=0.0, blur_sigma=2.0)
    (patched,) = values(SelfAttentionGuidance, make_ctx(), model=handle, scale=0.8, blur_sigma=2.0)
    assert handle.options == {} and patched.is_clone(handle) and patched.options["disable_cfg1_optimization"]
    with torch.no_grad():
        plain = guided(handle, 3.0, shape, 64)(x, s)
        torch.testing.assert_close(guided(zero, 3.0, shape, 64)(x, s), plain, rtol=1e-5, atol=1e-5)
        denoiser = guided(patched, 3.0, shape, 64)
        result = denoiser(x, s)
        # by hand: record the uncond middle attention, blur where it concentrates, re-run the uncond
        recorded = []

        def record(q, k, v, info):
            out, scores = sag.attention_with_scores(q, k, v, info["n_heads"])
            if info["transformer_index"] == 0:
                recorded.append(scores)
            return out

        (uncond,) = denoiser._calc_cond_batch([denoiser.negative], x, s, {"attn1_replace": {("middle", 0): record}})
        degraded = sag.blur_map(uncond, recorded[0], 2.0)
        (answer,) = denoiser._calc_cond_batch([denoiser.negative], degraded + x - uncond, s, {})
    torch.testing.assert_close(result, plain + (degraded - answer) * 0.8, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(result, plain)


def test_small_latents_are_left_alone(make_ctx):
    handle = tiny_unet_handle()
    x = torch.randn(1, 4, 4, 4, generator=torch.Generator().manual_seed(3))
    (patched,) = values(SelfAttentionGuidance, make_ctx(), model=handle, scale=1.0, blur_sigma=2.0)
    with torch.no_grad():
        torch.testing.assert_close(guided(patched, 2.0, x.shape, 64)(x, table_sigma()),
                                   guided(handle, 2.0, x.shape, 64)(x, table_sigma()))


@pytest.mark.parametrize("inputs, message", [
    ({"scale": -3.0, "blur_sigma": 2.0}, "'scale' must be between"),
    ({"scale": 0.5, "blur_sigma": 11.0}, "'blur_sigma' must be between"),
    ({"scale": 0.5, "blur_sigma": True}, "'blur_sigma' must be a number"),
])
def test_bad_inputs_are_refused(make_ctx, inputs, message):
    with pytest.raises((TypeError, ValueError), match=f"SelfAttentionGuidance: input {message}"):
        values(SelfAttentionGuidance, make_ctx(), model=tiny_unet_handle(), **inputs)
