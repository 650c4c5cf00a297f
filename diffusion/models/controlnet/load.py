"""Reading a ControlNet file into a `ControlModel` (ComfyUI's comfy/controlnet.py load_controlnet).

Formats recognised by keys: the original layout with or without the `control_model.` prefix, and
the diffusers layout (`controlnet_cond_embedding.conv_in.weight`, renamed by `convert.py`); a
difference ControlNet (a `difference` key: weights relative to a base model) with the model's UNet
weights added (DiffControlNetLoader).
T2I-Adapters (`conv_in` + `body.*`, light `body.*.out_conv`, diffusers `adapter.body.*`, the original keys
nested under `adapter`) load as
t2i_adapter.py's T2IAdapter; ControlLoRA files (`lora_controlnet`) as a ControlModel built from the
model being sampled (control_lora.py). Files are read with the safe loader (no pickle code runs).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import torch

from diffusion.checkpoints.checkpoint import CheckpointError, load_state_dict
from diffusion.checkpoints.loader import build_module
from diffusion.models.controlnet.cldm import ControlNetConfigError, ControlNetModel, controlnet_config_from_state_dict
from diffusion.models.controlnet.control_lora import control_lora_from_state_dict, is_control_lora
from diffusion.models.controlnet.convert import diffusers_controlnet_to_original, is_diffusers_controlnet
from diffusion.models.controlnet.t2i_adapter import (
    AdapterConfigError,
    T2IAdapter,
    adapter_config_from_state_dict,
    adapter_residuals,
    adapter_tensors,
    is_t2i_adapter,
)
from diffusion.sampling.control import ControlModel

PTH_PREFIX = "control_model."


def controlnet_group(model: ControlNetModel) -> str:
    """"sd1" | "sd2" | "sdxl": the model family group a ControlNet's encoder is a copy of."""
    cfg = model.config.unet
    if cfg.adm_in_channels is not None:
        return "sdxl"
    return "sd2" if cfg.use_linear_in_transformer else "sd1"


def describe_format(sd: Mapping) -> str | None:
    """"controlnet" | "controlnet-diffusers" | "control-lora" | "t2i-adapter", or None when none matches."""
    if is_control_lora(sd):
        return "control-lora"
    if is_diffusers_controlnet(sd):
        return "controlnet-diffusers"
    if f"{PTH_PREFIX}zero_convs.0.0.weight" in sd or "zero_convs.0.0.weight" in sd:
        return "controlnet"
    if is_t2i_adapter(sd):
        return "t2i-adapter"
    return None


def add_base_weights(tensors: Mapping[str, torch.Tensor], base_unet: Mapping[str, torch.Tensor],
                     path: str | Path) -> dict[str, torch.Tensor]:
    """A difference ControlNet made whole: each weight the base UNet also has (same name, e.g.
    `input_blocks.1.0.in_layers.2.weight`) gets the base's added, as ComfyUI's load_controlnet does."""
    out = {}
    for key, value in tensors.items():
        base = base_unet.get(key)
        if base is None:
            out[key] = value
            continue
        if tuple(base.shape) != tuple(value.shape):
            raise CheckpointError(f"{path}: difference weight {key} has shape {tuple(value.shape)} but the model's is "
                                  f"{tuple(base.shape)}: this difference ControlNet was made for another model")
        out[key] = value + base.to(device=value.device, dtype=value.dtype)
    return out


def controlnet_from_state_dict(sd: Mapping[str, torch.Tensor], path: str | Path, *, dtype: torch.dtype | None = None,
                               device: torch.device | str | None = None,
                               base_unet: Mapping[str, torch.Tensor] | None = None) -> ControlModel:
    """A ControlModel from the tensors of `path`; CheckpointError names the file and what was expected.

    `base_unet` (the model's UNet weights, DiffControlNetLoader) is added to a difference ControlNet's
    weights (a file with a `difference` key); such a file without it is refused."""
    kind = describe_format(sd)
    if kind is None:
        raise CheckpointError(f"{path}: not a ControlNet or T2I-Adapter: expected `zero_convs.*` and "
                              f"`input_hint_block.*` keys (original layout, optionally under `control_model.`), "
                              f"`controlnet_cond_embedding.*` (diffusers layout), `lora_controlnet` (ControlLoRA) or "
                              f"`conv_in` + `body.*` / `adapter.body.*` (T2I-Adapter)")
    if kind == "control-lora":
        return control_lora_from_state_dict(sd, path)
    if kind == "t2i-adapter":
        return t2i_adapter_from_state_dict(sd, path, dtype=dtype, device=device)
    difference = "difference" in sd
    if difference and base_unet is None:
        raise CheckpointError(f"{path}: a difference ControlNet (weights relative to a base model): load it with "
                              f"DiffControlNetLoader, which adds the model's weights")
    if kind == "controlnet-diffusers":
        tensors: Mapping[str, torch.Tensor] = diffusers_controlnet_to_original({k: sd[k] for k in sd})
    elif f"{PTH_PREFIX}zero_convs.0.0.weight" in sd:
        tensors = {k[len(PTH_PREFIX):]: sd[k] for k in sd if k.startswith(PTH_PREFIX)}
    else:
        tensors = sd
    if difference:
        tensors = add_base_weights({k: v for k, v in tensors.items() if k != "difference"}, base_unet, path)
    try:
        config = controlnet_config_from_state_dict(tensors)
    except (ControlNetConfigError, KeyError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a complete ControlNet ({exc})") from None
    network = build_module(lambda: ControlNetModel(config), tensors, dtype=dtype, device=device, what="ControlNet",
                           path=path)
    stem = os.path.splitext(os.path.basename(str(path)))[0]
    return ControlModel(network=network, kind="controlnet", group=controlnet_group(network), name=str(path),
                        global_average_pooling=stem.endswith(("_shuffle", "_shuffle_fp16")))


def t2i_adapter_from_state_dict(sd: Mapping[str, torch.Tensor], path: str | Path, *,
                                dtype: torch.dtype | None = None,
                                device: torch.device | str | None = None) -> ControlModel:
    """A T2I-Adapter ControlModel (ComfyUI's load_t2i_adapter): SD1.x/SD2.x full and light, SDXL full."""
    tensors = adapter_tensors(sd)
    try:
        config = adapter_config_from_state_dict(tensors)
    except (AdapterConfigError, KeyError, IndexError) as exc:
        raise CheckpointError(f"{path}: not a complete T2I-Adapter ({exc})") from None
    network = build_module(lambda: T2IAdapter(config), tensors, dtype=dtype, device=device, what="T2I-Adapter",
                           path=path)
    return ControlModel(network=network, kind="t2i-adapter", group="sdxl" if config.xl else None, name=str(path),
                        residuals_of=adapter_residuals)


def load_controlnet(path: str | Path, *, dtype: torch.dtype | None = None, device: torch.device | str | None = None,
                    base_unet: Mapping[str, torch.Tensor] | None = None) -> ControlModel:
    """Read a ControlNet file (safetensors, or a weights-only pickle); `base_unet` as controlnet_from_state_dict."""
    return controlnet_from_state_dict(load_state_dict(path), path, dtype=dtype, device=device, base_unet=base_unet)
