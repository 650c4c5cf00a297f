"""Kohya's deep shrink (ComfyUI's PatchModelAddDownscale): a smaller feature map in the deep UNet blocks.

While the call's sigma lies in [sigma_end, sigma_start] (the start/end percents of the schedule),
the features after input block `block_number` are resized by 1 / factor (rounded) with
`downscale_method`: before the skip is kept (`input_block_patch`) or after it
(`input_block_patch_after_skip`). Every output block whose backbone features differ in height
from its skip connection resizes them to the skip's size with `upscale_method` first. Outside the
window nothing changes (the output patch then finds equal sizes and does nothing).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from diffusion.imaging.resample import resize

METHODS = ("bicubic", "nearest-exact", "bilinear", "area", "bislerp")


def _check_method(name: str, method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"{name} must be one of {', '.join(METHODS)}, got {method!r}")


def downscale_patch(block_number: int, factor: float, sigma_start: float, sigma_end: float,
                    method: str) -> Callable:
    """The input block patch fn(h, info) -> h of deep shrink (info: "block", "sigmas")."""
    _check_method("downscale_method", method)
    if not factor > 0:
        raise ValueError(f"downscale_factor must be positive, got {factor}")

    def patch(h: torch.Tensor, info: dict) -> torch.Tensor:
        if info["block"][1] != block_number:
            return h
        sigma = float(info["sigmas"][0])
        if not sigma_end <= sigma <= sigma_start:
            return h
        width, height = round(h.shape[-1] / factor), round(h.shape[-2] / factor)
        return resize(h, max(width, 1), max(height, 1), method, "disabled")

    return patch


def upscale_patch(method: str) -> Callable:
    """The output block patch fn(h, skip, info) -> (h, skip) resizing h to the skip's size when they differ."""
    _check_method("upscale_method", method)

    def patch(h: torch.Tensor, skip: torch.Tensor, info: dict) -> tuple[torch.Tensor, torch.Tensor]:
        if h.shape[2] != skip.shape[2]:
            h = resize(h, skip.shape[-1], skip.shape[-2], method, "disabled")
        return h, skip

    return patch
