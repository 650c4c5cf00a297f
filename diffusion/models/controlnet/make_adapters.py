"""`make-checkpoint --kind t2i-adapter` and `--kind control-lora`: random weights in the real key layouts,
and the recognisers `inspect` uses (weight_kinds.py).

- t2i-adapter: a full adapter in the original layout (`conv_in`, `body.N.{in_conv,block1,block2}`), as
  TencentARC's t2iadapter_*_sd14v1 files (ksize 1, identity skips, pooling) for sd15, and the SDXL
  layout (16x unshuffle) for sdxl. Tiny adapters have 32 base channels: they fit a tiny UNet with
  channel_mult (1, 2, 4, 4) and 2 residual blocks per level (the layout adapters are made for;
  `--kind sd15-full-layout` writes such a checkpoint, make_adapter_base.py).
- control-lora: the ControlNet of the family's UNet (tiny or full) as a ControlLoRA: whole tensors
  for the hint block, zero convs, middle_block_out, norms and biases; `.up` / `.down` pairs (rank 4
  tiny, 128 full) for every encoder convolution and linear layer; the `lora_controlnet` marker.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from diffusion.checkpoints.make_checkpoint import _value_maker
from diffusion.checkpoints.safetensors_writer import TensorSpec, write_safetensors_streaming
from diffusion.models.controlnet.cldm import ControlNetModel
from diffusion.models.controlnet.control_lora import (
    ENCODER_PREFIXES,
    MARKER,
    context_width,
    control_lora_group,
    tensor_shape,
)
from diffusion.models.controlnet.load import describe_format
from diffusion.models.controlnet.make import controlnet_config, meta_tensors
from diffusion.models.controlnet.t2i_adapter import (
    AdapterConfig,
    AdapterConfigError,
    T2IAdapter,
    adapter_config_from_state_dict,
    adapter_layout,
    adapter_tensors,
)

ADAPTER_CHANNELS = {"tiny": 32, "full": 320}
LORA_RANK = {"tiny": 4, "full": 128}
GROUP_FAMILY = {"sd1": "sd15", "sd2": "sd21", "sdxl": "sdxl"}


def adapter_config(family: str, size: str) -> AdapterConfig:
    c = ADAPTER_CHANNELS[size]
    cin = 3 * 16 * 16 if family == "sdxl" else 3 * 8 * 8
    return AdapterConfig("full", cin, (c, 2 * c, 4 * c, 4 * c), nums_rb=2, ksize=1, sk=True, use_conv=False)


def write_t2i_adapter(out: str, *, family: str, size: str, seed: int, dtype: torch.dtype) -> int:
    with torch.device("meta"):
        model = T2IAdapter(adapter_config(family, size))
    specs = [TensorSpec(k, tuple(v.shape), dtype) for k, v in model.state_dict().items()]
    metadata = {"latentgraph.kind": "t2i-adapter", "latentgraph.family": family, "latentgraph.size": size}
    return write_safetensors_streaming(out, specs, _value_maker(seed, dtype, {}), metadata)


def recognise_t2i_adapter(sd: Mapping) -> dict | None:
    if describe_format(sd) != "t2i-adapter":
        return None
    try:
        config = adapter_config_from_state_dict(adapter_tensors(meta_tensors(sd)))
    except (AdapterConfigError, KeyError, IndexError) as exc:
        return {"error": f"an incomplete T2I-Adapter ({exc})"}
    where = "SDXL UNets (after input blocks 3, 5, 8 and the middle block)" if config.xl else \
        "SD1.x/SD2.x UNets (after input blocks 2, 5, 8, 11)"
    return {"applies_to": f"{where}; a {config.kind} adapter, channels {list(config.channels)}, "
                          f"{config.input_channels}-channel hints", "adapter": config.kind,
            "channels": list(config.channels), "hint_channels": config.input_channels,
            "layout": adapter_layout(sd)}


def control_lora_specs(family: str, size: str, dtype: torch.dtype) -> list[TensorSpec]:
    """The tensors of a ControlLoRA for the family's UNet: low-rank pairs for the encoder's layers."""
    with torch.device("meta"):
        model = ControlNetModel(controlnet_config(family, size))
    rank = LORA_RANK[size]
    specs = [TensorSpec(MARKER, (0,), dtype)]
    for key, value in model.state_dict().items():
        shape = tuple(value.shape)
        name = key[:-len(".weight")]
        if key.startswith(ENCODER_PREFIXES) and key.endswith(".weight") and len(shape) >= 2:
            kernel = shape[2:]
            specs.append(TensorSpec(f"{name}.up", (shape[0], rank, *(1 for _ in kernel)), dtype))
            specs.append(TensorSpec(f"{name}.down", (rank, shape[1], *kernel), dtype))
        else:
            specs.append(TensorSpec(key, shape, dtype))
    return specs


def write_control_lora(out: str, *, family: str, size: str, seed: int, dtype: torch.dtype) -> int:
    metadata = {"latentgraph.kind": "control-lora", "latentgraph.family": family, "latentgraph.size": size}
    return write_safetensors_streaming(out, control_lora_specs(family, size, dtype), _value_maker(seed, dtype, {}),
                                       metadata)


def recognise_control_lora(sd: Mapping) -> dict | None:
    if describe_format(sd) != "control-lora":
        return None
    ups = [k for k in sd if k.endswith(".up")]
    described = {"applies_to": f"the model it is sampled with ({len(ups)} low-rank layers over its UNet encoder)",
                 "ranks": sorted({tensor_shape(sd, k)[1] for k in ups})}
    width = context_width(sd)
    if width is not None:
        described["unet_context_width"] = width
        if control_lora_group(sd) is not None:
            described["family_guess"] = GROUP_FAMILY[control_lora_group(sd)]
    return described
