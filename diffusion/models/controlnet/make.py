"""`make-checkpoint --kind controlnet`: random ControlNet weights in the original layout, and the recogniser
`inspect` uses (weight_kinds.py). Keys without the `control_model.` prefix, as the fp16 safetensors files
people share; the loader reads both.

`--kind controlnet-diffusers`: the same tensors (same seed, same values, same order) under diffusers'
ControlNetModel names, as the config-free `diffusion_pytorch_model.safetensors` of a diffusers ControlNet."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from diffusion.checkpoints.make_checkpoint import _value_maker
from diffusion.checkpoints.safetensors_writer import TensorSpec, write_safetensors_streaming
from diffusion.models.controlnet.cldm import (
    ControlNetConfig,
    ControlNetConfigError,
    ControlNetModel,
    controlnet_config_from_state_dict,
)
from diffusion.models.controlnet.convert import diffusers_controlnet_to_original, original_controlnet_to_diffusers
from diffusion.models.controlnet.load import controlnet_group, describe_format
from diffusion.models.unet.config import UNetConfig

HINT_CHANNELS = (3, 16, 16, 32, 32, 96, 96, 256)
FAMILY_OF_GROUP = {"sd1": "sd15", "sd2": "sd21", "sdxl": "sdxl"}


def controlnet_config(family: str, size: str) -> ControlNetConfig:
    unet = UNetConfig.preset(family, size)
    return ControlNetConfig(unet, (*HINT_CHANNELS, unet.model_channels))


def meta_tensors(sd: Mapping) -> dict[str, torch.Tensor]:
    """Meta tensors of the shapes in `sd`, for renaming a lazy file's keys without reading it."""
    shape_of = getattr(sd, "shape", None)
    return {k: torch.empty(tuple(shape_of(k)) if callable(shape_of) else tuple(sd[k].shape), device="meta")
            for k in sd}


def _original_shapes(family: str, size: str) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):
        model = ControlNetModel(controlnet_config(family, size))
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def write_controlnet(out: str, *, family: str, size: str, seed: int, dtype: torch.dtype) -> int:
    specs = [TensorSpec(k, shape, dtype) for k, shape in _original_shapes(family, size).items()]
    metadata = {"latentgraph.kind": "controlnet", "latentgraph.family": family, "latentgraph.size": size}
    return write_safetensors_streaming(out, specs, _value_maker(seed, dtype, {}), metadata)


def write_diffusers_controlnet(out: str, *, family: str, size: str, seed: int, dtype: torch.dtype) -> int:
    """The tensors of `write_controlnet` with the same seed, renamed to the diffusers layout (no metadata
    but the kind: diffusers files carry their config in a config.json beside them, which this kind omits)."""
    meta = {k: torch.empty(shape, device="meta") for k, shape in _original_shapes(family, size).items()}
    renamed = original_controlnet_to_diffusers(meta)
    specs = [TensorSpec(k, tuple(v.shape), dtype) for k, v in renamed.items()]
    metadata = {"latentgraph.kind": "controlnet-diffusers", "latentgraph.family": family, "latentgraph.size": size}
    return write_safetensors_streaming(out, specs, _value_maker(seed, dtype, {}), metadata)


def recognise_controlnet(sd: Mapping) -> dict | None:
    if describe_format(sd) != "controlnet":
        return None
    prefix = "control_model." if "control_model.zero_convs.0.0.weight" in sd else ""
    return _describe(sd, prefix)


def recognise_diffusers_controlnet(sd: Mapping) -> dict | None:
    """A diffusers-layout ControlNet, described from its shapes renamed to the original layout."""
    if describe_format(sd) != "controlnet-diffusers":
        return None
    try:
        original = diffusers_controlnet_to_original(meta_tensors(sd))
    except ValueError as exc:
        return {"error": f"an incomplete diffusers ControlNet ({exc})"}
    return {**_describe(original, ""), "layout": "diffusers"}


def _describe(sd: Mapping, prefix: str) -> dict:
    try:
        config = controlnet_config_from_state_dict(sd, prefix)
    except (ControlNetConfigError, KeyError) as exc:
        return {"error": f"an incomplete ControlNet ({exc})"}
    with torch.device("meta"):
        group = controlnet_group(ControlNetModel(config))
    return {"family_guess": FAMILY_OF_GROUP[group], "unet_context_width": config.unet.context_dim,
            "key_prefix": prefix or "(none)"}
