"""Our CLIP vision towers against transformers' CLIPVisionModelWithProjection on the same tiny weights."""

from __future__ import annotations

import pytest
import torch

from diffusion.models.clip_vision.encode import ClipVision, preprocess
from diffusion.models.clip_vision.make_clip_vision import preset, random_tensors
from diffusion.models.clip_vision.model import ClipVisionError, ClipVisionModel, infer_config


def reference(config, sd):
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    hf = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=config.hidden_size, intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_layers, num_attention_heads=config.num_heads, image_size=config.image_size,
        patch_size=config.patch_size, projection_dim=config.projection_dim, hidden_act=config.hidden_act,
        layer_norm_eps=1e-5))
    missing, unexpected = hf.load_state_dict(sd, strict=False)
    assert not [k for k in missing if "position_ids" not in k] and not unexpected
    return hf.eval()


@pytest.mark.parametrize("kind", ["vit-l", "vit-h"])
def test_the_tower_matches_transformers(kind):
    config = preset(kind, "tiny")
    sd = random_tensors(config, seed=3)
    assert infer_config(sd) == config
    ours = ClipVisionModel.from_state_dict(sd)
    pixels = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    last, penultimate, embeds = ours(pixels)
    with torch.no_grad():
        out = reference(config, sd)(pixel_values=pixels, output_hidden_states=True)
    torch.testing.assert_close(last, out.last_hidden_state, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(penultimate, out.hidden_states[-2], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(embeds, out.image_embeds, atol=1e-4, rtol=1e-4)


def test_vit_g_is_told_by_its_depth_and_uses_gelu():
    config = infer_config(random_tensors(preset("vit-g", "tiny")))
    assert (config.kind, config.num_layers, config.hidden_act, config.projection_dim) == ("vit-g", 48, "gelu", 128)
    assert infer_config(random_tensors(preset("vit-l", "tiny"))).hidden_act == "quick_gelu"


def test_a_file_of_unknown_layout_is_refused_clearly():
    sd = random_tensors(preset("vit-l", "tiny"))
    shallow = {k: v for k, v in sd.items() if ".layers.2" not in k}  # only 12 layers: no known kind
    with pytest.raises(ClipVisionError, match="known layout"):
        infer_config(shallow, "x.safetensors")
    openclip = {"visual.transformer.resblocks.0.attn.in_proj_weight": torch.zeros(3, 1)}
    with pytest.raises(ClipVisionError, match="x.safetensors"):
        infer_config(openclip, "x.safetensors")
    gap = {k: v for k, v in sd.items() if ".layers.5." not in k}
    with pytest.raises(ClipVisionError, match="layers 0..23"):
        infer_config(gap)


def test_preprocess_center_crop_and_stretch():
    # A 224 x 448 image whose left and right quarters are black and middle white: the centre crop is
    # all white; "none" stretches it to 224 x 224 (a white middle band between black edges).
    image = torch.zeros(1, 224, 448, 3)
    image[:, :, 112:336] = 1.0
    mean = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
    std = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)
    torch.testing.assert_close(preprocess(image, 224, crop=True), ((1 - mean) / std).expand(1, 3, 224, 224))
    stretched = preprocess(image, 224, crop=False) * std + mean
    assert stretched.shape == (1, 3, 224, 224)
    assert stretched[0, :, :, 100:124].min() > 0.99 and stretched[0, :, :, :40].max() < 0.01
    # An image of the model's size is only quantised and normalised.
    same = torch.full((1, 224, 224, 3), 0.5)
    torch.testing.assert_close(preprocess(same, 224) * std + mean, torch.full((1, 3, 224, 224), 128 / 255))


def test_encode_image_gives_the_three_outputs():
    vision = ClipVision(ClipVisionModel.from_state_dict(random_tensors(preset("vit-h", "tiny"))))
    out = vision.encode_image(torch.rand(2, 64, 96, 3))
    assert out.last_hidden_state.shape == (2, 257, 32) and out["image_embeds"].shape == (2, 48)
    assert out.penultimate_hidden_states.shape == (2, 257, 32)
