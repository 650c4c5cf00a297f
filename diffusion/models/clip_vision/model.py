"""CLIP vision towers (ViT-L/14, ViT-H/14, ViT-bigG/14) under the released files' parameter names.

The released `clip_vision` safetensors (OpenAI's ViT-L/14, LAION's ViT-H/14 and ViT-bigG/14 as
converted to the Hugging Face layout) store

    vision_model.embeddings.{class_embedding, patch_embedding.weight, position_embedding.weight}
    vision_model.pre_layrnorm.*            (sic: that is the released spelling)
    vision_model.encoder.layers.N.{layer_norm1, self_attn.{q,k,v,out}_proj, layer_norm2, mlp.fc1, mlp.fc2}.*
    vision_model.post_layernorm.*
    visual_projection.weight               (no bias)

The architecture is told the way ComfyUI's comfy/clip_vision.py tells it, by the deepest layer
present: a layer 47 is ViT-bigG (48 layers), a layer 30 ViT-H (32), a layer 22 ViT-L (24); any
other file is refused. Widths, patch size, image size and projection width come from the tensor
shapes (so tiny test files of the same depth load too); every tower has 16 attention heads (as
ComfyUI's configs), ViT-L uses quick_gelu and the others gelu, layer norm eps 1e-5.

`forward(pixel_values)` returns (last_hidden_state, penultimate_hidden_states, image_embeds):
the final encoder layer's output (no post layer norm, as transformers' last_hidden_state), the
second-to-last layer's output, and the projection of the post-layer-normed class token.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn

from diffusion.models.clip_layers import LAYER_NORM_EPS, TransformerLayer

PREFIX = "vision_model."
NUM_HEADS = 16
# (kind, the layer whose presence tells it, layer count, activation), deepest first.
KINDS = (("vit-g", 47, 48, "gelu"), ("vit-h", 30, 32, "gelu"), ("vit-l", 22, 24, "quick_gelu"))
_LAYER_RE = re.compile(r"^vision_model\.encoder\.layers\.(\d+)\.")


class ClipVisionError(ValueError):
    """A file that is not a CLIP vision model of a known layout."""


@dataclass(frozen=True)
class VisionConfig:
    kind: str  # "vit-l" | "vit-h" | "vit-g"
    hidden_size: int
    num_layers: int
    intermediate_size: int
    patch_size: int
    image_size: int
    projection_dim: int
    hidden_act: str
    num_heads: int = NUM_HEADS

    @property
    def num_positions(self) -> int:
        return (self.image_size // self.patch_size) ** 2 + 1


def _shape(sd: Mapping, key: str) -> tuple[int, ...]:
    if hasattr(sd, "shape"):
        return tuple(sd.shape(key))
    return tuple(sd[key].shape)


def infer_config(sd: Mapping, source: str = "state dict") -> VisionConfig:
    """The tower's configuration from its keys and shapes; ClipVisionError for any other layout."""
    keys = set(sd.keys())
    found = next((entry for entry in KINDS if f"{PREFIX}encoder.layers.{entry[1]}.layer_norm1.weight" in keys), None)
    if found is None:
        raise ClipVisionError(
            f"{source}: not a CLIP vision model of a known layout: expected the Hugging Face layout "
            "(vision_model.encoder.layers.N...) with 24 (ViT-L), 32 (ViT-H) or 48 (ViT-bigG) layers")
    kind, _, layers, act = found
    present = {int(m.group(1)) for k in keys if (m := _LAYER_RE.match(k))}
    if present != set(range(layers)):
        raise ClipVisionError(f"{source}: a {kind} CLIP vision model has layers 0..{layers - 1}, "
                              f"found {len(present)} layers (0..{max(present)})")
    needed = [f"{PREFIX}embeddings.patch_embedding.weight", f"{PREFIX}embeddings.position_embedding.weight",
              f"{PREFIX}encoder.layers.0.mlp.fc1.weight", "visual_projection.weight"]
    missing = [k for k in needed if k not in keys]
    if missing:
        raise ClipVisionError(f"{source}: CLIP vision model without {', '.join(missing)}")
    hidden, channels, patch, _ = _shape(sd, needed[0])
    positions = _shape(sd, needed[1])[0]
    side = math.isqrt(positions - 1)
    if channels != 3 or side * side != positions - 1 or hidden % NUM_HEADS:
        raise ClipVisionError(f"{source}: patch embedding {_shape(sd, needed[0])} / {positions} positions do not "
                              f"make a square RGB ViT with {NUM_HEADS} heads")
    return VisionConfig(kind=kind, hidden_size=hidden, num_layers=layers,
                        intermediate_size=_shape(sd, needed[2])[0], patch_size=patch, image_size=side * patch,
                        projection_dim=_shape(sd, needed[3])[0], hidden_act=act)


