"""Write small random LoRA files in the kohya key style, matching a model family.

Keys are `<lora name>.lora_down.weight`, `<lora name>.lora_up.weight` and `<lora name>.alpha`,
where the name is the module path with dots turned into underscores under a prefix:
`lora_unet_` (UNet, original `input_blocks...` names), `lora_te_` (the only text encoder of
SD1.x, SD2.x and the SDXL refiner), `lora_te1_` / `lora_te2_` (SDXL's CLIP-L / CLIP-G);
text-encoder module paths use the Hugging Face names (`text_model.encoder.layers.0.self_attn.q_proj`).

Targets: every attention projection, feed-forward and `proj_in`/`proj_out` of the UNet's
transformers, one LoCon 3x3 convolution (the first ResBlock's `in_layers.2`), and every
self-attention and MLP projection of the text encoders.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

from diffusion.checkpoints.safetensors_writer import TensorSpec, write_safetensors_streaming
from diffusion.models.text.clip_text import TextEncoderConfig, build_text_encoder
from diffusion.models.unet.config import UNetConfig
from diffusion.models.unet.presets import FAMILIES, SIZES
from diffusion.models.unet.unet import UNetModel

UNET_TARGETS = ("attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0", "attn2.to_q", "attn2.to_k", "attn2.to_v",
                "attn2.to_out.0", "ff.net.0.proj", "ff.net.2", ".proj_in", ".proj_out")
LOCON_TARGET = "input_blocks.1.0.in_layers.2"
TEXT_TARGETS = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "mlp.fc1", "mlp.fc2")

# family -> [(kohya prefix, text encoder kind)]
LORA_TEXT_ENCODERS = {
    "sd15": [("lora_te_", "clip_l")],
    "sd15-inpaint": [("lora_te_", "clip_l")],
    "sd21": [("lora_te_", "clip_h")],
    "sd21-v": [("lora_te_", "clip_h")],
    "sdxl": [("lora_te1_", "clip_l"), ("lora_te2_", "clip_g")],
    "sdxl-refiner": [("lora_te_", "clip_g")],
}


def kohya_name(prefix: str, module_path: str) -> str:
    """`lora_unet_` + `input_blocks.1.1.proj_in` -> `lora_unet_input_blocks_1_1_proj_in`."""
    return prefix + module_path.replace(".", "_")


def _lora_shapes(name: str, layer: nn.Module, rank: int) -> dict[str, tuple[int, ...]]:
    if isinstance(layer, nn.Linear):
        down, up = (rank, layer.in_features), (layer.out_features, rank)
    else:
        kh, kw = layer.kernel_size
        down, up = (rank, layer.in_channels, kh, kw), (layer.out_channels, rank, 1, 1)
    return {f"{name}.lora_down.weight": down, f"{name}.lora_up.weight": up, f"{name}.alpha": ()}


def lora_shapes(family: str, size: str = "tiny", rank: int = 4) -> dict[str, tuple[int, ...]]:
    """Every tensor (key -> shape) of the LoRA `write_lora` writes for `family` at `size`."""
    if family not in FAMILIES or size not in SIZES:
        raise ValueError(f"unknown family/size {family!r}/{size!r}; families: {', '.join(FAMILIES)}; sizes: tiny, full")
    if rank < 1:
        raise ValueError(f"rank must be at least 1, got {rank}")
    shapes: dict[str, tuple[int, ...]] = {}
    with torch.device("meta"):
        unet = UNetModel(UNetConfig.preset(family, size))
    for path, layer in unet.named_modules():
        wanted = path == LOCON_TARGET or (
            isinstance(layer, (nn.Linear, nn.Conv2d)) and any(path.endswith(t) for t in UNET_TARGETS)
        )
        if wanted:
            shapes.update(_lora_shapes(kohya_name("lora_unet_", path), layer, rank))
    for prefix, kind in LORA_TEXT_ENCODERS[family]:
        with torch.device("meta"):
            encoder = build_text_encoder(TextEncoderConfig.preset(kind, size))
        for path, layer in encoder.named_modules():
            if isinstance(layer, nn.Linear) and any(path.endswith(t) for t in TEXT_TARGETS):
                shapes.update(_lora_shapes(kohya_name(prefix, path), layer, rank))
    return shapes


def write_lora(path: str | Path, family: str, size: str = "tiny", *, seed: int = 0, rank: int = 4,
               dtype: torch.dtype = torch.float16) -> int:
    """Write a random kohya-style LoRA (alpha = rank / 2); returns the file size."""
    shapes = lora_shapes(family, size, rank)
    generator = torch.Generator().manual_seed(seed)

    def produce(spec: TensorSpec) -> torch.Tensor:
        if spec.key.endswith(".alpha"):
            return torch.tensor(rank / 2.0).to(spec.dtype)
        fan_in = math.prod(spec.shape[1:])
        return (torch.randn(spec.shape, generator=generator) / math.sqrt(fan_in)).to(spec.dtype)

    specs = [TensorSpec(k, v, dtype) for k, v in shapes.items()]
    metadata = {"ss_network_module": "networks.lora", "ss_network_dim": str(rank), "ss_network_alpha": str(rank / 2),
                "latentgraph.family": family}
    return write_safetensors_streaming(path, specs, produce, metadata)
