"""`make-checkpoint --kind gligen` (SD1.x text boxes) and its `inspect` recogniser.

Random weights in the layout of `gligen_sd14_textbox_pruned.safetensors`: a fuser for every
transformer block of the SD1.5 UNet of the chosen size, and the position net (full: text 768,
hidden 512; tiny: the tiny SD1.5's text width 64, hidden 32). The gates alpha_attn/alpha_dense are
drawn from N(0, 0.5) (0 would make the model an identity).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from diffusion.checkpoints.safetensors_writer import TensorSpec, write_safetensors_streaming
from diffusion.models.clip_vision.make_clip_vision import component, value_maker
from diffusion.models.gligen.gligen import GatedSelfAttention, PositionNet
from diffusion.models.unet.config import UNetConfig
from diffusion.models.unet.unet import UNetModel

HIDDEN = {"full": 512, "tiny": 32}


def shapes(size: str) -> dict[str, tuple[int, ...]]:
    if size not in HIDDEN:
        raise ValueError(f"unknown size {size!r}; expected one of {', '.join(HIDDEN)}")
    config = UNetConfig.preset("sd15", size)
    key_dim = config.context_dim
    out: dict[str, tuple[int, ...]] = {}
    with torch.device("meta"):
        unet = UNetModel(config)
        for name, module in unet.named_modules():
            if name.rsplit(".", 2)[-2:-1] == ["transformer_blocks"]:
                fuser = GatedSelfAttention(module.attn1.to_q.in_features, key_dim)
                out.update({f"{name}.fuser.{k}": tuple(v.shape) for k, v in fuser.state_dict().items()})
        net = PositionNet(key_dim, HIDDEN[size], key_dim)
        out.update({f"position_net.{k}": tuple(v.shape) for k, v in net.state_dict().items()})
    return out


def _produce(seed: int, dtype: torch.dtype):
    base = value_maker(seed, dtype)
    generator = torch.Generator().manual_seed(seed + 2)

    def produce(spec: TensorSpec) -> torch.Tensor:
        if spec.key.endswith(("alpha_attn", "alpha_dense", "null_positive_feature", "null_position_feature")):
            return (torch.randn(spec.shape, generator=generator) * 0.5).to(spec.dtype)
        return base(spec)

    return produce


def random_tensors(size: str = "tiny", *, seed: int = 0) -> dict[str, torch.Tensor]:
    produce = _produce(seed, torch.float32)
    return {k: produce(TensorSpec(k, v, torch.float32)) for k, v in shapes(size).items()}


def write_gligen(out: str | Path, *, family: str | None, size: str, seed: int, dtype: torch.dtype) -> int:
    specs = [TensorSpec(k, v, dtype) for k, v in shapes(size).items()]
    return write_safetensors_streaming(out, specs, _produce(seed, dtype),
                                       {"latentgraph.kind": "gligen", "latentgraph.size": size})


def recognise_gligen(sd: Mapping) -> dict | None:
    keys = list(sd.keys())
    if "position_net.null_positive_feature" not in sd or not any(".fuser." in k for k in keys):
        return None
    shape = sd.shape if callable(getattr(sd, "shape", None)) else (lambda k: sd[k].shape)
    return {"components": {"gligen": component(sd, keys)}, "family_hint": "sd15",
            "fusers": len({k.split(".fuser.")[0] for k in keys if ".fuser." in k}),
            "text_width": tuple(shape("position_net.null_positive_feature"))[0]}
