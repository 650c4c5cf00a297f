"""Rename a diffusers-layout ControlNet (ControlNetModel keys) to the original `control_model` layout.

The UNet encoder part has the diffusers UNet's names and goes through the UNet's conversion
(`diffusion/checkpoints/diffusers_unet.py`); the ControlNet's own parts are renamed here:
- `controlnet_cond_embedding.conv_in` -> `input_hint_block.0`, `.blocks.N` -> `input_hint_block.{2N+2}`,
  `.conv_out` -> the last even index after them;
- `controlnet_down_blocks.N` -> `zero_convs.N.0`; `controlnet_mid_block` -> `middle_block_out.0`.
(As ComfyUI's load_controlnet does for "controlnet_cond_embedding.conv_in.weight" files.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

from diffusion.checkpoints.diffusers_unet import diffusers_unet_to_ldm

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
