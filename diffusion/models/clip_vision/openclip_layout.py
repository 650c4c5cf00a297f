"""CLIP vision towers stored in the OpenAI / OpenCLIP `visual.*` layout, converted to the Hugging Face layout.

Checkpoints that carry their own image encoder (SD2.1 unCLIP under `embedder.model.visual.`, SVD
under `conditioner.embedders.0.open_clip.model.visual.`) keep it as OpenAI's CLIP package does:

    class_embedding, positional_embedding, conv1.weight, ln_pre.*, ln_post.*, proj [width, projection]
    transformer.resblocks.N.{ln_1, attn.in_proj_{weight,bias} (q|k|v stacked), attn.out_proj, ln_2,
                             mlp.c_fc, mlp.c_proj}.*

`openclip_visual_to_hf` gives the names of `model.py` (`vision_model.*`, `visual_projection.weight`,
the projection transposed, q/k/v split), which is what ComfyUI's clip_vision.convert_to_transformers
does; `hf_to_openclip_visual` is the inverse (used to write test files in the released layout).
Both work on meta tensors too, so a writer can get the shapes without allocating anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

OPENCLIP_MARKER = "transformer.resblocks.0.attn.in_proj_weight"
HF_MARKER = "vision_model.encoder.layers.0.layer_norm1.weight"

_TOP = {
    "class_embedding": "vision_model.embeddings.class_embedding",
    "conv1.weight": "vision_model.embeddings.patch_embedding.weight",
    "positional_embedding": "vision_model.embeddings.position_embedding.weight",
    "ln_pre.weight": "vision_model.pre_layrnorm.weight",
    "ln_pre.bias": "vision_model.pre_layrnorm.bias",
    "ln_post.weight": "vision_model.post_layernorm.weight",
    "ln_post.bias": "vision_model.post_layernorm.bias",
}
_BLOCK = {
    "ln_1": "layer_norm1", "ln_2": "layer_norm2", "attn.out_proj": "self_attn.out_proj",
    "mlp.c_fc": "mlp.fc1", "mlp.c_proj": "mlp.fc2",
}
_OPENCLIP_BLOCK = re.compile(r"^transformer\.resblocks\.(\d+)\.(.+)\.(weight|bias)$")
_OPENCLIP_QKV = re.compile(r"^transformer\.resblocks\.(\d+)\.attn\.in_proj_(weight|bias)$")
_HF_LAYER = re.compile(r"^vision_model\.encoder\.layers\.(\d+)\.(.+)\.(weight|bias)$")
_QKV = ("q_proj", "k_proj", "v_proj")


def is_openclip_visual(sd: Mapping) -> bool:
    return OPENCLIP_MARKER in sd


def openclip_visual_to_hf(sd: Mapping) -> dict[str, torch.Tensor]:
    """The tower's tensors (keys without prefix) renamed to the Hugging Face layout; unknown keys are dropped."""
    out: dict[str, torch.Tensor] = {}
    for key in sd:
        value = sd[key]
        if key in _TOP:
            out[_TOP[key]] = value
        elif key == "proj":
            out["visual_projection.weight"] = value.transpose(0, 1)
        elif match := _OPENCLIP_QKV.match(key):
            layer, kind = match.groups()
            for name, part in zip(_QKV, value.chunk(3, dim=0), strict=True):
                out[f"vision_model.encoder.layers.{layer}.self_attn.{name}.{kind}"] = part
        elif (match := _OPENCLIP_BLOCK.match(key)) and match.group(2) in _BLOCK:
            layer, module, kind = match.groups()
            out[f"vision_model.encoder.layers.{layer}.{_BLOCK[module]}.{kind}"] = value
    return out


def hf_to_openclip_visual(sd: Mapping) -> dict[str, torch.Tensor]:
    """The inverse of `openclip_visual_to_hf` (q/k/v stacked into in_proj, the projection transposed)."""
    top = {hf: oc for oc, hf in _TOP.items()}
    block = {hf: oc for oc, hf in _BLOCK.items()}
    out: dict[str, torch.Tensor] = {}
    for key in sd:
        value = sd[key]
        if key in top:
            out[top[key]] = value
        elif key == "visual_projection.weight":
            out["proj"] = value.transpose(0, 1)
        elif match := _HF_LAYER.match(key):
            layer, module, kind = match.groups()
            if module == "self_attn.q_proj":
                parts = [sd[f"vision_model.encoder.layers.{layer}.self_attn.{name}.{kind}"] for name in _QKV]
                out[f"transformer.resblocks.{layer}.attn.in_proj_{kind}"] = torch.cat(parts, dim=0)
            elif module in block:
                out[f"transformer.resblocks.{layer}.{block[module]}.{kind}"] = value
    return out
