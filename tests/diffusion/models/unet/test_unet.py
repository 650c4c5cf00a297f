"""UNet: config inference from shapes, presets, and numerical parity with diffusers."""

from __future__ import annotations

import pytest
import torch
from diffusers import UNet2DConditionModel
from diffusers.loaders.single_file_utils import convert_ldm_unet_checkpoint

from diffusion.models.unet.config import UNetConfig, UNetConfigError
from diffusion.models.unet.sdxl_conditioning import adm_vector
from diffusion.models.unet.unet import UNetModel, unet_config_from_state_dict

PREFIX = "model.diffusion_model."


def _diffusers_config(cfg: UNetConfig) -> dict:
    """An explicit diffusers UNet2DConditionModel config equivalent to ours."""
    levels = len(cfg.channel_mult)
    level_depth, start = [], 0
    for n in cfg.num_res_blocks:
        level_depth.append(cfg.transformer_depth[start])
        start += n
    channels = [cfg.model_channels * m for m in cfg.channel_mult]
    heads = [cfg.heads_for(c)[0] for c in channels]
    config = {
        "sample_size": 16,
        "in_channels": cfg.in_channels,
        "out_channels": cfg.out_channels,
        "down_block_types": ["CrossAttnDownBlock2D" if d else "DownBlock2D" for d in level_depth],
        "up_block_types": ["CrossAttnUpBlock2D" if d else "UpBlock2D" for d in reversed(level_depth)],
        "block_out_channels": channels,
        "layers_per_block": cfg.num_res_blocks[0],
        "cross_attention_dim": cfg.context_dim,
        "attention_head_dim": heads,
        "use_linear_projection": cfg.use_linear_in_transformer,
        "transformer_layers_per_block": [max(d, 1) for d in level_depth[:-1]] + [cfg.transformer_depth_middle],
    }
    assert levels == len(config["down_block_types"])
    if cfg.adm_in_channels:
        config.update(addition_embed_type="text_time", addition_time_embed_dim=256,
                      projection_class_embeddings_input_dim=cfg.adm_in_channels)
    return config


def _reference(cfg: UNetConfig, ours: UNetModel) -> UNet2DConditionModel:
    config = _diffusers_config(cfg)
    checkpoint = {PREFIX + k: v for k, v in ours.state_dict().items()}
    converted = convert_ldm_unet_checkpoint(checkpoint, config)
    reference = UNet2DConditionModel(**config)
    missing, unexpected = reference.load_state_dict(converted, strict=False)
    assert not missing and not unexpected, (missing, unexpected)
    return reference.eval()


@pytest.mark.parametrize("family", ["sd15", "sd15-inpaint", "sd21", "sdxl", "sdxl-refiner"])
def test_parity_with_diffusers(family, randomize):
    cfg = UNetConfig.preset(family, "tiny")
    ours = randomize(UNetModel(cfg), seed=1).eval()
    reference = _reference(cfg, ours)
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(2, cfg.in_channels, 16, 16, generator=gen)
    t = torch.tensor([3.0, 741.5])
    context = torch.randn(2, 9, cfg.context_dim, generator=gen)
    extra, y = {}, None
    if cfg.adm_in_channels:
        numbers = [768, 1024, 8, 16, 1024, 1024] if family == "sdxl" else [768, 1024, 8, 16, 2.5]
        pooled = torch.randn(2, cfg.adm_in_channels - len(numbers) * 256, generator=gen)
        y = adm_vector(family, pooled, width=1024, height=768, crop_w=16, crop_h=8,
                       target_width=1024, target_height=1024, aesthetic_score=2.5)
        time_ids = torch.tensor([numbers] * 2, dtype=torch.float32)
        extra = {"added_cond_kwargs": {"text_embeds": pooled, "time_ids": time_ids}}
    with torch.no_grad():
        got = ours(x, t, context, y)
        want = reference(x, t, encoder_hidden_states=context, **extra).sample
    assert got.shape == want.shape == (2, 4, 16, 16)
    assert want.abs().max() > 0.1
    assert (got - want).abs().max().item() <= 1e-4


def test_odd_latent_sizes_keep_their_shape():
    model = UNetModel(UNetConfig.preset("sdxl", "tiny")).eval()
    x = torch.randn(1, 4, 13, 19)
    with torch.no_grad():
        cfg = model.config
        out = model(x, torch.tensor([5.0]), torch.randn(1, 3, cfg.context_dim), torch.randn(1, cfg.adm_in_channels))
    assert out.shape == x.shape


@pytest.mark.parametrize("family", ["sd15", "sd15-inpaint", "sd21", "sd21-v", "sdxl", "sdxl-refiner"])
@pytest.mark.parametrize("size", ["tiny", "full"])
def test_config_is_recovered_from_shapes(family, size):
    cfg = UNetConfig.preset(family, size)
    with torch.device("meta"):
        model = UNetModel(cfg)
    shapes = {PREFIX + k: v for k, v in model.state_dict().items()}
    assert unet_config_from_state_dict(shapes, prefix=PREFIX) == cfg


def test_full_sd15_parameter_count_on_meta_device():
    with torch.device("meta"):
        model = UNetModel(UNetConfig.preset("sd15", "full"))
    assert sum(p.numel() for p in model.parameters()) == 859_520_964


def test_parameter_names_mirror_checkpoint_keys():
    names = set(UNetModel(UNetConfig.preset("sd15", "tiny")).state_dict())
    for key in ("input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight", "input_blocks.2.0.op.weight", "output_blocks.3.2.conv.weight",
                "middle_block.1.proj_in.weight", "output_blocks.1.1.conv.weight", "time_embed.2.bias",
                "out.2.weight", "input_blocks.1.1.transformer_blocks.0.ff.net.0.proj.weight"):
        assert key in names


def test_sdxl_needs_y_and_sd15_refuses_it():
    sdxl = UNetModel(UNetConfig.preset("sdxl", "tiny"))
    with pytest.raises(ValueError, match="y"):
        sdxl(torch.randn(1, 4, 8, 8), torch.tensor([1.0]), torch.randn(1, 2, sdxl.config.context_dim))
    sd15 = UNetModel(UNetConfig.preset("sd15", "tiny"))
    with pytest.raises(ValueError, match="y"):
        sd15(torch.randn(1, 4, 8, 8), torch.tensor([1.0]), torch.randn(1, 2, sd15.config.context_dim), torch.randn(1, 5))


def test_not_a_unet_is_a_clear_error():
    with pytest.raises(UNetConfigError, match="input_blocks.0.0.weight"):
        unet_config_from_state_dict({"encoder.conv_in.weight": torch.zeros(1)})


def test_unknown_preset_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown model family 'sd3'"):
        UNetConfig.preset("sd3", "tiny")
    with pytest.raises(ValueError, match="unknown size 'huge'"):
        UNetConfig.preset("sd15", "huge")


def test_bad_config_is_refused():
    cfg = UNetConfig.preset("sd15", "tiny").to_dict()
    cfg["transformer_depth"] = (1,)
    with pytest.raises(UNetConfigError, match="transformer_depth"):
        UNetConfig(**cfg)
