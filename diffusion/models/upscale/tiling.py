"""Tiled upscaling as ComfyUI's ImageUpscaleWithModel does it (comfy/utils.py tiled_scale).

Tiles of `tile` pixels overlapping by `overlap` cover the image; each is upscaled on its own and
blended into the output with a linear feather of `overlap * scale` output pixels at the tile's
edges, then divided by the summed weights. An image that fits one tile is upscaled whole.

The tile starts at 512 with overlap 32, and halves on out-of-memory down to 128. The memory
estimate (ComfyUI's: parameters + 384 bytes of work per output element of a tile + the input)
also picks the first tile that fits the free memory of the device, so a CPU run (where running
out of memory is not an exception) starts at a size that fits: a 4x upscale of a 2048^2 image
needs the output (8192^2 x 3 floats) plus one tile's work, not the whole image's.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import psutil
import torch

START_TILE = 512
OVERLAP = 32
MIN_TILE = 128
WORK_BYTES_PER_OUTPUT_ELEMENT = 384  # ComfyUI's estimate of an upscaler's activations per output value


def tile_positions(size: int, tile: int, overlap: int) -> list[tuple[int, int]]:
    """(start, length) of each tile along one axis of `size` pixels (ComfyUI's placement)."""
    if size <= tile:
        return [(0, size)]
    starts = range(0, size - overlap, tile - overlap)
    placed = []
    for start in starts:
        start = max(0, min(size - overlap, start))
        placed.append((start, min(tile, size - start)))
    return placed


def tile_count(height: int, width: int, tile: int, overlap: int) -> int:
    if height <= tile and width <= tile:
        return 1
    return len(tile_positions(height, tile, overlap)) * len(tile_positions(width, tile, overlap))


def _feather(length: int, feather: int, device: torch.device) -> torch.Tensor:
    weights = torch.ones(length, device=device)
    if feather >= length:
        return weights
    ramp = torch.arange(1, feather + 1, device=device, dtype=torch.float32) / feather
    weights[:feather] *= ramp
    weights[length - feather:] *= ramp.flip(0)
    return weights


def tiled_scale(image: torch.Tensor, function: Callable[[torch.Tensor], torch.Tensor], *, tile: int, overlap: int,
                scale: int, out_channels: int = 3, progress: Callable[[], None] | None = None,
                output_device: torch.device | str = "cpu") -> torch.Tensor:
    """`function` (B,C,h,w -> B,out_channels,h*scale,w*scale) over tiles of `image` (B,C,H,W), blended."""
    if tile <= overlap:
        raise ValueError(f"tile ({tile}) must be larger than overlap ({overlap})")
    batch, _, height, width = image.shape
    out = torch.empty(batch, out_channels, height * scale, width * scale, device=output_device)
    feather = round(overlap * scale)
    for b in range(batch):
        sample = image[b:b + 1]
        if height <= tile and width <= tile:
            out[b:b + 1] = function(sample).to(output_device)
            if progress:
                progress()
            continue
        acc = torch.zeros(1, out_channels, height * scale, width * scale, device=output_device)
        weight = torch.zeros(1, 1, height * scale, width * scale, device=output_device)
        for (y, h), (x, w) in itertools.product(tile_positions(height, tile, overlap),
                                                tile_positions(width, tile, overlap)):
            piece = function(sample[:, :, y:y + h, x:x + w]).to(output_device)
            ph, pw = piece.shape[-2:]
            mask = _feather(ph, feather, piece.device)[:, None] * _feather(pw, feather, piece.device)[None, :]
            oy, ox = y * scale, x * scale
            acc[:, :, oy:oy + ph, ox:ox + pw] += piece * mask
            weight[:, :, oy:oy + ph, ox:ox + pw] += mask
            if progress:
                progress()
        out[b:b + 1] = acc / weight
    return out


def free_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    return int(psutil.virtual_memory().available)


def estimate_bytes(tile: int, *, scale: int, element_size: int, image_shape: tuple[int, ...],
                   parameter_bytes: int) -> int:
    """Memory one tiled upscale needs: the weights, one tile's work, the input and the output (+ weights)."""
    batch, channels, height, width = image_shape
    work = tile * tile * 3 * element_size * max(scale, 1) * WORK_BYTES_PER_OUTPUT_ELEMENT
    output = batch * 3 * height * width * scale * scale * 4
    return parameter_bytes + work + batch * channels * height * width * element_size + output + output // 3


def device_work_bytes(tile: int = START_TILE, *, scale: int, element_size: int, channels: int = 3) -> int:
    """What one tile needs on the compute device beside the weights, for the model manager: the tile's
    activations (ComfyUI's rough 384 bytes per output element, as in `estimate_bytes`) and the tile itself
    (the whole output is assembled on the CPU, so it is not counted here)."""
    return tile * tile * 3 * element_size * max(scale, 1) * WORK_BYTES_PER_OUTPUT_ELEMENT \
        + tile * tile * channels * element_size


def choose_tile(*, scale: int, element_size: int, image_shape: tuple[int, ...], parameter_bytes: int,
                available: int) -> int:
    """The largest of 512, 256, 128 whose estimate fits `available` bytes (128 when none does)."""
    tile = START_TILE
    while tile > MIN_TILE and estimate_bytes(tile, scale=scale, element_size=element_size, image_shape=image_shape,
                                             parameter_bytes=parameter_bytes) > available:
        tile //= 2
    return tile


def upscale_with_oom_retry(image: torch.Tensor, function: Callable[[torch.Tensor], torch.Tensor], *, scale: int,
                           tile: int, overlap: int | None = None, on_tile_size: Callable[[int, int], None] | None = None,
                           progress: Callable[[], None] | None = None) -> tuple[torch.Tensor, int]:
    """tiled_scale from `tile`, halving it after an out-of-memory error down to MIN_TILE; (output, tile used).

    `on_tile_size(tile, steps)` is told the tile and the number of tiles before each attempt."""
    overlap = OVERLAP if overlap is None else overlap
    while True:
        try:
            if on_tile_size:
                on_tile_size(tile, image.shape[0] * tile_count(image.shape[2], image.shape[3], tile, overlap))
            return tiled_scale(image, function, tile=tile, overlap=overlap, scale=scale, progress=progress), tile
        except torch.OutOfMemoryError:
            if tile // 2 < MIN_TILE:
                raise
            tile //= 2
