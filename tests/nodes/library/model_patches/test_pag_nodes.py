"""PerturbedAttentionGuidance: the self-attention hook in the UNet, the guidance formula, clones, bad input."""

from __future__ import annotations

import pytest
import torch

from diffusion.models.unet.hooks import UNetHooks
from diffusion.sampling import model_hooks
from nodes.library.model_patches.guidance_patches import PerturbedAttentionGuidance
from tests.nodes.library.model_patches.patch_fixtures import positive_only, table_sigma, tiny_unet_handle
from tests.nodes.sd_fakes import values


def _inputs(handle, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 4, 8, 8, generator=g)
    context = torch.randn(1, 3, handle.model.config.context_dim, generator=g)
    return x, context


def _unet(handle, x, context, attn1_replace=None):
    timesteps = torch.tensor([500.0])
    hooks = UNetHooks(attn1_replace=attn1_replace) if attn1_replace else None
    with torch.no_grad():
        return handle.model(x, timesteps, context, hooks=hooks)


def test_a_replacement_that_recomputes_attention_changes_nothing():
    handle = tiny_unet_handle()
    heads = handle.model.middle_block[1].transformer_blocks[0].attn1.heads
    seen = []

    def attention(q, k, v, info):
        seen.append(q.shape)
        assert info["n_heads"] == heads and info["transformer_index"] == 0 and info["block"] == ("middle", 0)
        assert info["original_shape"][0] == 1 and info["original_shape"][2:] == [2, 2]
        b, n, inner = q.shape
        q, k, v = (t.reshape(b, n, heads, inner // heads).transpose(1, 2) for t in (q, k, v))
        weights = torch.softmax(q @ k.transpose(-1, -2) / (inner // heads) ** 0.5, dim=-1)
        return (weights @ v).transpose(1, 2).reshape(b, n, inner)

    x, context = _inputs(handle)
    plain = _unet(handle, x, context)
    torch.testing.assert_close(_unet(handle, x, context, attn1_replace={("middle", 0): attention}), plain,
                               rtol=1e-4, atol=1e-5)
    assert len(seen) == 1 and seen[0][1] == 4  # the middle block works at 2x2 for an 8x8 latent
    identity = _unet(handle, x, context, attn1_replace={("middle", 0): lambda q, k, v, info: v})
    assert not torch.allclose(identity, plain)


def test_pag_adds_scale_times_the_perturbation_difference(make_ctx):
    handle = tiny_unet_handle()
    x, context = _inputs(handle, 1)
    s = table_sigma(600)
    (patched,) = values(PerturbedAttentionGuidance, make_ctx(), model=handle, scale=2.5)
    plain = positive_only(handle, x, s, context)
    perturbed_handle = model_hooks.with_option(handle, model_hooks.ATTN1_REPLACE, {("middle", 0): lambda q, k, v, info: v})
    perturbed = positive_only(perturbed_handle, x, s, context)
    expected = plain + (plain - perturbed) * 2.5
    torch.testing.assert_close(positive_only(patched, x, s, context), expected, rtol=1e-4, atol=1e-5)
    assert handle.options == {} and patched is not handle and patched.is_clone(handle)


def test_pag_scale_zero_is_no_patch(make_ctx):
    handle = tiny_unet_handle()
    x, context = _inputs(handle, 2)
    s = table_sigma(300)
    (patched,) = values(PerturbedAttentionGuidance, make_ctx(), model=handle, scale=0.0)
    torch.testing.assert_close(positive_only(patched, x, s, context), positive_only(handle, x, s, context))


@pytest.mark.parametrize("scale, message", [(-1.0, "must be between"), (101.0, "must be between"),
                                            ("2", "must be a number")])
def test_bad_scale_is_refused(make_ctx, scale, message):
    with pytest.raises((TypeError, ValueError), match=f"PerturbedAttentionGuidance: input 'scale' {message}"):
        values(PerturbedAttentionGuidance, make_ctx(), model=tiny_unet_handle(), scale=scale)
