"""Convert a VAE state dict from the diffusers layout to the original (ldm) layout.

Some standalone VAE files are saved by diffusers (`decoder.up_blocks.0.resnets.0.norm1.weight`).
Renaming is mechanical: resnets -> block, conv_shortcut -> nin_shortcut, mid_block ->
mid.block_1/attn_1/block_2, decoder up blocks in reverse order, and the mid attention's
linear q/k/v/out weights become 1x1 convolutions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

DIFFUSERS_VAE_MARKER = "decoder.up_blocks.0.resnets.0.norm1.weight"

_ATTENTION_NAMES = {
    "group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out",
    "query": "q", "key": "k", "value": "v", "proj_attn": "proj_out",
}
_UP_BLOCK = re.compile(r"^decoder\.up_blocks\.(\d+)\.")


def is_diffusers_vae(sd: Mapping) -> bool:
    return DIFFUSERS_VAE_MARKER in sd


def _rename(key: str, up_count: int) -> str:
    for part in ("encoder", "decoder"):
        key = key.replace(f"{part}.conv_norm_out.", f"{part}.norm_out.")
        key = key.replace(f"{part}.mid_block.resnets.0.", f"{part}.mid.block_1.")
        key = key.replace(f"{part}.mid_block.resnets.1.", f"{part}.mid.block_2.")
    key = re.sub(r"^encoder\.down_blocks\.(\d+)\.resnets\.", r"encoder.down.\1.block.", key)
    key = re.sub(r"^encoder\.down_blocks\.(\d+)\.downsamplers\.0\.", r"encoder.down.\1.downsample.", key)
    match = _UP_BLOCK.match(key)
    if match:
        level = up_count - 1 - int(match.group(1))
        rest = key[match.end():]
        rest = rest.replace("resnets.", "block.", 1).replace("upsamplers.0.", "upsample.", 1)
        key = f"decoder.up.{level}.{rest}"
    key = key.replace(".conv_shortcut.", ".nin_shortcut.")
    attention = re.match(r"^(encoder|decoder)\.mid_block\.attentions\.0\.(.+)\.(weight|bias)$", key)
    if attention:
        part, name, kind = attention.groups()
        if name not in _ATTENTION_NAMES:
            raise ValueError(f"unexpected key in diffusers VAE attention: {key}")
        key = f"{part}.mid.attn_1.{_ATTENTION_NAMES[name]}.{kind}"
    return key


def diffusers_vae_to_ldm(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The same tensors under original-layout names (attention weights reshaped to 1x1 convs)."""
    up_count = 1 + max((int(m.group(1)) for k in sd for m in [_UP_BLOCK.match(k)] if m), default=-1)
    out: dict[str, torch.Tensor] = {}
    for key, value in sd.items():
        new_key = _rename(key, up_count)
        if ".mid.attn_1." in new_key and new_key.endswith(".weight") and value.ndim == 2:
            value = value.reshape(*value.shape, 1, 1)
        if new_key in out:
            raise ValueError(f"two diffusers VAE keys map to {new_key}")
        out[new_key] = value
    return out