class Encoder(nn.Module):
    def __init__(self, config: VisionConfig):
        super().__init__()
        self.layers = nn.ModuleList(TransformerLayer(config.hidden_size, config.num_heads, config.intermediate_size,
                                                     config.hidden_act, causal=False)
                                    for _ in range(config.num_layers))


class Embeddings(nn.Module):
    def __init__(self, config: VisionConfig):
        super().__init__()
        dim = config.hidden_size
        self.class_embedding = nn.Parameter(torch.zeros(dim))
        self.patch_embedding = nn.Conv2d(3, dim, config.patch_size, stride=config.patch_size, bias=False)
        self.position_embedding = nn.Embedding(config.num_positions, dim)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        patches = self.patch_embedding(pixels.to(self.patch_embedding.weight.dtype)).flatten(2).transpose(1, 2)
        cls = self.class_embedding.view(1, 1, -1).expand(pixels.shape[0], 1, -1)
        return torch.cat([cls, patches], dim=1) + self.position_embedding.weight.unsqueeze(0)


class VisionTransformer(nn.Module):
    def __init__(self, config: VisionConfig):
        super().__init__()
        dim = config.hidden_size
        self.embeddings = Embeddings(config)
        self.pre_layrnorm = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.encoder = Encoder(config)
        self.post_layernorm = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)


class ClipVisionModel(nn.Module):
    """A CLIP vision tower with its projection; parameter names are the released files' names."""

    def __init__(self, config: VisionConfig):
        super().__init__()
        self.config = config
        self.vision_model = VisionTransformer(config)
        self.visual_projection = nn.Linear(config.hidden_size, config.projection_dim, bias=False)
        self.requires_grad_(False)
        self.eval()

    def forward(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        vm = self.vision_model
        x = vm.pre_layrnorm(vm.embeddings(pixel_values))
        penultimate = x
        for index, layer in enumerate(vm.encoder.layers):
            x = layer(x)
            if index == len(vm.encoder.layers) - 2:
                penultimate = x
        image_embeds = self.visual_projection(vm.post_layernorm(x[:, 0, :]))
        return x, penultimate, image_embeds

    @classmethod
    def from_state_dict(cls, sd: Mapping, *, source: str = "state dict", dtype: torch.dtype | None = None,
                        device: torch.device | str | None = None) -> ClipVisionModel:
        config = infer_config(sd, source)
        model = cls(config)
        wanted = model.state_dict()
        missing = [k for k in wanted if k not in sd]
        if missing:
            raise ClipVisionError(f"{source}: CLIP vision model ({config.kind}) is missing {len(missing)} tensors, "
                                  f"e.g. {', '.join(missing[:3])}")
        weights = {}
        for key, target in wanted.items():
            tensor = sd[key]
            if tuple(tensor.shape) != tuple(target.shape):
                raise ClipVisionError(f"{source}: {key} has shape {tuple(tensor.shape)}, expected "
                                      f"{tuple(target.shape)} for this {config.kind} model")
            weights[key] = tensor
        model.load_state_dict(weights)
        return model.to(device=device, dtype=dtype)
