"""`make-checkpoint --kind hypernetwork --family F`: a random A1111 hypernetwork `.pt`.

The widths are those of the family's UNet attention inputs at `--size` (the feature widths of
every level and the text context width), each with layer structure [1, 2, 1] (width -> 2*width
-> width, as A1111's default), relu, no layer norm; plain tensors, dicts, lists and strings
only, so torch.load(weights_only=True) reads it. Small output weights keep the patch gentle.
"""

from __future__ import annotations

from pathlib import Path

import torch

from diffusion.models.unet.presets import unet_preset_fields

FAMILIES = ("sd15", "sd21-v", "sdxl")
LAYER_STRUCTURE = (1, 2, 1)


def attention_widths(family: str, size: str) -> list[int]:
    fields = unet_preset_fields(family, size)
    widths = {fields["model_channels"] * m for m in fields["channel_mult"]} | {fields["context_dim"]}
    return sorted(widths)


def random_hypernetwork(widths: list[int], *, seed: int = 0, dtype: torch.dtype = torch.float32,
                        activation: str = "relu", layer_norm: bool = False) -> dict:
    generator = torch.Generator().manual_seed(seed)
    data: dict = {}
    for width in widths:
        pair = []
        for _ in range(2):
            layers: dict[str, torch.Tensor] = {}
            index = 0
            sizes = [int(width * m) for m in LAYER_STRUCTURE]
            for a, b in zip(sizes, sizes[1:], strict=False):
                layers[f"linear.{index}.weight"] = (torch.randn(b, a, generator=generator) * 0.01).to(dtype)
                layers[f"linear.{index}.bias"] = (torch.randn(b, generator=generator) * 0.01).to(dtype)
                index += 1
                if layer_norm:
                    layers[f"linear.{index}.weight"] = torch.ones(b, dtype=dtype)
                    layers[f"linear.{index}.bias"] = torch.zeros(b, dtype=dtype)
                    index += 1
            pair.append(layers)
        data[width] = pair
    data.update({"layer_structure": list(LAYER_STRUCTURE), "activation_func": activation, "is_layer_norm": layer_norm,
                 "use_dropout": False, "activate_output": False, "last_layer_dropout": False,
                 "name": "latentgraph-random", "step": 0})
    return data


def write_hypernetwork(out: str, *, family: str | None, size: str, seed: int, dtype: torch.dtype) -> int:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(random_hypernetwork(attention_widths(family or "sd15", size), seed=seed, dtype=dtype), path)
    return path.stat().st_size

