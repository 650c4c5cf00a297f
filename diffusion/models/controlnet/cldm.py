"""The ControlNet "control_model" (ComfyUI's comfy/cldm/cldm.py), parameter names mirroring the file.

A ControlNet is a trainable copy of the UNet's encoder (`time_embed`, `label_emb`, `input_blocks`,
`middle_block`, with the UNet's own names) plus:
- `input_hint_block`: convolutions from the hint image (pixels, 8x the latent size) down to the
  latent size, SiLU between them; its output is added to the features after the first input block;
- `zero_convs.N.0`: one 1x1 convolution after each input block (their outputs are the residuals
  added to the UNet's skip connections, in input-block order);
- `middle_block_out.0`: a 1x1 convolution after the middle block (the middle residual).
`controlnet_config_from_state_dict` reads the whole shape from the tensors (the UNet part as the
UNet does), so full-size and tiny ControlNets of SD1.x, SD2.x and SDXL load without a table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn

from diffusion.models.unet.blocks import TimestepEmbedSequential, timestep_embedding
from diffusion.models.unet.config import UNetConfig, UNetConfigError
from diffusion.models.unet.unet import UNetModel, unet_config_from_state_dict

_HINT_KEY = re.compile(r"^input_hint_block\.(\d+)\.weight$")


class ControlNetConfigError(UNetConfigError):
    """The tensors do not form a ControlNet in the original layout."""


@dataclass(frozen=True)
class ControlNetConfig:
    unet: UNetConfig  # the encoder's shape (output-block fields unused)
    hint_channels: tuple[int, ...]  # channels along input_hint_block: image channels, then each conv's output

    @property
    def hint_strides(self) -> tuple[int, ...]:
        """Stride of each hint convolution: 2 for every second one of the inner pairs (16->32, 32->96, ...)."""
        count = len(self.hint_channels) - 1
        return tuple(2 if 0 < i < count - 1 and i % 2 == 0 else 1 for i in range(count))


def _shape(sd: Mapping, key: str) -> tuple[int, ...]:
    shape_of = getattr(sd, "shape", None)
    return tuple(shape_of(key)) if callable(shape_of) else tuple(sd[key].shape)


def controlnet_config_from_state_dict(sd: Mapping, prefix: str = "") -> ControlNetConfig:
    """The ControlNet shape of the tensors under `prefix` (e.g. "control_model." or "")."""
    if f"{prefix}zero_convs.0.0.weight" not in sd or f"{prefix}input_hint_block.0.weight" not in sd:
        raise ControlNetConfigError(f"no ControlNet found: missing {prefix}zero_convs.0.0.weight or "
                                    f"{prefix}input_hint_block.0.weight")
    unet = unet_config_from_state_dict(sd, prefix)
    indices = sorted(int(m.group(1)) for k in sd if k.startswith(prefix)
                     and (m := _HINT_KEY.match(k[len(prefix):])))
    if indices != list(range(0, 2 * len(indices), 2)):
        raise ControlNetConfigError(f"input_hint_block convolutions are not at 0, 2, 4, ...: {indices}")
    channels = [_shape(sd, f"{prefix}input_hint_block.0.weight")[1]]
    for index in indices:
        out_ch, in_ch = _shape(sd, f"{prefix}input_hint_block.{index}.weight")[:2]
        if in_ch != channels[-1]:
            raise ControlNetConfigError(f"input_hint_block.{index} takes {in_ch} channels, the one before gives "
                                        f"{channels[-1]}")
        channels.append(out_ch)
    if channels[-1] != unet.model_channels:
        raise ControlNetConfigError(f"input_hint_block ends with {channels[-1]} channels, the UNet copy starts with "
                                    f"{unet.model_channels}")
    return ControlNetConfig(unet=unet, hint_channels=tuple(channels))


class ControlNetModel(nn.Module):
    """hint image + latent + timestep + text -> residuals {"output": [per input block], "middle": [one]}."""

    def __init__(self, config: ControlNetConfig):
        super().__init__()
        self.config = config
        # The encoder is the UNet's, built by the UNet's own constructor; the decoder half is dropped.
        unet = UNetModel(config.unet)
        self.time_embed = unet.time_embed
        if config.unet.adm_in_channels is not None:
            self.label_emb = unet.label_emb
        self.input_blocks = unet.input_blocks
        self.middle_block = unet.middle_block
        del unet
        layers: list[nn.Module] = []
        pairs = zip(config.hint_channels[:-1], config.hint_channels[1:], config.hint_strides, strict=True)
        for index, (cin, cout, stride) in enumerate(pairs):
            if index:
                layers.append(nn.SiLU())
            layers.append(nn.Conv2d(cin, cout, 3, padding=1, stride=stride))
        self.input_hint_block = TimestepEmbedSequential(*layers)
        self.zero_convs = nn.ModuleList()
        for block in self.input_blocks:
            channels = _block_channels(block)
            self.zero_convs.append(TimestepEmbedSequential(nn.Conv2d(channels, channels, 1)))
        middle = config.unet.model_channels * config.unet.channel_mult[-1]
        self.middle_block_out = TimestepEmbedSequential(nn.Conv2d(middle, middle, 1))

    @property
    def dtype(self) -> torch.dtype:
        return self.zero_convs[0][0].weight.dtype

    def forward(self, x: torch.Tensor, hint: torch.Tensor, timesteps: torch.Tensor,
                context: torch.Tensor | None = None, y: torch.Tensor | None = None) -> dict[str, list[torch.Tensor]]:
        """Residuals for latents `x` [B,C,H,W] and `hint` [B,3,8H,8W] (pixels in 0..1)."""
        if (y is None) != (self.config.unet.adm_in_channels is None):
            raise ValueError("y (the SDXL vector conditioning) is required exactly when the ControlNet has label_emb")
        dtype = self.dtype
        emb = self.time_embed(timestep_embedding(timesteps, self.config.unet.model_channels).to(dtype))
        guided = self.input_hint_block(hint.to(dtype), emb, context)
        if y is not None:
            emb = emb + self.label_emb(y.to(dtype))
        h = x.to(dtype)
        outputs = []
        for index, (block, zero_conv) in enumerate(zip(self.input_blocks, self.zero_convs, strict=True)):
            h = block(h, emb, context)
            if index == 0:
                if guided.shape[1:] != h.shape[1:] or guided.shape[0] not in (1, h.shape[0]):
                    raise ValueError(f"the hint image gives features of shape {tuple(guided.shape)} but the latent "
                                     f"gives {tuple(h.shape)}: the hint must be 8x the latent size (batch 1 or the "
                                     f"latent's)")
                h = h + guided
            outputs.append(zero_conv(h, emb, context))
        h = self.middle_block(h, emb, context)
        return {"output": outputs, "middle": [self.middle_block_out(h, emb, context)]}


def _block_channels(block: nn.Module) -> int:
    """Output channels of one input block: those of its first module's last convolution."""
    convs = [m for m in block[0].modules() if isinstance(m, nn.Conv2d)]
    return convs[-1].out_channels
