"""Start every residual branch of a freshly built VAE or UNet at zero, so each block begins as the identity.

A network built with PyTorch's default initialisation adds random residual branches at every
block, and the many GroupNorms of the SD layouts then wash out the flat colours these images are
made of; training has to undo that first. Zeroing the last layer of each branch (the SD/ADM
`zero_module` convention) lets the signal pass straight through at step one: on the demo VAE this
more than halves the reconstruction loss after the same number of steps (0.19 against 0.47 after
630 steps in `train-demo`'s own comparison) and on the UNet the noise prediction starts at zero.

Zeroed: VAE `ResnetBlock.conv2` and `AttnBlock.proj_out`; UNet `ResBlock.out_layers[-1]`,
`SpatialTransformer.proj_out` and the final output convolution. Nothing else is touched, so
keys and shapes (what checkpoint loading sees) stay the same.
"""

from __future__ import annotations

import torch
from torch import nn

from diffusion.models.unet.blocks import ResBlock, SpatialTransformer
from diffusion.models.unet.unet import UNetModel
from diffusion.models.vae.vae import AttnBlock, ResnetBlock


def _zero(layer: nn.Module) -> None:
    with torch.no_grad():
        layer.weight.zero_()
        if getattr(layer, "bias", None) is not None:
            layer.bias.zero_()


def zero_residual_branches(module: nn.Module) -> int:
    """Zero the last layer of every residual branch inside `module`; returns how many layers were zeroed."""
    count = 0
    for block in module.modules():
        if isinstance(block, ResnetBlock):
            _zero(block.conv2)
        elif isinstance(block, AttnBlock | SpatialTransformer):
            _zero(block.proj_out)
        elif isinstance(block, ResBlock):
            _zero(block.out_layers[-1])
        elif isinstance(block, UNetModel):
            _zero(block.out[-1])
        else:
            continue
        count += 1
    return count
