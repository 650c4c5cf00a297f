"""Tiled VAE encode and decode: bounded memory for large images.

The input is cut into overlapping tiles; each tile's result is weighted by a mask that ramps
up across the overlap, and the weighted sum is divided by the summed weights, so seams
blend smoothly (and a pointwise function gives exactly its untiled result).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from diffusion.models.vae.vae import AutoencoderKL


def _starts(length: int, tile: int, stride: int, align: int) -> list[int]:
    """Tile starts covering 0..length, multiples of `align`, the last flush with the end."""
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, stride))
    last = (length - tile) // align * align
    if last + tile < length:  # cannot align the last tile flush: extend coverage with the end itself
        last = length - tile
    if not starts or starts[-1] != last:
        starts.append(last)
    return starts


def _ramp(length: int, overlap: int, device: torch.device) -> torch.Tensor:
    """1-D blending weights: rising over `overlap` at both ends, 1 in the middle, never 0."""
    index = torch.arange(length, dtype=torch.float32, device=device)
    if overlap <= 0:
        return torch.ones(length, device=device)
    rise = (index + 1) / (overlap + 1)
    fall = (length - index) / (overlap + 1)
    return torch.clamp(torch.minimum(rise, fall), max=1.0)


def tiled_apply(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, *, tile: int, overlap: int,
                scale: float, out_channels: int, align: int = 1,
                check_interrupt: Callable[[], None] | None = None) -> torch.Tensor:
    """Apply `fn` (mapping [B,C,h,w] to [B,out_channels,h*scale,w*scale]) tile by tile and blend.

    `tile` and `overlap` are in input pixels; tile starts are multiples of `align`.
    `check_interrupt` (optional) is called before each tile and stops the work by raising.
    """
    if overlap < 0 or tile <= 0 or overlap >= tile:
        raise ValueError(f"need 0 <= overlap < tile, got tile={tile}, overlap={overlap}")
    batch, _, height, width = x.shape
    out_h, out_w = round(height * scale), round(width * scale)
    total = torch.zeros(batch, out_channels, out_h, out_w, dtype=torch.float32, device=x.device)
    weights = torch.zeros(1, 1, out_h, out_w, dtype=torch.float32, device=x.device)
    stride = max(align, (tile - overlap) // align * align)
    blend = round(overlap * scale)
    for top in _starts(height, tile, stride, align):
        for left in _starts(width, tile, stride, align):
            if check_interrupt is not None:
                check_interrupt()
            piece = fn(x[:, :, top:top + tile, left:left + tile]).float()
            ph, pw = piece.shape[-2:]
            oy, ox = round(top * scale), round(left * scale)
            mask = _ramp(ph, blend, x.device)[:, None] * _ramp(pw, blend, x.device)[None, :]
            total[:, :, oy:oy + ph, ox:ox + pw] += piece * mask
            weights[:, :, oy:oy + ph, ox:ox + pw] += mask
    return total / weights


def encode_tiled(vae: AutoencoderKL, pixels: torch.Tensor, tile_size: int = 512, overlap: int = 64, *,
                 check_interrupt: Callable[[], None] | None = None) -> torch.Tensor:
    """`vae.encode` over overlapping pixel tiles of `tile_size` (pixels, multiples of the downscale)."""
    factor = vae.config.downscale
    return tiled_apply(vae.encode, pixels, tile=tile_size, overlap=overlap, scale=1.0 / factor,
                       out_channels=vae.config.embed_dim, align=factor, check_interrupt=check_interrupt)


def decode_tiled(vae: AutoencoderKL, latent: torch.Tensor, tile_size: int = 64, overlap: int = 8, *,
                 check_interrupt: Callable[[], None] | None = None) -> torch.Tensor:
    """`vae.decode` over overlapping latent tiles of `tile_size` (latent pixels)."""
    return tiled_apply(vae.decode, latent, tile=tile_size, overlap=overlap, scale=float(vae.config.downscale),
                       out_channels=vae.config.out_channels, check_interrupt=check_interrupt)
