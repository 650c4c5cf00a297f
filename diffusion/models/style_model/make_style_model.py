"""`make-checkpoint --kind style-model` and its `inspect` recogniser.

Random weights in the layout of TencentARC's `t2iadapter_style_sd14v1` (adapter.py). Full: width
1024 (CLIP ViT-L/14 tokens), 3 layers, 8 tokens, context 768 (SD1.x). Tiny: width 32 (the tiny
CLIP vision towers), context 64 (the tiny SD1.5's text width), 3 layers, 8 tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from diffusion.checkpoints.safetensors_writer import TensorSpec, write_safetensors_streaming
from diffusion.models.clip_vision.make_clip_vision import component, value_maker
from diffusion.models.style_model.adapter import StyleAdapter

SIZES = {"full": (1024, 768), "tiny": (32, 64)}
LAYERS, TOKENS = 3, 8


def shapes(size: str) -> dict[str, tuple[int, ...]]:
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; expected one of {', '.join(SIZES)}")
    width, context = SIZES[size]
    with torch.device("meta"):
        model = StyleAdapter(width, context, LAYERS, TOKENS)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _produce(seed: int, dtype: torch.dtype):
    base = value_maker(seed, dtype)
    generator = torch.Generator().manual_seed(seed + 1)

    def produce(spec: TensorSpec) -> torch.Tensor:
        if spec.key in ("style_embedding", "proj"):
            return (torch.randn(spec.shape, generator=generator) * spec.shape[-2] ** -0.5).to(spec.dtype)
        return base(spec)

    return produce


def random_tensors(size: str = "tiny", *, seed: int = 0) -> dict[str, torch.Tensor]:
    produce = _produce(seed, torch.float32)
    return {k: produce(TensorSpec(k, v, torch.float32)) for k, v in shapes(size).items()}


def write_style_model(out: str | Path, *, family: str | None, size: str, seed: int, dtype: torch.dtype) -> int:
    specs = [TensorSpec(k, v, dtype) for k, v in shapes(size).items()]
    return write_safetensors_streaming(out, specs, _produce(seed, dtype),
                                       {"latentgraph.kind": "style-model", "latentgraph.size": size})


def recognise_style_model(sd: Mapping) -> dict | None:
    if not {"style_embedding", "proj", "transformer_layes.0.attn.in_proj_weight"} <= set(sd.keys()):
        return None
    shape = sd.shape if callable(getattr(sd, "shape", None)) else (lambda k: sd[k].shape)
    _, tokens, width = tuple(shape("style_embedding"))
    return {"components": {"style_model": component(sd, list(sd.keys()))}, "tokens": tokens,
            "vision_width": width, "context_width": tuple(shape("proj"))[1]}
