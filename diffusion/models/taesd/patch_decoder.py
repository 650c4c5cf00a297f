"""A very small preview decoder: a few 3x3 convs at latent resolution, then each latent pixel's
8x8 RGB patch (a 1x1 conv to 3 * 8 * 8 values and PixelShuffle). Used where TAESD's decoder is too
slow to train (the demo model's preview, `diffusion/demo/preview_train.py`).

Layout (the state-dict keys are the nn.Sequential indices, as in TAESD's files):

    0 conv3x3(C -> W)  1 ReLU  2 conv3x3(W -> W)  3 ReLU  4 conv1x1(W -> 3 * 8 * 8)  5 PixelShuffle(8)

Input: the latent the UNet sees (model space); output: RGB in about [0, 1], 8x larger, like TAESD.
The widths are read from the weights' shapes.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

PATCH = 8
KEYS = ("0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias")


def patch_decoder(latent_channels: int = 4, width: int = 64) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(latent_channels, width, 3, padding=1), nn.ReLU(),
        nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
        nn.Conv2d(width, 3 * PATCH * PATCH, 1), nn.PixelShuffle(PATCH),
    )


def is_patch_decoder(sd: Mapping) -> bool:
    """True when `sd` has exactly this layout's keys (and a 192-row output conv)."""
    return set(sd.keys()) == set(KEYS) and tuple(sd["4.weight"].shape)[0] == 3 * PATCH * PATCH


def patch_decoder_from_state_dict(sd: Mapping[str, torch.Tensor], *, name: str = "the weights") -> nn.Sequential:
    """The decoder with `sd` loaded (widths from the shapes of `0.weight`), in eval mode."""
    if not is_patch_decoder(sd):
        raise ValueError(f"{name}: not a patch preview decoder (expected exactly the keys {', '.join(KEYS)})")
    width, channels = (int(n) for n in sd["0.weight"].shape[:2])
    model = patch_decoder(channels, width)
    try:
        model.load_state_dict({k: v.float() for k, v in sd.items()}, strict=True)
    except RuntimeError as exc:
        raise ValueError(f"{name}: not a patch preview decoder ({str(exc).strip().splitlines()[0]} ...)") from None
    return model.eval().requires_grad_(False)
