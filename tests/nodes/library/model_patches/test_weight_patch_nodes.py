"""The attention multiply nodes: factor 1 is the identity; factor s equals projections whose weights are times s."""

from __future__ import annotations

import copy

import pytest
import torch

from diffusion.memory.patcher import ModelPatcher
from diffusion.models.text.clip_text import TextEncoderConfig, build_text_encoder
from diffusion.models.text.text_encode import CLIPHandle
from nodes.library.model_patches.weight_patches import (
    CLIPAttentionMultiply,
    UNetCrossAttentionMultiply,
    UNetSelfAttentionMultiply,
)
from tests.nodes.library.model_patches.patch_fixtures import positive_only, table_sigma, tiny_unet_handle
from tests.nodes.sd_fakes import values

ONES = {"q": 1.0, "k": 1.0, "v": 1.0, "out": 1.0}


def _output(handle):
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    context = torch.randn(1, 3, handle.model.config.context_dim, generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        return positive_only(handle, x, table_sigma(500), context)


def _scaled_copy(handle, suffixes: dict[str, float]):
    """A new handle on a deep copy of the UNet whose weights ending in a suffix are multiplied by hand."""
    model = copy.deepcopy(handle.model)
    with torch.no_grad():
        for name, param in model.named_parameters():
            for suffix, factor in suffixes.items():
                if name.endswith(suffix):
                    param.mul_(factor)
    return ModelPatcher(model, model_info=handle.model_info)


def test_factors_of_one_add_no_patch(make_ctx):
    handle = tiny_unet_handle()
    for node in (UNetSelfAttentionMultiply, UNetCrossAttentionMultiply):
        (patched,) = values(node, make_ctx(), model=handle, **ONES)
        assert patched.patches == {} and patched is not handle
        assert torch.equal(_output(patched), _output(handle))


@pytest.mark.parametrize("node, attention", [(UNetSelfAttentionMultiply, "attn1"),
                                             (UNetCrossAttentionMultiply, "attn2")])
def test_factors_scale_the_projection_weights_of_one_attention(make_ctx, node, attention):
    handle = tiny_unet_handle()
    (patched,) = values(node, make_ctx(), model=handle, q=2.0, k=1.0, v=0.5, out=1.5)
    names = set(patched.patches)
    assert names and all(f".{attention}." in name for name in names)
    assert not any(".to_k." in name for name in names)
    assert any(name.endswith(f"{attention}.to_out.0.bias") for name in names)
    expected = _scaled_copy(handle, {f"{attention}.to_q.weight": 2.0, f"{attention}.to_v.weight": 0.5,
                                     f"{attention}.to_out.0.weight": 1.5, f"{attention}.to_out.0.bias": 1.5})
    torch.testing.assert_close(_output(patched), _output(expected), rtol=1e-5, atol=1e-5)
    assert handle.patches == {}


def _clip():
    torch.manual_seed(1)
    return CLIPHandle("sd1", {"l": ModelPatcher(build_text_encoder(TextEncoderConfig.preset("clip_l", "tiny")))})


def test_clip_attention_multiply_scales_the_text_encoder_self_attention(make_ctx):
    clip = _clip()
    (same,) = values(CLIPAttentionMultiply, make_ctx(), clip=clip, **ONES)
    assert same is not clip and same.encoders["l"].patches == {}
    (patched,) = values(CLIPAttentionMultiply, make_ctx(), clip=clip, q=3.0, k=1.0, v=1.0, out=1.0)
    names = set(patched.encoders["l"].patches)
    assert names and all("self_attn.q_proj." in name for name in names)
    encoder = copy.deepcopy(clip.encoders["l"].model)
    with torch.no_grad():
        for name, param in encoder.named_parameters():
            if "self_attn.q_proj." in name:
                param.mul_(3.0)
    by_hand = CLIPHandle("sd1", {"l": ModelPatcher(encoder)})
    cond, _ = patched.encode("a photo of a cat")
    expected, _ = by_hand.encode("a photo of a cat")
    torch.testing.assert_close(cond, expected, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(cond, clip.encode("a photo of a cat")[0], atol=1e-4)
    assert clip.encoders["l"].patches == {}


def test_bad_inputs_are_refused(make_ctx):
    with pytest.raises(ValueError, match="UNetSelfAttentionMultiply: input 'q' must be between 0.0 and 10.0"):
        values(UNetSelfAttentionMultiply, make_ctx(), model=tiny_unet_handle(), **{**ONES, "q": 11.0})
    with pytest.raises(TypeError, match="UNetCrossAttentionMultiply: input 'model' must be a MODEL"):
        values(UNetCrossAttentionMultiply, make_ctx(), model=object(), **ONES)
    with pytest.raises(TypeError, match="CLIPAttentionMultiply: input 'clip' must be a CLIP"):
        values(CLIPAttentionMultiply, make_ctx(), clip=tiny_unet_handle(), **ONES)
    with pytest.raises(TypeError, match="CLIPAttentionMultiply: input 'out' must be a number"):
        values(CLIPAttentionMultiply, make_ctx(), clip=_clip(), **{**ONES, "out": "2"})
