"""`make-checkpoint --kind sd21-unclip-l | sd21-unclip-h`: random SD2.1 unCLIP checkpoints in the released layout.

The released `sd21-unclip-l.ckpt` / `sd21-unclip-h.ckpt` hold, besides an SD2.1 checkpoint (UNet,
VAE, OpenCLIP ViT-H text encoder under `cond_stage_model.model.`):

- a UNet with vector conditioning (`label_emb`) of 1536 (unclip-l) or 2048 (unclip-h) inputs;
- the image encoder under `embedder.model.visual.` in OpenAI's CLIP `visual.*` layout (ViT-L/14 for
  unclip-l, OpenCLIP ViT-H/14 for unclip-h) with a projection of 768 / 1024;
- the noise augmentor's buffers under `noise_augmentor.`: its squaredcos_cap_v2 schedule
  (`betas`, `alphas_cumprod`, ... of 1000 steps) and the image-embedding stats `data_mean` /
  `data_std` ([1, projection]; written as 0 and 1, which is what ComfyUI uses for these models).

Tiny files keep these widths (the family is told by them) and the towers' depths, with the tiny
UNet, VAE, text encoder and 32-wide towers of the other tiny files. Released unCLIP models are
v-prediction: the file carries the `v_pred` key and the norm1.bias std mark (make_checkpoint.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from diffusion.checkpoints.make_checkpoint import (
    TEXT_ENCODER_LAYOUT,
    UNET_PREFIX,
    V_BIAS_STD,
    V_PRED_KEY,
    VAE_PREFIX,
    initial_value,
    text_encoder_shapes,
    vae_shapes,
)
from diffusion.checkpoints.safetensors_writer import TensorSpec, write_safetensors_streaming
from diffusion.models.clip_vision.make_clip_vision import preset as vision_preset
from diffusion.models.clip_vision.make_clip_vision import shapes as vision_shapes
from diffusion.models.clip_vision.model import VisionConfig
from diffusion.models.clip_vision.openclip_layout import hf_to_openclip_visual
from diffusion.models.clip_vision.unclip import UNCLIP_ADM, noise_betas
from diffusion.models.unet.config import UNetConfig
from diffusion.models.unet.unet import UNetModel

CLIP_VISION_PREFIX = "embedder.model.visual."
NOISE_PREFIX = "noise_augmentor."
TOWERS = {"sd21-unclip-l": "vit-l", "sd21-unclip-h": "vit-h"}
SIZES = ("tiny", "full")


def unclip_unet_config(family: str, size: str) -> UNetConfig:
    return dataclasses.replace(UNetConfig.preset("sd21", size), adm_in_channels=UNCLIP_ADM[family])


def unclip_vision_config(family: str, size: str) -> VisionConfig:
    return dataclasses.replace(vision_preset(TOWERS[family], size), projection_dim=UNCLIP_ADM[family] // 2)


def noise_augmentor_buffers(width: int) -> dict[str, torch.Tensor]:
    """The augmentor's registered buffers (float32), as ldm's register_schedule names them."""
    betas = noise_betas()
    cumprod = torch.cumprod(1.0 - betas, dim=0)
    previous = torch.cat([torch.ones(1, dtype=torch.float64), cumprod[:-1]])
    buffers = {"betas": betas, "alphas_cumprod": cumprod, "alphas_cumprod_prev": previous,
               "sqrt_alphas_cumprod": cumprod.sqrt(), "sqrt_one_minus_alphas_cumprod": (1 - cumprod).sqrt(),
               "log_one_minus_alphas_cumprod": (1 - cumprod).log(), "sqrt_recip_alphas_cumprod": (1 / cumprod).sqrt(),
               "sqrt_recipm1_alphas_cumprod": (1 / cumprod - 1).sqrt(),
               "data_mean": torch.zeros(1, width, dtype=torch.float64),
               "data_std": torch.ones(1, width, dtype=torch.float64)}
    return {NOISE_PREFIX + k: v.float() for k, v in buffers.items()}


def _check(family: str, size: str) -> None:
    if family not in UNCLIP_ADM:
        raise ValueError(f"unknown unCLIP family {family!r}; expected one of {', '.join(UNCLIP_ADM)}")
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; expected one of {', '.join(SIZES)}")


def _last_norm1_bias(config: UNetConfig) -> str:
    last = max(i for i, d in enumerate(config.transformer_depth_output) if d > 0)
    return f"{UNET_PREFIX}output_blocks.{last}.1.transformer_blocks.0.norm1.bias"


def unclip_checkpoint_shapes(family: str, size: str) -> dict[str, tuple[int, ...]]:
    """Every tensor (key -> shape) of an SD2.1 unCLIP checkpoint, in file order."""
    _check(family, size)
    with torch.device("meta"):
        unet = UNetModel(unclip_unet_config(family, size))
        tower = {k: torch.empty(v) for k, v in vision_shapes(unclip_vision_config(family, size)).items()}
    shapes = {UNET_PREFIX + k: tuple(p.shape) for k, p in unet.named_parameters()}
    shapes.update({VAE_PREFIX + k: v for k, v in vae_shapes(size).items()})
    for kind, prefix, layout in TEXT_ENCODER_LAYOUT["sd21"]:
        shapes.update({prefix + k: v for k, v in text_encoder_shapes(kind, size, layout).items()})
    shapes.update({CLIP_VISION_PREFIX + k: tuple(v.shape) for k, v in hf_to_openclip_visual(tower).items()})
    shapes.update({k: tuple(v.shape) for k, v in noise_augmentor_buffers(UNCLIP_ADM[family] // 2).items()})
    shapes[V_PRED_KEY] = (0,)
    return shapes


def _value_maker(family: str, size: str, seed: int):
    generator = torch.Generator().manual_seed(seed)
    fixed = noise_augmentor_buffers(UNCLIP_ADM[family] // 2)
    v_bias = _last_norm1_bias(unclip_unet_config(family, size))
    small = (CLIP_VISION_PREFIX + "class_embedding", CLIP_VISION_PREFIX + "positional_embedding")

    def produce(spec: TensorSpec) -> torch.Tensor:
        if spec.key in fixed:
            value = fixed[spec.key]
        elif spec.key == v_bias:
            value = torch.randn(spec.shape, generator=generator) * V_BIAS_STD
        elif spec.key in small:
            value = torch.randn(spec.shape, generator=generator) * 0.02
        else:
            value = initial_value(spec.key, spec.shape, generator)
        return value.to(spec.dtype)

    return produce


def write_unclip_checkpoint(path: str | Path, family: str, size: str = "tiny", *, seed: int = 0,
                            dtype: torch.dtype = torch.float16) -> int:
    """Write a random SD2.1 unCLIP checkpoint; returns the file size in bytes."""
    shapes = unclip_checkpoint_shapes(family, size)
    specs = [TensorSpec(k, v, dtype) for k, v in shapes.items()]
    metadata = {"latentgraph.family": family, "latentgraph.size": size, "latentgraph.seed": str(seed)}
    return write_safetensors_streaming(path, specs, _value_maker(family, size, seed), metadata)


def unclip_checkpoint_tensors(family: str, size: str = "tiny", *, seed: int = 0,
                              dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """The tensors `write_unclip_checkpoint` writes, in memory (for tests)."""
    produce = _value_maker(family, size, seed)
    return {k: produce(TensorSpec(k, v, dtype)) for k, v in unclip_checkpoint_shapes(family, size).items()}


def _kind_writer(family: str):
    def write(out: str | Path, *, family: str | None = None, size: str, seed: int, dtype: torch.dtype,
              _family: str = family) -> int:
        return write_unclip_checkpoint(out, _family, size, seed=seed, dtype=dtype)
    return write


write_sd21_unclip_l = _kind_writer("sd21-unclip-l")
write_sd21_unclip_h = _kind_writer("sd21-unclip-h")
