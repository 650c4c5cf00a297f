"""The TAESD decoder (madebyollin/taesd, taesd.py), laid out so the released files load by key.

`taesd_decoder.safetensors` / `taesdxl_decoder.safetensors` are the state dict of one
nn.Sequential; the index of each module is its key prefix:

    0 Clamp (tanh(x / 3) * 3)   1 conv(C -> 64)   2 ReLU
    3, 4, 5 Block   6 Upsample x2   7 conv (no bias)
    8, 9, 10 Block  11 Upsample x2  12 conv (no bias)
    13, 14, 15 Block 16 Upsample x2 17 conv (no bias)
    18 Block        19 conv(64 -> 3)

A Block is `conv.0`, ReLU, `conv.2`, ReLU, `conv.4` (3x3 convs) plus the input (a 1x1 `skip`
conv only when the widths differ, never here), then ReLU. The decoder maps the latent the
UNet sees (SD: the VAE latent times 0.18215) to RGB in about [0, 1], 8x larger.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

WIDTH = 64


class TaesdError(ValueError):
    """Weights that are not a TAESD decoder; the message says what was expected."""


def conv(n_in: int, n_out: int, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(n_in, n_out, 3, padding=1, bias=bias)


class Clamp(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x / 3) * 3


class Block(nn.Module):
    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(conv(n_in, n_out), nn.ReLU(), conv(n_out, n_out), nn.ReLU(), conv(n_out, n_out))
        self.skip = nn.Conv2d(n_in, n_out, 1, bias=False) if n_in != n_out else nn.Identity()
        self.fuse = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fuse(self.conv(x) + self.skip(x))


def decoder(latent_channels: int = 4) -> nn.Sequential:
    layers: list[nn.Module] = [Clamp(), conv(latent_channels, WIDTH), nn.ReLU()]
    for _ in range(3):
        layers += [Block(WIDTH, WIDTH), Block(WIDTH, WIDTH), Block(WIDTH, WIDTH), nn.Upsample(scale_factor=2),
                   conv(WIDTH, WIDTH, bias=False)]
    layers += [Block(WIDTH, WIDTH), conv(WIDTH, 3)]
    return nn.Sequential(*layers)


def decoder_from_state_dict(sd: Mapping[str, torch.Tensor], *, name: str = "the weights") -> nn.Sequential:
    """A TAESD decoder with `sd` loaded (latent channels read from `1.weight`), in eval mode."""
    if "1.weight" not in sd or len(tuple(sd["1.weight"].shape)) != 4 or "19.weight" not in sd:
        raise TaesdError(f"{name}: not a TAESD decoder (expected the keys 1.weight ... 19.weight of "
                         "madebyollin's taesd_decoder / taesdxl_decoder)")
    model = decoder(int(sd["1.weight"].shape[1]))
    try:
        model.load_state_dict({k: v.float() for k, v in sd.items()}, strict=True)
    except RuntimeError as exc:
        raise TaesdError(f"{name}: not a TAESD decoder ({str(exc).strip().splitlines()[0]} ...)") from None
    return model.eval()
