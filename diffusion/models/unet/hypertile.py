"""HyperTile: self-attention computed inside tiles of the feature map (tfernd/HyperTile, as ComfyUI's node).

At the transformers whose width is model_channels * 2^d for d <= max_depth, the self-attention
tokens [B, H*W, C] are cut into nh x nw tiles of the (H, W) map; each tile attends only to itself
(an `attn1_patch` moves the tiles into the batch, the `attn1_output_patch` puts them back).
The tile counts follow ComfyUI: nh is H divided by one of its `swap_size` smallest divisors that
are at least the latent tile size (max(32, tile_size) // 8, times 2^(C / model_channels - 1) with
scale_depth), picked by a generator seeded with a call counter; so is nw. A tile size that covers
the whole map gives one tile: the identity.

Differs from ComfyUI: the rows and columns are those of the feature map (ComfyUI swaps them for
non-square latents), and keys and values are tiled with the queries (ComfyUI's attention splits
the untiled keys into contiguous runs of tokens instead of the same tiles).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import torch


def random_divisor(value: int, min_value: int, max_options: int, counter: int) -> int:
    """value // d for one of the `max_options` smallest divisors d of value with d >= min(min_value, value)."""
    low = min(min_value, value)
    divisors = [d for d in range(low, value + 1) if value % d == 0]
    options = [value // d for d in divisors[:max_options]]
    return options[random.Random(counter).randint(0, len(options) - 1)]


def map_size(tokens: int, original_shape: list[int]) -> tuple[int, int]:
    """(rows, cols) with rows * cols = tokens and the aspect ratio of the [.., H, W] `original_shape`."""
    height, width = original_shape[-2], original_shape[-1]
    scale = math.sqrt(height * width / tokens)
    rows = round(height / scale)
    if rows > 0 and tokens % rows == 0:
        return rows, tokens // rows
    pairs = [(r, tokens // r) for r in range(1, tokens + 1) if tokens % r == 0]
    return min(pairs, key=lambda pair: abs(pair[1] / pair[0] - width / height))


def to_tiles(x: torch.Tensor, rows: int, cols: int, nh: int, nw: int) -> torch.Tensor:
    """[B, rows*cols, C] (row-major) -> [B*nh*nw, (rows/nh)*(cols/nw), C], tile by tile."""
    batch, _, channels = x.shape
    x = x.reshape(batch, nh, rows // nh, nw, cols // nw, channels).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(batch * nh * nw, (rows // nh) * (cols // nw), channels)


def from_tiles(x: torch.Tensor, rows: int, cols: int, nh: int, nw: int) -> torch.Tensor:
    """The inverse of `to_tiles`."""
    channels = x.shape[-1]
    batch = x.shape[0] // (nh * nw)
    x = x.reshape(batch, nh, nw, rows // nh, cols // nw, channels).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(batch, rows * cols, channels)


def hypertile_patches(model_channels: int, tile_size: int, swap_size: int, max_depth: int,
                      scale_depth: bool) -> tuple[Callable, Callable]:
    """The (attn1_patch, attn1_output_patch) pair of HyperTile."""
    widths = {model_channels * 2 ** depth for depth in range(max_depth + 1)}
    latent_tile = max(32, tile_size) // 8
    state: dict = {"counter": 1, "tiles": None}

    def tile_in(n: torch.Tensor, context, value, info: dict):
        if n.shape[-1] not in widths or context is not None or value is not None:
            return n, context, value
        rows, cols = map_size(n.shape[1], info["original_shape"])
        factor = 2 ** (n.shape[-1] // model_channels - 1) if scale_depth else 1
        nh = random_divisor(rows, latent_tile * factor, swap_size, state["counter"])
        nw = random_divisor(cols, latent_tile * factor, swap_size, state["counter"] + 1)
        state["counter"] += 2
        if nh * nw > 1:
            state["tiles"] = (rows, cols, nh, nw)
            n = to_tiles(n, rows, cols, nh, nw)
        return n, context, value

    def tile_out(out: torch.Tensor, info: dict) -> torch.Tensor:
        tiles, state["tiles"] = state["tiles"], None
        return out if tiles is None else from_tiles(out, *tiles)

    return tile_in, tile_out
