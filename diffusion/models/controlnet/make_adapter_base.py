"""`make-checkpoint --kind sd15-full-layout`: an SD1.5 checkpoint whose UNet has the real SD1.5 block layout
at tiny widths, the model tiny T2I-Adapters fit.

T2I-Adapters are made for SD1.5's UNet: four levels (channel_mult 1, 2, 4, 4), two residual blocks per
level, so their four features are added after input blocks 2, 5, 8 and 11 (ComfyUI's adapter places
them the same fixed way, three slots per level). The tiny UNets of `--size tiny` have three levels and
one residual block per level, where those slots land on blocks of other shapes. This kind keeps
everything else tiny (32 base channels, the tiny VAE and text encoder) and takes the full UNet's
levels, residual blocks and attention depths, so `--kind t2i-adapter --size tiny` (32 base channels)
fits it exactly. With `--size full` it is an ordinary full-size SD1.5 checkpoint.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from diffusion.checkpoints.make_checkpoint import (
    TEXT_ENCODER_LAYOUT,
    UNET_PREFIX,
    VAE_PREFIX,
    _value_maker,
    text_encoder_shapes,
    vae_shapes,
)
from diffusion.checkpoints.safetensors_writer import TensorSpec, write_safetensors_streaming
from diffusion.models.unet.config import UNetConfig
from diffusion.models.unet.unet import UNetModel

FAMILY = "sd15"
LAYOUT_FIELDS = ("channel_mult", "num_res_blocks", "transformer_depth", "transformer_depth_output",
                 "transformer_depth_middle")


def full_layout_unet_config(size: str) -> UNetConfig:
    """SD1.5's UNet block layout with the widths of `size` ("tiny": 32 base channels; "full": SD1.5 itself)."""
    full = UNetConfig.preset(FAMILY, "full")
    if size == "full":
        return full
    return dataclasses.replace(UNetConfig.preset(FAMILY, size), **{f: getattr(full, f) for f in LAYOUT_FIELDS})


def full_layout_checkpoint_shapes(size: str) -> dict[str, tuple[int, ...]]:
    """Every tensor (key -> shape) of the checkpoint, in file order (UNet, VAE, text encoder)."""
    with torch.device("meta"):
        unet = UNetModel(full_layout_unet_config(size))
    shapes = {UNET_PREFIX + k: tuple(p.shape) for k, p in unet.named_parameters()}
    shapes.update({VAE_PREFIX + k: v for k, v in vae_shapes(size).items()})
    for kind, prefix, layout in TEXT_ENCODER_LAYOUT[FAMILY]:
        shapes.update({prefix + k: v for k, v in text_encoder_shapes(kind, size, layout).items()})
    return shapes


def write_full_layout_checkpoint(out: str | Path, *, family: str | None, size: str, seed: int,
                                 dtype: torch.dtype) -> int:
    """The weight-kind writer (weight_kinds.py); the kind takes no --family (it is always SD1.5)."""
    del family
    specs = [TensorSpec(k, v, dtype) for k, v in full_layout_checkpoint_shapes(size).items()]
    metadata = {"latentgraph.family": FAMILY, "latentgraph.size": size, "latentgraph.seed": str(seed),
                "latentgraph.kind": "sd15-full-layout"}
    return write_safetensors_streaming(out, specs, _value_maker(seed, dtype, {}), metadata)
