"""ControlLoRA files (Stability's control-lora; ComfyUI's ControlLora): a ControlNet stored as low-rank
differences from the UNet it is applied to.

The file has a `lora_controlnet` marker key, whole tensors for the ControlNet's own parts
(`input_hint_block.*`, `zero_convs.*`, `middle_block_out.*`) and for some encoder tensors (norms,
biases), and `NAME.up` / `NAME.down` pairs for the encoder's linear and convolution layers. The
ControlNet is the model's encoder (`time_embed`, `label_emb`, `input_blocks`, `middle_block`) with the
file's whole tensors in place and, for each pair, `NAME.weight` + up.flatten(1) @ down.flatten(1).
So it can only be made once the model is known: the loader returns a ControlModel whose network is
built at sampling time from the model being sampled (`build_from_model`), and cached per model.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import torch

from diffusion.checkpoints.checkpoint import CheckpointError
from diffusion.checkpoints.loader import build_module
from diffusion.models.controlnet.cldm import ControlNetConfigError, ControlNetModel, controlnet_config_from_state_dict
from diffusion.sampling.control import ControlModel

MARKER = "lora_controlnet"
ENCODER_PREFIXES = ("time_embed.", "label_emb.", "input_blocks.", "middle_block.")
CONTEXT_GROUPS = {768: "sd1", 1024: "sd2", 2048: "sdxl"}


def is_control_lora(sd: Mapping) -> bool:
    return MARKER in sd


def tensor_shape(sd: Mapping, key: str) -> tuple[int, ...]:
    shape_of = getattr(sd, "shape", None)
    return tuple(shape_of(key)) if callable(shape_of) else tuple(sd[key].shape)


def context_width(sd: Mapping) -> int | None:
    """The text width the file's cross-attention takes (`attn2.to_k` input features), None without one."""
    for key in sd:
        if ".attn2.to_k." in key and key.endswith((".down", ".weight")):
            return tensor_shape(sd, key)[1]
    return None


def control_lora_group(sd: Mapping) -> str | None:
    """The family group the file's cross-attention width says ("sd1" | "sd2" | "sdxl"), None when unknown."""
    return CONTEXT_GROUPS.get(context_width(sd))


def control_lora_weights(file_sd: Mapping[str, torch.Tensor], base_unet: Mapping[str, torch.Tensor],
                         path: str | Path) -> dict[str, torch.Tensor]:
    """The whole ControlNet state dict: the base encoder, the file's tensors, the low-rank differences added."""
    weights = {k: v.detach().clone() for k, v in base_unet.items() if k.startswith(ENCODER_PREFIXES)}
    pairs: dict[str, dict[str, torch.Tensor]] = {}
    for key in file_sd:
        if key == MARKER:
            continue
        name, _, part = key.rpartition(".")
        if part in ("up", "down"):
            pairs.setdefault(name, {})[part] = file_sd[key]
        else:
            weights[key] = file_sd[key]
    for name, pair in pairs.items():
        if set(pair) != {"up", "down"}:
            raise CheckpointError(f"{path}: ControlLoRA layer {name} has only `{next(iter(pair))}`, expected both "
                                  f"`{name}.up` and `{name}.down`")
        base = weights.get(f"{name}.weight")
        if base is None:
            raise CheckpointError(f"{path}: ControlLoRA layer {name} has no weight in the model (no "
                                  f"`{name}.weight`): this ControlLoRA was made for another model")
        up, down = pair["up"].flatten(1).float(), pair["down"].flatten(1).float()
        if up.shape[1] != down.shape[0] or up.shape[0] * down.shape[1] != base.numel():
            raise CheckpointError(f"{path}: ControlLoRA layer {name}: up {tuple(pair['up'].shape)} x down "
                                  f"{tuple(pair['down'].shape)} does not fit the model's weight "
                                  f"{tuple(base.shape)}: this ControlLoRA was made for another model")
        weights[f"{name}.weight"] = (base.float() + (up @ down).reshape(base.shape).to(base.device)).to(base.dtype)
    return weights


def build_control_lora(file_sd: Mapping[str, torch.Tensor], base_unet: Mapping[str, torch.Tensor],
                       path: str | Path) -> ControlNetModel:
    """The ControlNet of a ControlLoRA file applied to the UNet whose weights are `base_unet`, in the UNet's
    dtype (as ComfyUI builds it in the model's dtype)."""
    floating = [v for v in base_unet.values() if v.is_floating_point()]
    dtype = floating[0].dtype if floating else None
    tensors = control_lora_weights(file_sd, base_unet, path)
    try:
        config = controlnet_config_from_state_dict(tensors)
    except (ControlNetConfigError, KeyError, ValueError) as exc:
        raise CheckpointError(f"{path}: this ControlLoRA does not make a ControlNet with this model ({exc})") from None
    return build_module(lambda: ControlNetModel(config), tensors, dtype=dtype, device=None, what="ControlLoRA",
                        path=path)


def control_lora_from_state_dict(sd: Mapping[str, torch.Tensor], path: str | Path) -> ControlModel:
    """A ControlModel whose network is built from the model being sampled (see the module docstring)."""
    own = {k: sd[k] for k in sd}
    for needed in ("input_hint_block.0.weight", "zero_convs.0.0.weight", "middle_block_out.0.weight"):
        if needed not in own:
            raise CheckpointError(f"{path}: a ControlLoRA without `{needed}`: the file is incomplete")
    if not any(k.endswith((".up", ".down")) for k in own):
        raise CheckpointError(f"{path}: a ControlLoRA (`{MARKER}` key) with no `.up` / `.down` low-rank pairs")

    def build(base_unet: Mapping[str, torch.Tensor]) -> ControlNetModel:
        return build_control_lora(own, base_unet, path)

    stem = os.path.splitext(os.path.basename(str(path)))[0]
    return ControlModel(network=None, kind="control-lora", group=control_lora_group(own), name=str(path),
                        global_average_pooling=stem.endswith(("_shuffle", "_shuffle_fp16")), build_from_model=build)
