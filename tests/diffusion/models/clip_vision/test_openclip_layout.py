"""The OpenAI / OpenCLIP `visual.*` layout of checkpoint-embedded CLIP vision towers, converted to ours.

The reference is an independent forward pass written against the OpenCLIP names: torch's
multi_head_attention_forward on the stacked `in_proj` weights and `x @ proj`, so the q/k/v split
order and the projection's transpose are checked, not assumed.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from diffusion.models.clip_vision.make_clip_vision import preset, random_tensors
from diffusion.models.clip_vision.model import ClipVisionModel
from diffusion.models.clip_vision.openclip_layout import (
    hf_to_openclip_visual,
    is_openclip_visual,
    openclip_visual_to_hf,
)


def openclip_forward(sd: dict, pixels: torch.Tensor, heads: int, act: str) -> torch.Tensor:
    """Image embeds of an OpenCLIP-layout ViT (pre-LN blocks, class token, ln_post, proj)."""
    width = sd["conv1.weight"].shape[0]
    x = F.conv2d(pixels, sd["conv1.weight"], stride=sd["conv1.weight"].shape[-1]).flatten(2).transpose(1, 2)
    x = torch.cat([sd["class_embedding"].expand(x.shape[0], 1, width), x], dim=1) + sd["positional_embedding"]
    x = F.layer_norm(x, (width,), sd["ln_pre.weight"], sd["ln_pre.bias"], 1e-5)
    layers = 1 + max(int(k.split(".")[2]) for k in sd if k.startswith("transformer.resblocks."))
    for i in range(layers):
        p = f"transformer.resblocks.{i}."
        h = F.layer_norm(x, (width,), sd[p + "ln_1.weight"], sd[p + "ln_1.bias"], 1e-5).transpose(0, 1)
        attn, _ = F.multi_head_attention_forward(
            h, h, h, width, heads, sd[p + "attn.in_proj_weight"], sd[p + "attn.in_proj_bias"], None, None, False,
            0.0, sd[p + "attn.out_proj.weight"], sd[p + "attn.out_proj.bias"], need_weights=False)
        x = x + attn.transpose(0, 1)
        h = F.layer_norm(x, (width,), sd[p + "ln_2.weight"], sd[p + "ln_2.bias"], 1e-5)
        h = F.linear(h, sd[p + "mlp.c_fc.weight"], sd[p + "mlp.c_fc.bias"])
        h = h * torch.sigmoid(1.702 * h) if act == "quick_gelu" else F.gelu(h)
        x = x + F.linear(h, sd[p + "mlp.c_proj.weight"], sd[p + "mlp.c_proj.bias"])
    return F.layer_norm(x[:, 0], (width,), sd["ln_post.weight"], sd["ln_post.bias"], 1e-5) @ sd["proj"]


@pytest.mark.parametrize("kind", ["vit-l", "vit-h"])
def test_converted_tower_matches_an_openclip_layout_forward(kind):
    config = dataclasses.replace(preset(kind, "tiny"), image_size=42)  # 3 x 3 patches keep it fast
    openclip = hf_to_openclip_visual(random_tensors(config, seed=5))
    assert is_openclip_visual(openclip)
    assert openclip["transformer.resblocks.0.attn.in_proj_weight"].shape == (3 * config.hidden_size, config.hidden_size)
    assert openclip["proj"].shape == (config.hidden_size, config.projection_dim)
    model = ClipVisionModel.from_state_dict(openclip_visual_to_hf(openclip))
    pixels = torch.randn(2, 3, config.image_size, config.image_size, generator=torch.Generator().manual_seed(1))
    _, _, embeds = model(pixels)
    want = openclip_forward(openclip, pixels, config.num_heads, config.hidden_act)
    torch.testing.assert_close(embeds, want, rtol=1e-4, atol=1e-5)


def test_the_layouts_convert_both_ways_without_loss():
    hf = random_tensors(preset("vit-l", "tiny"), seed=2)
    back = openclip_visual_to_hf(hf_to_openclip_visual(hf))
    assert set(back) == set(hf)
    assert all(torch.equal(back[k], hf[k]) for k in hf)


def test_keys_of_other_layouts_are_left_out():
    assert openclip_visual_to_hf({"logit_scale": torch.ones(()), "transformer.resblocks.0.odd.weight": torch.ones(2)}) == {}
