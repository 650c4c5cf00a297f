"""Latent formats: the scale between VAE latents and the sampler's space, and preview colours.

LATENT values passed between nodes are unscaled VAE latents; `process_in` scales them for
the model and `process_out` undoes it. `rgb_factors` (rows = latent channels, columns =
R, G, B) and `rgb_bias` give the cheap latent-to-RGB preview (ComfyUI's Latent2RGB).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class LatentFormat:
    """Scale factor, channel count and linear preview map of one model family's latents."""

    name: str
    scale_factor: float
    channels: int
    rgb_factors: tuple[tuple[float, float, float], ...]
    rgb_bias: tuple[float, float, float] | None = None
    taesd_decoder_name: str | None = None

    def process_in(self, latent: torch.Tensor) -> torch.Tensor:
        """VAE latent -> model space."""
        return latent * self.scale_factor

    def process_out(self, latent: torch.Tensor) -> torch.Tensor:
        """Model space -> VAE latent."""
        return latent / self.scale_factor

    def preview_rgb(self, x0: torch.Tensor) -> torch.Tensor:
        """Latent2RGB preview of batch item 0 of a model-space x0 [B,C,h,w] -> uint8 [h,w,3]."""
        factors = torch.tensor(self.rgb_factors, dtype=torch.float32, device=x0.device)
        rgb = torch.einsum("chw,cr->hwr", x0[0].float(), factors)
        if self.rgb_bias is not None:
            rgb = rgb + torch.tensor(self.rgb_bias, dtype=torch.float32, device=x0.device)
        return (((rgb + 1.0) / 2.0).clamp(0.0, 1.0) * 255.0).round().to(torch.uint8)


SD15_FORMAT = LatentFormat(
    name="sd15",
    scale_factor=0.18215,
    channels=4,
    rgb_factors=(
        (0.3512, 0.2297, 0.3227),
        (0.3250, 0.4974, 0.2350),
        (-0.2829, 0.1762, 0.2721),
        (-0.2120, -0.2616, -0.7177),
    ),
    taesd_decoder_name="taesd_decoder",
)

SDXL_FORMAT = LatentFormat(
    name="sdxl",
    scale_factor=0.13025,
    channels=4,
    rgb_factors=(
        (0.3651, 0.4232, 0.4341),
        (-0.2533, -0.0042, 0.1068),
        (0.1076, 0.1111, -0.0362),
        (-0.3165, -0.2492, -0.2188),
    ),
    rgb_bias=(0.1084, -0.0175, -0.0011),
    taesd_decoder_name="taesdxl_decoder",
)


def latent_format_for(family: str) -> LatentFormat:
    """SDXL_FORMAT for SDXL base and refiner, SD15_FORMAT for SD1.x and SD2.x."""
    return SDXL_FORMAT if family.startswith("sdxl") else SD15_FORMAT
