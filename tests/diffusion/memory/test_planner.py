"""The memory planner on simulated devices: full-size SDXL and SD1.5 footprints on 24, 8 and 4 GB GPUs."""

from __future__ import annotations

import pytest
import torch

from diffusion.memory.planner import (
    GB,
    Footprint,
    MemoryPolicy,
    choose_tile,
    plan_load,
    unet_step_bytes,
    vae_decode_bytes,
)
from diffusion.memory.streaming import largest_unit_bytes
from diffusion.models.text.clip_text import TextEncoderConfig, build_text_encoder
from diffusion.models.unet.unet import UNetConfig, UNetModel
from diffusion.models.vae.vae import AutoencoderKL, VAEConfig


def _fp16(module, name):
    """The footprint of `module` stored in fp16 (built on the meta device: nothing is allocated)."""
    params = sum(p.numel() for p in module.parameters())
    return Footprint(name, params * 2, largest_unit_bytes(module) // 2)  # meta params are fp32


@pytest.fixture(scope="module")
def sdxl():
    with torch.device("meta"):
        unet = UNetModel(UNetConfig.preset("sdxl", "full"))
        vae = AutoencoderKL(VAEConfig.preset("full"))
        clip_l = build_text_encoder(TextEncoderConfig.preset("clip_l", "full"))
        clip_g = build_text_encoder(TextEncoderConfig.preset("clip_g", "full"))
    return {"unet": _fp16(unet, "unet"), "vae": _fp16(vae, "vae"), "clip_l": _fp16(clip_l, "clip_l"),
            "clip_g": _fp16(clip_g, "clip_g")}


def _sdxl_step():  # 1024x1024, cond + uncond in one batch, fp16
    return unet_step_bytes(2, 128, 128, model_channels=320, channel_mult=(1, 2, 4), num_res_blocks=2,
                           dtype_bytes=2, attention_levels=(False, True, True))


def test_the_footprints_are_the_real_sizes(sdxl):
    assert 4.7 * GB < sdxl["unet"].weight_bytes < 4.9 * GB  # 2.57 G parameters
    assert 1.2 * GB < sdxl["clip_g"].weight_bytes < 1.4 * GB and sdxl["vae"].weight_bytes < 0.2 * GB
    assert 0 < sdxl["unet"].block_bytes < sdxl["unet"].weight_bytes / 4


def test_24_gb_keeps_every_sdxl_model_resident(sdxl):
    policy = MemoryPolicy()
    usable = policy.usable_bytes(24 * GB)
    text = plan_load(policy, usable, [], [sdxl["clip_l"], sdxl["clip_g"]])
    resident = [sdxl["clip_l"], sdxl["clip_g"]]
    step = plan_load(policy, usable, resident, [sdxl["unet"]], _sdxl_step())
    assert text.load == ["clip_l", "clip_g"] and step.load == ["unet"] and not step.evict and not step.stream
    assert step.keep == ["clip_l", "clip_g"] and step.fits
    assert choose_tile(usable - step.device_bytes_after, 1, 128, 128, dtype_bytes=2) is None  # decode whole


def test_8_gb_keeps_the_models_for_sampling_and_makes_room_for_a_whole_decode(sdxl):
    policy = MemoryPolicy()
    usable = policy.usable_bytes(8 * GB)
    resident = [sdxl["clip_l"], sdxl["clip_g"]]
    step = plan_load(policy, usable, resident, [sdxl["unet"]], _sdxl_step())
    assert step.load == ["unet"] and step.keep == ["clip_l", "clip_g"] and not step.evict and not step.stream
    decode_bytes = vae_decode_bytes(1, 128, 128, dtype_bytes=2)
    decode = plan_load(policy, usable, [*resident, sdxl["unet"]], [sdxl["vae"]], decode_bytes)
    assert decode.load == ["vae"] and decode.evict == ["clip_l", "clip_g", "unet"] and decode.fits
    assert choose_tile(usable - decode.device_bytes_after, 1, 128, 128, dtype_bytes=2) is None


def test_6_gb_evicts_the_text_encoders_for_the_unet(sdxl):
    policy = MemoryPolicy()
    usable = policy.usable_bytes(6 * GB)
    step = plan_load(policy, usable, [sdxl["clip_l"], sdxl["clip_g"]], [sdxl["unet"]], _sdxl_step())
    assert step.load == ["unet"] and not step.stream and step.fits
    assert step.evict == ["clip_l", "clip_g"]  # 4.8 GB UNet + activations leave no room for 1.5 GB of CLIP


def test_4_gb_streams_the_unet(sdxl):
    policy = MemoryPolicy()
    usable = policy.usable_bytes(4 * GB)
    step = plan_load(policy, usable, [sdxl["clip_g"]], [sdxl["unet"]], _sdxl_step())
    assert step.stream == ["unet"] and step.load == [] and step.fits
    assert "clip_g" not in step.evict  # a streamed UNet leaves room for the resident encoder
    decode_bytes = vae_decode_bytes(1, 128, 128, dtype_bytes=2)
    decode = plan_load(policy, usable, [sdxl["clip_g"]], [sdxl["vae"]], decode_bytes)
    assert decode.evict == ["clip_g"] and not decode.fits  # 3.5 GB: even alone a whole decode is too big
    assert choose_tile(usable - decode.device_bytes_after, 1, 128, 128, dtype_bytes=2) in (512, 768)
    high = plan_load(MemoryPolicy("high"), usable, [], [sdxl["unet"]], _sdxl_step())
    assert high.load == ["unet"] and not high.stream and not high.fits and "--highvram" in high.notes[0]


def test_lowvram_keeps_only_what_the_call_needs_and_novram_streams_everything(sdxl):
    usable = MemoryPolicy().usable_bytes(24 * GB)
    low = plan_load(MemoryPolicy("low"), usable, [sdxl["clip_l"], sdxl["clip_g"]], [sdxl["unet"]], _sdxl_step())
    assert low.evict == ["clip_l", "clip_g"] and low.load == ["unet"]
    none = plan_load(MemoryPolicy("none"), usable, [], [sdxl["unet"], sdxl["vae"]], _sdxl_step())
    assert set(none.stream) == {"unet", "vae"} and none.load == [] and none.device_bytes_after == 0


def test_a_budget_caps_a_large_device_and_the_reserve_is_kept():
    assert MemoryPolicy(budget_bytes=6 * GB).usable_bytes(80 * GB) == 6 * GB
    assert MemoryPolicy(reserve_bytes=2 * GB).usable_bytes(24 * GB) == 22 * GB
    assert MemoryPolicy().usable_bytes(8 * GB) == 8 * GB - GB // 2  # at least half a GB left to others
    assert MemoryPolicy().usable_bytes(100 * GB, gpu=False) == 95 * GB


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "medium"}, "unknown memory policy 'medium'"),
    ({"budget_bytes": 0}, "--vram-budget must be positive"),
    ({"reserve_bytes": -1}, "--reserve-vram must not be negative"),
])
def test_bad_policies_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MemoryPolicy(**kwargs)


def test_estimates_grow_with_the_picture_and_tiles_shrink_with_memory():
    small = unet_step_bytes(2, 64, 64, model_channels=320, channel_mult=(1, 2, 4, 4), num_res_blocks=2, dtype_bytes=2)
    big = unet_step_bytes(2, 128, 128, model_channels=320, channel_mult=(1, 2, 4, 4), num_res_blocks=2, dtype_bytes=2)
    assert 3.9 < big / small < 4.1  # linear in pixels: SDPA keeps no attention matrix
    assert vae_decode_bytes(2, 64, 64, dtype_bytes=2) == 2 * vae_decode_bytes(1, 64, 64, dtype_bytes=2)
    tiles = [choose_tile(gb * GB // 4, 1, 256, 256, dtype_bytes=2) for gb in (64, 8, 4, 2, 1)]
    assert tiles[0] is None and all(a >= b for a, b in zip(tiles[1:], tiles[2:], strict=False)) and tiles[-1] >= 64
