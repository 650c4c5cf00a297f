"""Input checks and small helpers shared by the mask nodes.

A MASK is float [B, H, W] in 0..1 where 1 marks the area to change; a single mask [H, W]
is accepted too and read as a batch of one, as ComfyUI's mask nodes do.
"""

from __future__ import annotations

import math
from typing import Any

from nodes.api.lazy import lazy_import

torch = lazy_import("torch")


def require_mask(value: Any, node: str, name: str = "mask") -> torch.Tensor:
    """`value` as a MASK batch [B, H, W] (a [H, W] mask becomes [1, H, W]), else a clear error."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{node}: input '{name}' must be a MASK tensor [batch, height, width], "
                        f"got {type(value).__name__}")
    if value.ndim not in (2, 3) or min(value.shape) == 0:
        raise ValueError(f"{node}: input '{name}' must be a MASK tensor [batch, height, width] or [height, width] "
                         f"with no empty dimension, got shape {tuple(value.shape)}")
    return value.reshape(-1, value.shape[-2], value.shape[-1])


def repeat_to_batch(tensor: torch.Tensor, batch: int) -> torch.Tensor:
    """`tensor` with its first dimension cut or repeated (cyclically) to `batch` entries."""
    if tensor.shape[0] > batch:
        return tensor[:batch]
    if tensor.shape[0] < batch:
        copies = math.ceil(batch / tensor.shape[0])
        return tensor.repeat(copies, *([1] * (tensor.ndim - 1)))[:batch]
    return tensor


def resize_planes(planes: torch.Tensor, height: int, width: int, mode: str = "bilinear") -> torch.Tensor:
    """Channel-first planes [B, C, H, W] resized to height x width with torch's interpolate (no corner alignment)."""
    if tuple(planes.shape[-2:]) == (height, width):
        return planes
    return torch.nn.functional.interpolate(planes, size=(height, width), mode=mode)
