"""The style adapter against a reference built from torch's nn.MultiheadAttention on the same weights."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from diffusion.models.style_model.adapter import StyleAdapter, StyleModelError
from diffusion.models.style_model.make_style_model import random_tensors, recognise_style_model


def reference(sd: dict, x: torch.Tensor) -> torch.Tensor:
    """T2I's StyleAdapter written with nn.MultiheadAttention (sequence-first), 8 heads."""
    width = sd["style_embedding"].shape[-1]
    x = torch.cat([x, sd["style_embedding"].expand(x.shape[0], -1, -1)], dim=1)
    x = nn.functional.layer_norm(x, (width,), sd["ln_pre.weight"], sd["ln_pre.bias"]).permute(1, 0, 2)
    for i in range(3):
        p = f"transformer_layes.{i}."
        attn = nn.MultiheadAttention(width, 8)
        attn.load_state_dict({"in_proj_weight": sd[p + "attn.in_proj_weight"], "in_proj_bias": sd[p + "attn.in_proj_bias"],
                              "out_proj.weight": sd[p + "attn.out_proj.weight"],
                              "out_proj.bias": sd[p + "attn.out_proj.bias"]})
        h = nn.functional.layer_norm(x, (width,), sd[p + "ln_1.weight"], sd[p + "ln_1.bias"])
        x = x + attn(h, h, h, need_weights=False)[0]
        h = nn.functional.layer_norm(x, (width,), sd[p + "ln_2.weight"], sd[p + "ln_2.bias"])
        h = nn.functional.linear(h, sd[p + "mlp.c_fc.weight"], sd[p + "mlp.c_fc.bias"])
        x = x + nn.functional.linear(h * torch.sigmoid(1.702 * h), sd[p + "mlp.c_proj.weight"], sd[p + "mlp.c_proj.bias"])
    x = x.permute(1, 0, 2)[:, -8:, :]
    return nn.functional.layer_norm(x, (width,), sd["ln_post.weight"], sd["ln_post.bias"]) @ sd["proj"]


def test_the_adapter_matches_the_reference():
    sd = random_tensors("tiny", seed=2)
    model = StyleAdapter.from_state_dict(sd)
    x = torch.randn(2, 257, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(sd, x), atol=1e-4, rtol=1e-4)
    assert model(x).shape == (2, 8, 64)
    assert recognise_style_model(sd)["context_width"] == 64


def test_bad_files_and_widths_are_refused():
    with pytest.raises(StyleModelError, match="x.pt: not a style model .*Flux Redux"):
        StyleAdapter.from_state_dict({"redux_down.weight": torch.zeros(1)}, "x.pt")
    model = StyleAdapter.from_state_dict(random_tensors("tiny"))
    with pytest.raises(StyleModelError, match="32 wide, got \\(1, 257, 48\\)"):
        model(torch.zeros(1, 257, 48))
