"""FreeU: re-weighting the UNet decoder's backbone features and skip connections (Si et al., 2023).

At the output blocks whose backbone features h have 4x or 2x the base channel count (the two
deepest decoder stages of SD), before h is joined with the skip connection:
- the first half of h's channels is multiplied by b (FreeU), or by 1 + (b - 1) * m where m is
  the channel mean of h rescaled to [0, 1] per image (FreeU_V2);
- the skip connection's centred 2x2 lowest spatial frequencies (after fftshift) are multiplied by s.
b = 1 and s = 1 leave the UNet unchanged. The patch runs as a UNet `output_block_patch`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

FOURIER_THRESHOLD = 1


def fourier_filter(x: torch.Tensor, threshold: int, scale: float) -> torch.Tensor:
    """x with the centred (2 * threshold)^2 low frequencies of each [H, W] plane scaled by `scale`."""
    freq = torch.fft.fftshift(torch.fft.fftn(x.float(), dim=(-2, -1)), dim=(-2, -1))
    height, width = freq.shape[-2:]
    mask = torch.ones(freq.shape[-2:], device=x.device)
    row, col = height // 2, width // 2
    mask[max(row - threshold, 0):row + threshold, max(col - threshold, 0):col + threshold] = scale
    freq = torch.fft.ifftshift(freq * mask, dim=(-2, -1))
    return torch.fft.ifftn(freq, dim=(-2, -1)).real.to(x.dtype)


def _scales(model_channels: int, b1: float, b2: float, s1: float, s2: float) -> dict[int, tuple[float, float]]:
    return {model_channels * 4: (b1, s1), model_channels * 2: (b2, s2)}


def freeu_patch(model_channels: int, b1: float, b2: float, s1: float, s2: float, *,
                version: int = 1) -> Callable:
    """The output_block_patch fn(h, skip, info) -> (h, skip) of FreeU (version 1) or FreeU_V2 (version 2)."""
    scales = _scales(model_channels, b1, b2, s1, s2)

    def patch(h: torch.Tensor, skip: torch.Tensor, info: dict) -> tuple[torch.Tensor, torch.Tensor]:
        scale = scales.get(int(h.shape[1]))
        if scale is None:
            return h, skip
        backbone, skip_scale = scale
        half = h.shape[1] // 2
        factor = backbone if version == 1 else 1.0 + (backbone - 1.0) * _normalised_mean(h)
        h = torch.cat([h[:, :half] * factor, h[:, half:]], dim=1)
        return h, fourier_filter(skip, FOURIER_THRESHOLD, skip_scale)

    return patch


def _normalised_mean(h: torch.Tensor) -> torch.Tensor:
    """The channel mean of h [B, 1, H, W], min-max rescaled to [0, 1] per image."""
    mean = h.mean(1, keepdim=True)
    flat = mean.reshape(mean.shape[0], -1)
    low = flat.min(dim=1).values.reshape(-1, 1, 1, 1)
    high = flat.max(dim=1).values.reshape(-1, 1, 1, 1)
    return (mean - low) / (high - low)
