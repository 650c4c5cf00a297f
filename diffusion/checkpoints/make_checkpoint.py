"""Write random-weight model files in the exact original single-file key layouts.

Whole checkpoints: UNet under `model.diffusion_model.`, VAE under `first_stage_model.`, text
encoders where the released files keep them (SD1: `cond_stage_model.transformer.text_model.`
in the HF layout; SD2: `cond_stage_model.model.` in the OpenCLIP layout; SDXL:
`conditioner.embedders.0.transformer.text_model.` (HF) and `conditioner.embedders.1.model.`
(OpenCLIP); refiner: `conditioner.embedders.0.model.`). Also standalone VAE files (no prefix)
and small kohya-style LoRAs (`make_lora`).

Shapes come from the model classes built on the meta device (nothing is allocated), and the
file is streamed tensor by tensor. Values: weights ~ N(0, 1/fan_in), norm weights 1, biases
0, so every tensor is reproducible from the seed alone.

v-prediction (`sd21-v`) is marked twice: a `v_pred` key (read by our detection for every
family) and an `output_blocks.<last>.1.transformer_blocks.0.norm1.bias` with std 0.2, which
ComfyUI's SD2 rule (std > 0.09) also reads. eps files keep that bias at 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import torch

from diffusion.checkpoints.safetensors_writer import TensorSpec, write_safetensors_streaming
from diffusion.models.text.clip_text import TextEncoderConfig, build_text_encoder, hf_to_openclip
from diffusion.models.unet.config import UNetConfig
from diffusion.models.unet.presets import FAMILIES, SIZES
from diffusion.models.unet.unet import UNetModel
from diffusion.models.vae.vae import AutoencoderKL, VAEConfig

UNET_PREFIX = "model.diffusion_model."
VAE_PREFIX = "first_stage_model."
V_PRED_KEY = "v_pred"
V_BIAS_STD = 0.2
OPENCLIP_LOGIT_SCALE = math.log(1 / 0.07)

# family -> [(text encoder kind, prefix, layout)]
TEXT_ENCODER_LAYOUT = {
    "sd15": [("clip_l", "cond_stage_model.transformer.", "hf")],
    "sd15-inpaint": [("clip_l", "cond_stage_model.transformer.", "hf")],
    "sd21": [("clip_h", "cond_stage_model.model.", "openclip")],
    "sd21-v": [("clip_h", "cond_stage_model.model.", "openclip")],
    "sdxl": [("clip_l", "conditioner.embedders.0.transformer.", "hf"),
             ("clip_g", "conditioner.embedders.1.model.", "openclip")],
    "sdxl-refiner": [("clip_g", "conditioner.embedders.0.model.", "openclip")],
}


def _check(family: str, size: str) -> None:
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; expected one of {', '.join(SIZES)}")


def _shapes(module: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {name: tuple(p.shape) for name, p in module.named_parameters()}


def text_encoder_shapes(kind: str, size: str, layout: str) -> dict[str, tuple[int, ...]]:
    """Parameter shapes of a text encoder in the HF or OpenCLIP key layout (no prefix)."""
    with torch.device("meta"):
        encoder = build_text_encoder(TextEncoderConfig.preset(kind, size))
    hf = dict(encoder.named_parameters())
    if layout == "hf":
        return {k: tuple(v.shape) for k, v in hf.items()}
    shapes = {k: tuple(v.shape) for k, v in hf_to_openclip(hf).items()}
    shapes["logit_scale"] = ()
    return shapes


def unet_shapes(family: str, size: str) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):
        return _shapes(UNetModel(UNetConfig.preset(family, size)))


def vae_shapes(size: str) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):
        return _shapes(AutoencoderKL(VAEConfig.preset(size)))


def checkpoint_shapes(family: str, size: str) -> dict[str, tuple[int, ...]]:
    """Every tensor (key -> shape) of a whole checkpoint of `family` at `size`, in file order."""
    _check(family, size)
    shapes = {UNET_PREFIX + k: v for k, v in unet_shapes(family, size).items()}
    shapes.update({VAE_PREFIX + k: v for k, v in vae_shapes(size).items()})
    for kind, prefix, layout in TEXT_ENCODER_LAYOUT[family]:
        shapes.update({prefix + k: v for k, v in text_encoder_shapes(kind, size, layout).items()})
    if family == "sd21-v":
        shapes[V_PRED_KEY] = (0,)
    return shapes


def _last_attention_norm1_bias(family: str, size: str) -> str:
    depths = UNetConfig.preset(family, size).transformer_depth_output
    last = max(i for i, d in enumerate(depths) if d > 0)
    return f"{UNET_PREFIX}output_blocks.{last}.1.transformer_blocks.0.norm1.bias"


def initial_value(key: str, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """The random float32 value of one tensor: N(0, 1/fan_in) weights, norm weights 1, biases 0."""
    if key == "logit_scale" or key.endswith(".logit_scale"):
        return torch.full(shape, OPENCLIP_LOGIT_SCALE)
    if len(shape) == 1 and key.endswith("weight"):  # every 1-D weight in these models is a norm's scale
        return torch.ones(shape)
    if len(shape) <= 1:
        return torch.zeros(shape)
    fan_in = math.prod(shape[1:])
    return torch.randn(shape, generator=generator) / math.sqrt(fan_in)


def _value_maker(seed: int, dtype: torch.dtype, special: dict[str, float]):
    generator = torch.Generator().manual_seed(seed)

    def produce(spec: TensorSpec) -> torch.Tensor:
        if spec.key in special:
            value = torch.randn(spec.shape, generator=generator) * special[spec.key]
        else:
            value = initial_value(spec.key, spec.shape, generator)
        return value.to(spec.dtype)

    return produce


def write_checkpoint(path: str | Path, family: str, size: str = "tiny", *, seed: int = 0,
                     dtype: torch.dtype = torch.float16) -> int:
    """Write a whole random checkpoint; returns the file size in bytes."""
    shapes = checkpoint_shapes(family, size)
    specs = [TensorSpec(k, v, dtype) for k, v in shapes.items()]
    special = {_last_attention_norm1_bias(family, size): V_BIAS_STD} if family == "sd21-v" else {}
    metadata = {"latentgraph.family": family, "latentgraph.size": size, "latentgraph.seed": str(seed)}
    return write_safetensors_streaming(path, specs, _value_maker(seed, dtype, special), metadata)


def write_vae(path: str | Path, size: str = "tiny", *, seed: int = 0, dtype: torch.dtype = torch.float16) -> int:
    """Write a standalone VAE file (keys without `first_stage_model.`)."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; expected one of {', '.join(SIZES)}")
    specs = [TensorSpec(k, v, dtype) for k, v in vae_shapes(size).items()]
    return write_safetensors_streaming(path, specs, _value_maker(seed, dtype, {}), {"latentgraph.kind": "vae"})


def iter_checkpoint_tensors(family: str, size: str = "tiny", *, seed: int = 0,
                            dtype: torch.dtype = torch.float32) -> Iterator[tuple[str, torch.Tensor]]:
    """The same tensors `write_checkpoint` writes, in memory (for tests of tiny models)."""
    shapes = checkpoint_shapes(family, size)
    special = {_last_attention_norm1_bias(family, size): V_BIAS_STD} if family == "sd21-v" else {}
    produce = _value_maker(seed, dtype, special)
    for key, shape in shapes.items():
        yield key, produce(TensorSpec(key, shape, dtype))
