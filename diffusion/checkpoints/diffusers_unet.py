"""Rename a diffusers-layout UNet (UNet2DConditionModel keys) to the original single-file layout.

The block structure is read from the keys: each down level's resnets (and attentions) become
consecutive `input_blocks.N`, its downsampler the next one; the mid block becomes
`middle_block.0/1/2`; each up level's resnets become consecutive `output_blocks.N`, with the
upsampler in the level's last block after the attention (index 2) or the resnet (index 1).
Attention modules have the same inner names in both layouts; resnets are renamed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

TOP_LEVEL = {
    "conv_in.": "input_blocks.0.0.",
    "time_embedding.linear_1.": "time_embed.0.",
    "time_embedding.linear_2.": "time_embed.2.",
    "add_embedding.linear_1.": "label_emb.0.0.",
    "add_embedding.linear_2.": "label_emb.0.2.",
    "conv_norm_out.": "out.0.",
    "conv_out.": "out.2.",
}
RESNET = {"norm1.": "in_layers.0.", "conv1.": "in_layers.2.", "time_emb_proj.": "emb_layers.1.",
          "norm2.": "out_layers.0.", "conv2.": "out_layers.3.", "conv_shortcut.": "skip_connection."}
_PART = re.compile(r"^(down_blocks|up_blocks)\.(\d+)\.(resnets|attentions|downsamplers|upsamplers)\.(\d+)\.(.*)$")
_MID = re.compile(r"^mid_block\.(resnets|attentions)\.(\d+)\.(.*)$")


class DiffusersUNetError(ValueError):
    """A key the conversion does not know (the message names it)."""


def is_diffusers_unet(sd: Mapping) -> bool:
    return "conv_in.weight" in sd and any(k.startswith("down_blocks.") for k in sd)


def _resnet(rest: str) -> str:
    for old, new in RESNET.items():
        if rest.startswith(old):
            return new + rest[len(old):]
    raise DiffusersUNetError(f"unknown resnet weight {rest!r}")


def _counts(sd: Mapping, blocks: str) -> dict[int, dict[str, int]]:
    """level -> {"resnets": n, "attentions": n, "samplers": n} from the keys."""
    counts: dict[int, dict[str, int]] = {}
    for key in sd:
        m = _PART.match(key)
        if m and m.group(1) == blocks:
            level, part, index = int(m.group(2)), m.group(3), int(m.group(4))
            part = "samplers" if part.endswith("samplers") else part
            entry = counts.setdefault(level, {"resnets": 0, "attentions": 0, "samplers": 0})
            entry[part] = max(entry[part], index + 1)
    return counts


def _block_index(sd: Mapping) -> dict[tuple[str, int], int]:
    """(blocks, level) -> the original index of that level's first block."""
    index: dict[tuple[str, int], int] = {}
    position = 1
    for level, entry in sorted(_counts(sd, "down_blocks").items()):
        index[("down_blocks", level)] = position
        position += entry["resnets"] + entry["samplers"]
    position = 0
    for level, entry in sorted(_counts(sd, "up_blocks").items()):
        index[("up_blocks", level)] = position
        position += entry["resnets"]
    return index


def diffusers_unet_to_ldm(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The same tensors under the original UNet keys (no `model.diffusion_model.` prefix)."""
    starts = _block_index(sd)
    counts = {"down_blocks": _counts(sd, "down_blocks"), "up_blocks": _counts(sd, "up_blocks")}
    return {_ldm_key(key, starts, counts): value for key, value in sd.items()}


def _ldm_key(key: str, starts: dict, counts: dict) -> str:
    for old, new in TOP_LEVEL.items():
        if key.startswith(old):
            return new + key[len(old):]
    if m := _MID.match(key):
        part, index, rest = m.group(1), int(m.group(2)), m.group(3)
        if part == "attentions":
            return f"middle_block.1.{rest}"
        return f"middle_block.{2 * index}.{_resnet(rest)}"
    m = _PART.match(key)
    if m is None:
        raise DiffusersUNetError(f"unknown diffusers UNet key {key!r}")
    blocks, level, part, index, rest = m.group(1), int(m.group(2)), m.group(3), int(m.group(4)), m.group(5)
    start = starts[(blocks, level)]
    name = "input_blocks" if blocks == "down_blocks" else "output_blocks"
    if part == "resnets":
        return f"{name}.{start + index}.0.{_resnet(rest)}"
    if part == "attentions":
        return f"{name}.{start + index}.1.{rest}"
    entry = counts[blocks][level]
    if part == "downsamplers":
        return f"input_blocks.{start + entry['resnets']}.0.{rest.replace('conv.', 'op.', 1)}"
    slot = 2 if entry["attentions"] else 1
    return f"output_blocks.{start + entry['resnets'] - 1}.{slot}.{rest}"

