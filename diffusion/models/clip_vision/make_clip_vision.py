"""`make-checkpoint --kind clip-vision-l | clip-vision-h | clip-vision-g` and the `inspect` recogniser.

Random weights in the released Hugging Face layout (`model.py`). Full sizes are the released
towers (ViT-L/14: 1024 wide, 24 layers, projection 768; ViT-H/14: 1280, 32, 1024; ViT-bigG/14:
1664, 48, 1280; all 224 px, patch 14). Tiny towers keep the depth (the layer count is what tells
the kind), the patch size and the image size, and are 32 wide; the tiny ViT-bigG projects to 128,
the width of the tiny SDXL's pooled text embedding, so SDXL revision runs on the tiny stand-ins.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import torch

from diffusion.checkpoints.make_checkpoint import initial_value
from diffusion.checkpoints.safetensors_writer import TensorSpec, write_safetensors_streaming
from diffusion.models.clip_vision.model import KINDS, ClipVisionError, ClipVisionModel, VisionConfig, infer_config

_FULL = {"vit-l": (1024, 4096, 768), "vit-h": (1280, 5120, 1024), "vit-g": (1664, 8192, 1280)}
_TINY = {"vit-l": (32, 64, 32), "vit-h": (32, 64, 48), "vit-g": (32, 64, 128)}
KIND_OF_FLAG = {"clip-vision-l": "vit-l", "clip-vision-h": "vit-h", "clip-vision-g": "vit-g"}


def preset(kind: str, size: str = "tiny") -> VisionConfig:
    table = {"full": _FULL, "tiny": _TINY}.get(size)
    if table is None or kind not in table:
        raise ValueError(f"unknown CLIP vision preset {kind!r}/{size!r}; kinds: vit-l, vit-h, vit-g; sizes: full, tiny")
    hidden, inner, projection = table[kind]
    layers, act = next((n, a) for k, _, n, a in KINDS if k == kind)
    return VisionConfig(kind=kind, hidden_size=hidden, num_layers=layers, intermediate_size=inner, patch_size=14,
                        image_size=224, projection_dim=projection, hidden_act=act)


def shapes(config: VisionConfig, prefix: str = "") -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):
        model = ClipVisionModel(config)
    return {prefix + k: tuple(v.shape) for k, v in model.state_dict().items()}


def random_tensors(config: VisionConfig, *, seed: int = 0, dtype: torch.dtype = torch.float32,
                   prefix: str = "") -> dict[str, torch.Tensor]:
    """The tensors the writer writes, in memory (for tests)."""
    produce = value_maker(seed, dtype)
    return {k: produce(TensorSpec(k, v, dtype)) for k, v in shapes(config, prefix).items()}


def value_maker(seed: int, dtype: torch.dtype):
    generator = torch.Generator().manual_seed(seed)

    def produce(spec: TensorSpec) -> torch.Tensor:
        if spec.key.endswith("class_embedding") or spec.key.endswith("position_embedding.weight"):
            return (torch.randn(spec.shape, generator=generator) * 0.02).to(spec.dtype)
        return initial_value(spec.key, spec.shape, generator).to(spec.dtype)

    return produce


def _writer(kind: str):
    def write(out: str | Path, *, family: str | None, size: str, seed: int, dtype: torch.dtype) -> int:
        config = preset(kind, size)
        specs = [TensorSpec(k, v, dtype) for k, v in shapes(config).items()]
        return write_safetensors_streaming(out, specs, value_maker(seed, dtype),
                                           {"latentgraph.kind": f"clip-vision-{kind[-1]}", "latentgraph.size": size})
    return write


write_clip_vision_l = _writer("vit-l")
write_clip_vision_h = _writer("vit-h")
write_clip_vision_g = _writer("vit-g")


def _recogniser(kind: str):
    def recognise(sd: Mapping) -> dict | None:
        if "visual_projection.weight" not in sd:
            return None
        try:
            config = infer_config(sd)
        except ClipVisionError:
            return None
        if config.kind != kind:
            return None
        return {"components": {"clip_vision": component(sd, list(sd.keys()))}, "architecture": kind,
                "hidden_size": config.hidden_size, "layers": config.num_layers,
                "projection_dim": config.projection_dim, "image_size": config.image_size}
    return recognise


def component(sd: Mapping, keys: list[str]) -> dict:
    """{"parameters", "dtype"} of `keys` (the shape `inspect` prints for a component)."""
    def shape(key: str) -> tuple[int, ...]:
        return tuple(sd.shape(key)) if callable(getattr(sd, "shape", None)) else tuple(sd[key].shape)

    def dtype(key: str) -> str:
        name_of = getattr(sd, "dtype_name", None)
        if callable(name_of):
            return {"F16": "fp16", "F32": "fp32", "BF16": "bf16"}.get(name_of(key), name_of(key).lower())
        return str(sd[key].dtype).replace("torch.float", "fp").replace("torch.", "")

    names = [dtype(k) for k in keys]
    return {"parameters": sum(math.prod(shape(k)) for k in keys), "tensors": len(keys),
            "dtype": max(set(names), key=names.count) if names else None}


recognise_clip_vision_l = _recogniser("vit-l")
recognise_clip_vision_h = _recogniser("vit-h")
recognise_clip_vision_g = _recogniser("vit-g")
