"""Resizing of channel-first batches [B, C, H, W], shared by the image and latent nodes.

`resize(samples, width, height, method, crop)` behaves like ComfyUI's
`comfy.utils.common_upscale`: an optional centre crop to the target aspect ratio, then
one of the methods below. Images arrive here moved to channel-first; latents already are.

- "nearest-exact", "bilinear", "area", "bicubic": torch's interpolate (no corner alignment).
- "lanczos": Pillow's Lanczos filter, through 8-bit values as ComfyUI does (images only).
- "bislerp": separable spherical interpolation of each pixel's channel vector (latents):
  the direction is slerped and the length interpolated linearly, which keeps the latent
  statistics better than a plain bilinear blend.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from diffusion.imaging.names import CROP_METHODS, INTERPOLATE_METHODS


def center_crop_to_aspect(samples: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """The centred part of `samples` whose aspect ratio is width:height (ComfyUI's rounding)."""
    old_height, old_width = samples.shape[-2], samples.shape[-1]
    old_aspect = old_width / old_height
    new_aspect = width / height
    x = y = 0
    if old_aspect > new_aspect:
        x = round((old_width - old_width * (new_aspect / old_aspect)) / 2)
    elif old_aspect < new_aspect:
        y = round((old_height - old_height * (old_aspect / new_aspect)) / 2)
    return samples[..., y:old_height - y, x:old_width - x]


def resize(samples: torch.Tensor, width: int, height: int, method: str, crop: str = "disabled") -> torch.Tensor:
    """`samples` [B, C, H, W] resized to height x width with `method`, after an optional centre crop."""
    if samples.ndim != 4:
        raise ValueError(f"resize expects a [batch, channels, height, width] tensor, got shape {tuple(samples.shape)}")
    width, height = int(width), int(height)
    if width < 1 or height < 1:
        raise ValueError(f"cannot resize to {width}x{height}: both sides must be at least 1")
    if crop not in CROP_METHODS:
        raise ValueError(f"unknown crop method {crop!r}; expected one of {list(CROP_METHODS)}")
    if crop == "center":
        samples = center_crop_to_aspect(samples, width, height)
    if method == "bislerp":
        return bislerp(samples, width, height)
    if method == "lanczos":
        return lanczos(samples, width, height)
    if method not in INTERPOLATE_METHODS:
        known = sorted({*INTERPOLATE_METHODS, "bislerp", "lanczos"})
        raise ValueError(f"unknown upscale method {method!r}; expected one of {known}")
    return F.interpolate(samples, size=(height, width), mode=method)


def lanczos(samples: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Pillow's Lanczos resize of every channel, through 8-bit values (0..1 images)."""
    as_bytes = (samples.detach().float().cpu().clamp(0, 1) * 255.0).numpy().astype(np.uint8)
    batch, channels = as_bytes.shape[:2]
    out = np.empty((batch, channels, height, width), dtype=np.float32)
    for b in range(batch):
        for c in range(channels):
            plane = Image.fromarray(np.ascontiguousarray(as_bytes[b, c])).resize((width, height), resample=Image.Resampling.LANCZOS)
            out[b, c] = np.asarray(plane, dtype=np.float32) / 255.0
    return torch.from_numpy(out).to(device=samples.device, dtype=samples.dtype)


def _source_positions(old: int, new: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For each output index: the lower and upper source index and the weight of the upper one.

    Pixel centres are mapped as bilinear interpolation without corner alignment does,
    clamped to the valid range.
    """
    scale = old / new
    position = (torch.arange(new, dtype=torch.float64, device=device) + 0.5) * scale - 0.5
    position = position.clamp(0, old - 1)
    lower = position.floor().to(torch.int64)
    upper = (lower + 1).clamp(max=old - 1)
    weight = (position - lower).to(torch.float32)
    return lower, upper, weight


def slerp_vectors(first: torch.Tensor, second: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of row vectors [N, C] by `weight` [N, 1].

    Directions are slerped and lengths interpolated linearly. Nearly parallel pairs give
    `first`; nearly opposite pairs fall back to a linear blend. Zero vectors have no direction.
    """
    first_norm = first.norm(dim=-1, keepdim=True)
    second_norm = second.norm(dim=-1, keepdim=True)
    first_dir = torch.where(first_norm == 0, torch.zeros_like(first), first / first_norm)
    second_dir = torch.where(second_norm == 0, torch.zeros_like(second), second / second_norm)
    cos_angle = (first_dir * second_dir).sum(dim=-1, keepdim=True)
    angle = torch.acos(cos_angle.clamp(-1.0, 1.0))
    sin_angle = torch.sin(angle)
    blended = (torch.sin((1.0 - weight) * angle) * first_dir + torch.sin(weight * angle) * second_dir) / sin_angle
    blended = blended * (first_norm * (1.0 - weight) + second_norm * weight)
    parallel = cos_angle > 1 - 1e-5
    opposite = cos_angle < 1e-5 - 1
    linear = first * (1.0 - weight) + second * weight
    blended = torch.where(parallel, first, blended)
    return torch.where(opposite, linear, blended)


def _slerp_along_last_axis(samples: torch.Tensor, new_size: int) -> torch.Tensor:
    """Resize the last axis of [B, C, H, W] to `new_size` by slerping channel vectors."""
    lower, upper, weight = _source_positions(samples.shape[-1], new_size, samples.device)
    batch, channels, rows, _ = samples.shape
    first = samples[..., lower].permute(0, 2, 3, 1).reshape(-1, channels)
    second = samples[..., upper].permute(0, 2, 3, 1).reshape(-1, channels)
    weights = weight.reshape(1, 1, new_size).expand(batch, rows, new_size).reshape(-1, 1)
    out = slerp_vectors(first, second, weights)
    return out.reshape(batch, rows, new_size, channels).permute(0, 3, 1, 2)


def bislerp(samples: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Separable slerp resize of a latent batch [B, C, H, W]: width first, then height."""
    dtype = samples.dtype
    work = samples.float()
    work = _slerp_along_last_axis(work, width)
    work = _slerp_along_last_axis(work.transpose(-1, -2), height).transpose(-1, -2)
    return work.contiguous().to(dtype)
