"""`make-checkpoint --kind controlnet`: random ControlNet weights in the original layout, and the recogniser
`inspect` uses (weight_kinds.py). Keys without the `control_model.` prefix, as the fp16 safetensors files
people share; the loader reads both."""

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
from diffusion.models.controlnet.load import controlnet_group, describe_format
from diffusion.models.unet.config import UNetConfig

HINT_CHANNELS = (3, 16, 16, 32, 32, 96, 96, 256)
FAMILY_OF_GROUP = {"sd1": "sd15", "sd2": "sd21", "sdxl": "sdxl"}


def controlnet_config(family: str, size: str) -> ControlNetConfig:
    unet = UNetConfig.preset(family, size)
    return ControlNetConfig(unet, (*HINT_CHANNELS, unet.model_channels))


def write_controlnet(out: str, *, family: str, size: str, seed: int, dtype: torch.dtype) -> int:
    with torch.device("meta"):
        model = ControlNetModel(controlnet_config(family, size))
    specs = [TensorSpec(k, tuple(v.shape), dtype) for k, v in model.state_dict().items()]
    metadata = {"latentgraph.kind": "controlnet", "latentgraph.family": family, "latentgraph.size": size}
    return write_safetensors_streaming(out, specs, _value_maker(seed, dtype, {}), metadata)


def recognise_controlnet(sd: Mapping) -> dict | None:
    kind = describe_format(sd)
    if kind not in ("controlnet",):
        return None
    prefix = "control_model." if "control_model.zero_convs.0.0.weight" in sd else ""
    try:
        config = controlnet_config_from_state_dict(sd, prefix)
    except (ControlNetConfigError, KeyError) as exc:
        return {"error": f"an incomplete ControlNet ({exc})"}
    with torch.device("meta"):
        group = controlnet_group(ControlNetModel(config))
    return {"family_guess": FAMILY_OF_GROUP[group], "unet_context_width": config.unet.context_dim,
            "key_prefix": prefix or "(none)"}
