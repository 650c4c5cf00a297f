"""Cheap live previews: project a latent to RGB with a per-family linear map (ComfyUI's Latent2RGB).

`latent_to_rgb(x0, latent_format)` takes batch item 0 of the predicted x0 (scaled latent space,
as the sampler callback hands it), applies rgb = latent . factors + bias per pixel, maps [-1, 1]
to [0, 1], clamps and truncates to uint8, giving an H x W x 3 array at latent resolution.
`latent_format` needs `rgb_factors` (one [r, g, b] row per latent channel) and may have
`rgb_bias` ([r, g, b] or None). `encode_preview` turns that array into JPEG/PNG bytes.
"""

from __future__ import annotations

import io

import numpy as np
import torch


def latent_to_rgb(x0: torch.Tensor, latent_format) -> np.ndarray:
    """uint8 [H, W, 3] preview of batch item 0 of a [B, C, H, W] latent."""
    if not isinstance(x0, torch.Tensor) or x0.ndim != 4:
        raise ValueError(f"a preview needs a [B, C, H, W] latent, got {getattr(x0, 'shape', type(x0).__name__)}")
    factors = torch.tensor(latent_format.rgb_factors, dtype=torch.float32)
    if factors.ndim != 2 or factors.shape[1] != 3 or factors.shape[0] != x0.shape[1]:
        raise ValueError(f"rgb_factors must be {x0.shape[1]} rows of [r, g, b] for this latent, "
                         f"got shape {tuple(factors.shape)}")
    bias = getattr(latent_format, "rgb_bias", None)
    first = x0[0].detach().float().cpu().movedim(0, -1)  # [H, W, C]
    rgb = first @ factors
    if bias is not None:
        rgb = rgb + torch.tensor(bias, dtype=torch.float32)
    scaled = ((rgb + 1.0) / 2.0).clamp(0, 1).mul(255)
    return scaled.to(torch.uint8).numpy()


def encode_preview(rgb: np.ndarray, image_format: str = "JPEG", quality: int = 95) -> bytes:
    """Encode an [H, W, 3] uint8 array as JPEG or PNG bytes (what graph.context.PreviewImage carries)."""
    from PIL import Image

    if image_format not in ("JPEG", "PNG"):
        raise ValueError(f"preview format must be 'JPEG' or 'PNG', got {image_format!r}")
    buffer = io.BytesIO()
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"a preview must be a uint8 [H, W, 3] array, got {rgb.dtype} {rgb.shape}")
    image = Image.fromarray(rgb)
    if image_format == "JPEG":
        image.save(buffer, format="JPEG", quality=quality)
    else:
        image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
