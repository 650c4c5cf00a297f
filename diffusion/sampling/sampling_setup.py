"""What every sampling run sets up before its loop: the latent checked against the model, the noise
mask at latent size, the device, the UNet call, and the inpainting models' extra input channels.

`sample.py` (KSampler, SamplerCustom) and `guided.py` (SamplerCustomAdvanced) share these; the
one sampling loop setup is `guided.sample_guided`.
"""

from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F

from diffusion.sampling.conds import repeat_to_batch_size
from diffusion.sampling.inpaint_concat import inpaint_concat


def fit_latent_channels(model, latent: torch.Tensor) -> torch.Tensor:
    """The latent checked against the model: an empty latent is widened, other mismatches raise."""
    if not isinstance(latent, torch.Tensor) or latent.ndim != 4:
        shape = tuple(latent.shape) if isinstance(latent, torch.Tensor) else type(latent).__name__
        raise ValueError(f"latent must be a [batch, channels, height, width] tensor, got {shape}")
    if 0 in latent.shape:
        raise ValueError(f"latent has an empty dimension: {tuple(latent.shape)}")
    info = model.model_info
    channels = int(info.latent_format.channels)
    if latent.shape[1] == channels:
        return latent
    if torch.count_nonzero(latent) == 0:
        return repeat_to_batch_size(latent, channels, dim=1)
    raise ValueError(f"the latent has {latent.shape[1]} channels but the {info.family} model expects {channels}; "
                     f"was it encoded with the VAE of another model family?")


def prepare_noise_mask(mask: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """A noise mask of any size resized (bilinear) to [B, C, H, W] of the latent."""
    if not isinstance(mask, torch.Tensor) or mask.ndim not in (2, 3, 4) or mask.numel() == 0:
        got = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValueError(f"noise_mask must be a [H, W], [B, H, W] or [B, 1, H, W] tensor, got {got}")
    mask = mask.float().reshape(-1, 1, mask.shape[-2], mask.shape[-1])
    if tuple(mask.shape[2:]) != tuple(shape[2:]):
        mask = F.interpolate(mask, size=tuple(shape[2:]), mode="bilinear", align_corners=False)
    mask = mask.expand(-1, shape[1], -1, -1)
    return repeat_to_batch_size(mask, shape[0]).contiguous()


def device_of(model, latent: torch.Tensor) -> torch.device:
    """Where the model's weights are (`current_device()`, else `.device`), else the latent's device."""
    current = getattr(model, "current_device", None)
    device = current() if callable(current) else getattr(model, "device", None)
    return device if isinstance(device, torch.device) else latent.device


def unet_call(model):
    """The function that runs the model's UNet: its `apply`, else the model itself."""
    apply = getattr(model, "apply", None)
    if callable(apply):
        return apply
    if callable(model):
        return model
    raise TypeError(f"{type(model).__name__} has no apply() and is not callable: cannot run its UNet")


def is_inpaint_model(info) -> bool:
    """Inpainting UNets take extra input channels (detection's `is_inpaint`, else the family name)."""
    flag = getattr(info, "is_inpaint", None)
    return bool(flag) if flag is not None else str(info.family).endswith("-inpaint")


def with_concat(cond, latent_image, mask, scale):
    """`cond` with the inpainting model's concat channels (mask and masked latent) set."""
    concat = inpaint_concat(cond.options, latent_image=latent_image, noise_mask=mask, process_in=lambda t: t * scale)
    return replace(cond, concat=concat)
