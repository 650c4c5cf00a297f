"""Rename a diffusers-layout ControlNet (ControlNetModel keys) to the original `control_model` layout.

The UNet encoder part has the diffusers UNet's names and goes through the UNet's conversion
(`diffusion/checkpoints/diffusers_unet.py`); the ControlNet's own parts are renamed here:
- `controlnet_cond_embedding.conv_in` -> `input_hint_block.0`, `.blocks.N` -> `input_hint_block.{2N+2}`,
  `.conv_out` -> the last even index after them;
- `controlnet_down_blocks.N` -> `zero_convs.N.0`; `controlnet_mid_block` -> `middle_block_out.0`.
(As ComfyUI's load_controlnet does for "controlnet_cond_embedding.conv_in.weight" files.)
`original_controlnet_to_diffusers` is the inverse (make-checkpoint --kind controlnet-diffusers writes with it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

from diffusion.checkpoints.diffusers_unet import RESNET, TOP_LEVEL, DiffusersUNetError, diffusers_unet_to_ldm

DIFFUSERS_MARKER = "controlnet_cond_embedding.conv_in.weight"
_HINT_BLOCK = re.compile(r"^controlnet_cond_embedding\.blocks\.(\d+)\.(.*)$")
_DOWN = re.compile(r"^controlnet_down_blocks\.(\d+)\.(.*)$")


def is_diffusers_controlnet(sd: Mapping) -> bool:
    return DIFFUSERS_MARKER in sd


def diffusers_controlnet_to_original(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The same tensors under the original ControlNet keys (no `control_model.` prefix)."""
    blocks = {int(m.group(1)) for k in sd if (m := _HINT_BLOCK.match(k))}
    last = 2 * (max(blocks) + 2) if blocks else 2
    own: dict[str, torch.Tensor] = {}
    unet: dict[str, torch.Tensor] = {}
    for key in sd:
        value = sd[key]
        if key.startswith("controlnet_cond_embedding.conv_in."):
            own["input_hint_block.0." + key.rsplit(".", 1)[1]] = value
        elif key.startswith("controlnet_cond_embedding.conv_out."):
            own[f"input_hint_block.{last}." + key.rsplit(".", 1)[1]] = value
        elif m := _HINT_BLOCK.match(key):
            own[f"input_hint_block.{2 * int(m.group(1)) + 2}.{m.group(2)}"] = value
        elif m := _DOWN.match(key):
            own[f"zero_convs.{m.group(1)}.0.{m.group(2)}"] = value
        elif key.startswith("controlnet_mid_block."):
            own["middle_block_out.0." + key[len("controlnet_mid_block."):]] = value
        else:
            unet[key] = value
    return {**diffusers_unet_to_ldm(unet), **own}


_INPUT = re.compile(r"^input_blocks\.(\d+)\.(\d+)\.(.*)$")
_HINT = re.compile(r"^input_hint_block\.(\d+)\.(.*)$")
_ZERO = re.compile(r"^zero_convs\.(\d+)\.0\.(.*)$")
_MIDDLE = re.compile(r"^middle_block\.(\d+)\.(.*)$")
_LDM_TOP_LEVEL = {new: old for old, new in TOP_LEVEL.items()}
_LDM_RESNET = {new: old for old, new in RESNET.items()}


def _diffusers_resnet(rest: str) -> str:
    for old, new in _LDM_RESNET.items():
        if rest.startswith(old):
            return new + rest[len(old):]
    raise DiffusersUNetError(f"unknown resnet weight {rest!r}")


def _input_block_places(keys: list[str]) -> dict[int, tuple[int, str, int]]:
    """Original input block index -> (down level, "resnets" | "attentions" | "downsamplers", index): a level's
    blocks run until the block holding a downsampler (`op`), which ends it."""
    blocks = sorted({int(m.group(1)) for k in keys if (m := _INPUT.match(k)) and m.group(1) != "0"})
    downsamplers = {int(m.group(1)) for k in keys if (m := _INPUT.match(k)) and m.group(3).startswith("op.")}
    places, level, index = {}, 0, 0
    for block in blocks:
        if block in downsamplers:
            places[block] = (level, "downsamplers", 0)
            level, index = level + 1, 0
        else:
            places[block] = (level, "resnets", index)
            index += 1
    return places


def original_controlnet_to_diffusers(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The inverse of `diffusers_controlnet_to_original`: original keys (no prefix) under diffusers'
    ControlNetModel names, in the same order."""
    keys = list(sd)
    places = _input_block_places(keys)
    hint = sorted({int(m.group(1)) for k in keys if (m := _HINT.match(k))})
    out: dict[str, torch.Tensor] = {}
    for key in keys:
        out[_diffusers_key(key, places, hint)] = sd[key]
    return out


def _diffusers_key(key: str, places: dict, hint: list[int]) -> str:
    for old, new in _LDM_TOP_LEVEL.items():
        if key.startswith(old):
            return new + key[len(old):]
    if m := _HINT.match(key):
        index, rest = int(m.group(1)), m.group(2)
        if index == hint[0]:
            return f"controlnet_cond_embedding.conv_in.{rest}"
        if index == hint[-1]:
            return f"controlnet_cond_embedding.conv_out.{rest}"
        return f"controlnet_cond_embedding.blocks.{(index - 2) // 2}.{rest}"
    if m := _ZERO.match(key):
        return f"controlnet_down_blocks.{m.group(1)}.{m.group(2)}"
    if key.startswith("middle_block_out.0."):
        return "controlnet_mid_block." + key[len("middle_block_out.0."):]
    if m := _MIDDLE.match(key):
        part, rest = int(m.group(1)), m.group(2)
        if part == 1:
            return f"mid_block.attentions.0.{rest}"
        return f"mid_block.resnets.{part // 2}.{_diffusers_resnet(rest)}"
    if m := _INPUT.match(key):
        level, kind, index = places[int(m.group(1))]
        rest = m.group(3)
        if kind == "downsamplers":
            return f"down_blocks.{level}.downsamplers.0.{rest.replace('op.', 'conv.', 1)}"
        if m.group(2) == "1":
            return f"down_blocks.{level}.attentions.{index}.{rest}"
        return f"down_blocks.{level}.resnets.{index}.{_diffusers_resnet(rest)}"
    raise DiffusersUNetError(f"unknown ControlNet key {key!r}")
