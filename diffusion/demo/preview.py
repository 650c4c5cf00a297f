"""Live previews of the demo model: its own latent2rgb factors and preview decoder.

The demo checkpoint is an SD1.x file (family "sd15", SD's latent scale), but its VAE is the
project's own, so SD's latent2rgb factors turn its latents into a dark blob on white. Previews of
the demo model use `DEMO_PREVIEW_FORMAT` instead: least-squares latent -> RGB factors and bias
fitted on the demo VAE's decodes, and a patch decoder (for --preview-method auto / taesd) shipped
beside this module as `latentgraph-demo_decoder.safetensors` (a `latentgraph-demo_decoder.*` file
in models/vae_approx/ takes precedence). Both are made by `python -m diffusion.demo.preview_train`.

The demo model is recognised by its weights: the SHA-256 of its UNet's last conv (`out.2.weight`,
as float16). The factors and the decoder belong to that one VAE, so a retrained demo checkpoint
(another fingerprint) falls back to SD's preview until they are fitted again; the demo tests fail
loudly in that case.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch

from diffusion.models.latent_formats import SD15_FORMAT, LatentFormat

DEMO_DECODER_NAME = "latentgraph-demo_decoder"
BUNDLED_DECODER = Path(__file__).with_name(f"{DEMO_DECODER_NAME}.safetensors")
FINGERPRINT_KEY = "out.2.weight"

# Written by `python -m diffusion.demo.preview_train` (seed 0) for models/checkpoints/latentgraph-demo.safetensors.
DEMO_UNET_FINGERPRINT = "7c9c7a390267f21b75bf0a83ddd4a80a46c75f212776a0911f29ff3acc43ac9a"
DEMO_RGB_FACTORS = (
    (2.0925, 1.4144, 0.8345),
    (0.2790, -0.2201, -0.9949),
    (2.5859, 1.0527, 0.0182),
    (-0.7577, -0.7401, -1.2287),
)
DEMO_RGB_BIAS = (0.1110, 0.0104, 0.0678)



@dataclass(frozen=True)
class BundledPreviewFormat(LatentFormat):
    """A latent format whose preview decoder ships with the project (`bundled_decoder`), used when
    no models/vae_approx/ folder holds a `<taesd_decoder_name>.*` file."""

    bundled_decoder: Path | None = None


DEMO_PREVIEW_FORMAT = BundledPreviewFormat(
    name="latentgraph-demo", scale_factor=SD15_FORMAT.scale_factor, channels=SD15_FORMAT.channels,
    rgb_factors=DEMO_RGB_FACTORS, rgb_bias=DEMO_RGB_BIAS, taesd_decoder_name=DEMO_DECODER_NAME,
    bundled_decoder=BUNDLED_DECODER,
)


def unet_fingerprint(unet: torch.nn.Module) -> str | None:
    """SHA-256 of the UNet's `out.2.weight` as float16 bytes, or None when it has no such weight."""
    try:
        weight = unet.get_parameter(FINGERPRINT_KEY)
    except (AttributeError, TypeError):
        return None
    data = weight.detach().to("cpu", torch.float16).contiguous().numpy().tobytes()
    return hashlib.sha256(data).hexdigest()


def is_demo_model(model) -> bool:
    """True for a MODEL handle whose base UNet is the shipped demo checkpoint's."""
    unet = getattr(model, "model", None)
    if not isinstance(unet, torch.nn.Module):
        return False
    return unet_fingerprint(unet) == DEMO_UNET_FINGERPRINT


def demo_preview_format(model) -> LatentFormat | None:
    """DEMO_PREVIEW_FORMAT for the demo model, None for any other model."""
    return DEMO_PREVIEW_FORMAT if is_demo_model(model) else None
