"""The sampler nodes load the model with room for one step's activations (the planner streams it when it
cannot fit beside them): the estimate comes from the UNet's config and the latent's shape."""

# The fixtures imported from sd_fixtures are used as test arguments (pytest's by-name injection).
# ruff: noqa: F811

from __future__ import annotations

import torch

from diffusion.memory.planner import unet_config_step_bytes, unet_step_bytes
from diffusion.models.unet.config import UNetConfig
from nodes.library.conditioning.clip_text import CLIPTextEncode
from nodes.library.sampling.ksampler import KSampler
from tests.nodes.sd_fixtures import call, context, sd_runtime, tiny_files, tiny_models  # noqa: F401


def test_the_estimate_reads_levels_and_attention_from_the_config():
    config = UNetConfig.preset("sd15", "full")  # attention at the first three levels, none at the deepest
    assert unet_config_step_bytes(config, (1, 4, 64, 64), dtype_bytes=2) == unet_step_bytes(
        2, 64, 64, model_channels=320, channel_mult=(1, 2, 4, 4), num_res_blocks=(2, 2, 2, 2), dtype_bytes=2,
        attention_levels=(True, True, True, False))
    assert unet_config_step_bytes(config, (2, 4, 64, 64), dtype_bytes=2) == 2 * unet_config_step_bytes(
        config, (1, 4, 64, 64), dtype_bytes=2)


def test_ksampler_asks_for_room_for_its_latent(sd_runtime, tiny_models, monkeypatch):
    sd15 = tiny_models["sd15"]
    ctx = context(sd_runtime)
    services = sd_runtime.models
    asked = []
    real_load = services.load

    def recording_load(patchers, *, work_bytes=0):
        asked.append(work_bytes)
        return real_load(patchers, work_bytes=work_bytes)

    monkeypatch.setattr(services, "load", recording_load)
    pos = call(CLIPTextEncode, ctx, text="a fox", clip=sd15.clip)[0]
    for size in (8, 16):
        call(KSampler, ctx, model=sd15.model, seed=1, steps=1, cfg=5.0, sampler_name="euler", scheduler="normal",
             positive=pos, negative=pos, latent_image={"samples": torch.zeros(1, 4, size, size)}, denoise=1.0)
    unet_asks = asked[-2:]
    expected = [unet_config_step_bytes(sd15.model.model.config, (1, 4, s, s), dtype_bytes=4) for s in (8, 16)]
    assert unet_asks == expected and unet_asks[1] > unet_asks[0] > 0
