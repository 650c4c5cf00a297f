"""StyleModelLoader / StyleModelApply: the style tokens appended to the text, scaled as ComfyUI."""

from __future__ import annotations

import math

import pytest
import torch

from diffusion.checkpoints.weight_kinds import write_kind
from diffusion.models.clip_vision.encode import ClipVisionOutput
from nodes.library.vision.style_model_nodes import StyleModelApply, StyleModelLoader
from tests.nodes.sd_fakes import values


@pytest.fixture
def ctx(make_ctx):
    return make_ctx()


@pytest.fixture
def style_model(ctx, runtime):
    folder = runtime.folders.model_paths("style_models")[0]
    write_kind("style-model", str(folder / "style.safetensors"), family=None, size="tiny", seed=0, dtype=torch.float32)
    (model,) = values(StyleModelLoader, ctx, style_model_name="style.safetensors")
    return model


def _vision(batch: int = 1) -> ClipVisionOutput:
    hidden = torch.randn(batch, 257, 32, generator=torch.Generator().manual_seed(4))
    return ClipVisionOutput(last_hidden_state=hidden, penultimate_hidden_states=hidden, image_embeds=torch.zeros(batch, 8))


def test_multiply_appends_scaled_tokens(ctx, style_model):
    text = torch.randn(1, 77, 64)
    vision = _vision(2)
    with torch.no_grad():
        tokens = style_model(vision.last_hidden_state).flatten(0, 1).unsqueeze(0)  # [1, 16, 64]
    (out,) = values(StyleModelApply, ctx, conditioning=[[text, {"pooled_output": 1}]], style_model=style_model,
                    clip_vision_output=vision, strength=0.5, strength_type="multiply")
    (tensor, options), = out
    assert tensor.shape == (1, 77 + 16, 64)
    torch.testing.assert_close(tensor[:, :77], text)
    torch.testing.assert_close(tensor[:, 77:], 0.5 * tokens)
    assert options == {"pooled_output": 1}


def test_attn_bias_keeps_tokens_and_biases_attention_to_them(ctx, style_model):
    text = torch.randn(1, 5, 64)
    (out,) = values(StyleModelApply, ctx, conditioning=[[text, {}]], style_model=style_model,
                    clip_vision_output=_vision(), strength=0.25, strength_type="attn_bias")
    (tensor, options), = out
    with torch.no_grad():
        tokens = style_model(_vision().last_hidden_state)
    torch.testing.assert_close(tensor[:, 5:], tokens)
    mask = options["attention_mask"].float()
    assert mask.shape == (1, 5 + 8 + 1, 5 + 8 + 1) and options["attention_mask_img_shape"] == (1, 1)
    bias = torch.tensor(math.log(0.25), dtype=torch.float16).float()
    assert torch.all(mask[:, :5, 5:13] == bias) and torch.all(mask[:, 13:, 5:13] == bias)
    assert torch.all(mask[:, :, :5] == 0) and torch.all(mask[:, 5:13, :] == 0)
    (plain,) = values(StyleModelApply, ctx, conditioning=[[text, {}]], style_model=style_model,
                      clip_vision_output=_vision(), strength=1.0, strength_type="attn_bias")
    assert "attention_mask" not in plain[0][1]


def test_a_style_model_for_another_width_is_a_clear_error(ctx, style_model):
    with pytest.raises(ValueError, match="tokens 64 wide but conditioning entry 0 is 768 wide"):
        values(StyleModelApply, ctx, conditioning=[[torch.zeros(1, 77, 768), {}]], style_model=style_model,
               clip_vision_output=_vision(), strength=1.0, strength_type="multiply")
    wide = ClipVisionOutput(torch.zeros(1, 257, 48), torch.zeros(1, 257, 48), torch.zeros(1, 8))
    with pytest.raises(ValueError, match="StyleModelApply: this style model takes CLIP vision tokens 32 wide"):
        values(StyleModelApply, ctx, conditioning=[[torch.zeros(1, 77, 64), {}]], style_model=style_model,
               clip_vision_output=wide, strength=1.0, strength_type="multiply")
