"""The "VAE" of pixel-space models (VAELoader's `pixel_space` choice, ComfyUI's PixelspaceConversionVAE).

It has no weights to speak of: encoding maps an IMAGE [B,H,W,C] in 0..1 to a "latent"
[B,3,H,W] in -1..1 (channels first, RGB only, nothing cropped: the downscale factor is 1), and
decoding maps such a tensor back to 0..1 channels-last, clamped. Tiled encode and decode are the
same maps (a tile of a pointwise map is the map of the tile).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from diffusion.models.vae.handle import VAEHandle, by_item

PIXEL_SPACE = "pixel_space"
CHANNELS = 3


class _Passthrough(nn.Module):
    """One parameter (as ComfyUI's), so the handle has a device and moves like any VAE."""

    def __init__(self) -> None:
        super().__init__()
        self.pixel_space_vae = nn.Parameter(torch.tensor(1.0), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class PixelSpaceVAE(VAEHandle):
    """A VAEHandle whose latent is the image itself, in -1..1."""

    def __init__(self) -> None:
        # VAEHandle's state around a passthrough module instead of an AutoencoderKL (no latent format)
        super().__init__(_Passthrough(), None, source=PIXEL_SPACE)  # type: ignore[arg-type]

    @property
    def downscale(self) -> int:
        return 1

    @property
    def device(self) -> torch.device:
        return self.model.pixel_space_vae.device

    def _latent(self, latent: torch.Tensor) -> torch.Tensor:
        if latent.ndim != 4 or latent.shape[1] != CHANNELS:
            raise ValueError(f"a pixel-space latent must be [batch, 3, height, width], got shape {tuple(latent.shape)}")
        return latent.to(self.device)

    @torch.inference_mode()
    def encode(self, image: torch.Tensor, check_interrupt: Callable[[], None] | None = None) -> torch.Tensor:
        """IMAGE [B,H,W,C] 0..1 -> [B,3,H,W] -1..1."""
        return by_item(self.model, self._pixels(image), check_interrupt).float().cpu()

    @torch.inference_mode()
    def decode(self, latent: torch.Tensor, check_interrupt: Callable[[], None] | None = None) -> torch.Tensor:
        """[B,3,H,W] -1..1 -> IMAGE [B,H,W,3] 0..1 (clamped)."""
        return self._image(by_item(self.model, self._latent(latent), check_interrupt))

    def encode_tiled(self, image: torch.Tensor, tile_size: int = 512, overlap: int = 64,
                     check_interrupt: Callable[[], None] | None = None) -> torch.Tensor:
        return self.encode(image, check_interrupt)

    def decode_tiled(self, latent: torch.Tensor, tile_size: int = 512, overlap: int = 64,
                     check_interrupt: Callable[[], None] | None = None) -> torch.Tensor:
        return self.decode(latent, check_interrupt)
