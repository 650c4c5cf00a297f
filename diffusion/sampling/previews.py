"""Cheap live previews: project a latent to RGB with a per-family linear map (ComfyUI's Latent2RGB).

`latent_to_rgb(x0, latent_format)` takes batch item 0 of the predicted x0 (scaled latent space,
as the sampler callback hands it), applies rgb = latent . factors + bias per pixel, maps [-1, 1]
to [0, 1], clamps and truncates to uint8, giving an H x W x 3 array at latent resolution.
`latent_format` needs `rgb_factors` (one [r, g, b] row per latent channel) and may have
`rgb_bias` ([r, g, b] or None). `encode_preview` turns that array into JPEG/PNG bytes.

TAESD: with `--preview-method taesd` or `auto`, a tiny decoder from models/vae_approx/
(`taesd_decoder` for SD1/SD2, `taesdxl_decoder` for SDXL, the format's `taesd_decoder_name`)
decodes x0 to an 8x larger picture instead (`preview_function`); without the file, latent2rgb.
A file in the small patch-decoder layout (`diffusion/models/taesd/patch_decoder.py`) loads the same way.

`preview_format(model)` is the format whose preview a model gets: its own latent format, except for
the project's demo model (recognised by its weights, `diffusion/demo/preview.py`), whose VAE is not
SD's and which gets its own fitted factors and `latentgraph-demo_decoder`.
"""

from __future__ import annotations

import io
from pathlib import Path

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


# --- TAESD previews (ComfyUI's latent_preview.py TAESDPreviewerImpl) ---------------------------

PREVIEW_FILE_SUFFIXES = (".safetensors", ".pth", ".pt")


def taesd_decoder_path(latent_format, vae_approx_dirs) -> Path | None:
    """The `<taesd_decoder_name>.*` file (taesd_decoder for SD1/SD2, taesdxl_decoder for SDXL) in the
    vae_approx folders, else the format's `bundled_decoder` file (the demo model's ships with the
    project), or None when the format has none or no folder holds it."""
    name = getattr(latent_format, "taesd_decoder_name", None)
    if not name:
        return None
    for folder in vae_approx_dirs:
        for suffix in PREVIEW_FILE_SUFFIXES:
            candidate = Path(folder) / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    bundled = getattr(latent_format, "bundled_decoder", None)
    return Path(bundled) if bundled is not None and Path(bundled).is_file() else None


def load_taesd_decoder(path: str | Path) -> torch.nn.Module:
    """A TAESD decoder, or a patch preview decoder when the file has that layout."""
    from diffusion.checkpoints.checkpoint import load_state_dict
    from diffusion.models.taesd.model import decoder_from_state_dict
    from diffusion.models.taesd.patch_decoder import is_patch_decoder, patch_decoder_from_state_dict

    sd = dict(load_state_dict(path))
    if is_patch_decoder(sd):
        return patch_decoder_from_state_dict(sd, name=Path(path).name)
    return decoder_from_state_dict(sd, name=Path(path).name)


def preview_format(model):
    """The latent format previews of `model` (a MODEL handle) use: the demo model's own preview format
    for the project's demo checkpoint, else `model.model_info.latent_format`."""
    from diffusion.demo.preview import demo_preview_format

    return demo_preview_format(model) or model.model_info.latent_format


def taesd_to_rgb(x0: torch.Tensor, decoder: torch.nn.Module) -> np.ndarray:
    """uint8 [8H, 8W, 3] preview of batch item 0, decoded by a TAESD decoder (output in [0, 1])."""
    if not isinstance(x0, torch.Tensor) or x0.ndim != 4:
        raise ValueError(f"a preview needs a [B, C, H, W] latent, got {getattr(x0, 'shape', type(x0).__name__)}")
    weight = next(decoder.parameters())
    with torch.inference_mode():
        rgb = decoder(x0[:1].detach().to(device=weight.device, dtype=weight.dtype))[0]
    return rgb.float().clamp(0, 1).mul(255).to(torch.uint8).movedim(0, -1).cpu().numpy()


def preview_function(method: str, latent_format, taesd_decoder: torch.nn.Module | None = None):
    """x0 -> uint8 RGB for `method`: None for "none"; TAESD when a decoder is given and the method is
    "auto" or "taesd"; otherwise latent2rgb (None when the format has no rgb_factors)."""
    if method == "none":
        return None
    if taesd_decoder is not None and method in ("auto", "taesd"):
        return lambda x0: taesd_to_rgb(x0, taesd_decoder)
    if getattr(latent_format, "rgb_factors", None) is None:
        return None
    return lambda x0: latent_to_rgb(x0, latent_format)
