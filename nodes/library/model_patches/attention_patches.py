"""HyperTile and TomePatchModel: cheaper self-attention at the high-resolution UNet transformers.

HyperTile (diffusion/models/unet/hypertile.py) attends inside tiles of the feature map; ToMe
(diffusion/models/unet/tome.py) merges similar query tokens. Both add an attn1_patch and an
attn1_output_patch to a clone of the model; the input model is unchanged.
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Boolean, Float, Int, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.model_patches.checks import number
from nodes.library.model_patches.unet_patches import _model_channels

model_hooks = lazy_import("diffusion.sampling.model_hooks")
hypertile = lazy_import("diffusion.models.unet.hypertile")
tome = lazy_import("diffusion.models.unet.tome")


def _integer(node: str, name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{node}: input '{name}' must be an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{node}: input '{name}' must be between {low} and {high}, got {value}")
    return value


def _with_attn1_pair(model: Any, patches: tuple, node: str) -> Any:
    patched = model_hooks.with_listed_option(model, model_hooks.ATTN1_PATCH, patches[0], node)
    patched.options[model_hooks.ATTN1_OUTPUT_PATCH] = [*model.options.get(model_hooks.ATTN1_OUTPUT_PATCH, ()),
                                                       patches[1]]
    return patched


class HyperTile(Node):
    node_id = "HyperTile"
    category = "model_patches/unet"
    description = ("Self-attention inside tiles of about tile_size pixels at the transformers of the first "
                   "max_depth + 1 resolutions (the tiling is re-drawn among swap_size choices at every call).")
    inputs = [Socket("MODEL", "model"), Int("tile_size", default=256, min=1, max=2048),
              Int("swap_size", default=2, min=1, max=128), Int("max_depth", default=0, min=0, max=10),
              Boolean("scale_depth", default=False)]
    outputs = [Out("MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, tile_size: int, swap_size: int, max_depth: int, scale_depth: bool) -> tuple:
        tile_size = _integer(cls.node_id, "tile_size", tile_size, 1, 2048)
        swap_size = _integer(cls.node_id, "swap_size", swap_size, 1, 128)
        max_depth = _integer(cls.node_id, "max_depth", max_depth, 0, 10)
        if not isinstance(scale_depth, bool):
            raise TypeError(f"{cls.node_id}: input 'scale_depth' must be a boolean, got {type(scale_depth).__name__}")
        patches = hypertile.hypertile_patches(_model_channels(model, cls.node_id), tile_size, swap_size, max_depth,
                                              scale_depth)
        return (_with_attn1_pair(model, patches, cls.node_id),)


class TomePatchModel(Node):
    node_id = "TomePatchModel"
    category = "model_patches/unet"
    description = ("Token merging: at the full-resolution transformers, the most similar ratio of the self-attention "
                   "queries are merged before attention and copied back after it (0 = off).")
    inputs = [Socket("MODEL", "model"), Float("ratio", default=0.3, min=0.0, max=1.0, step=0.01)]
    outputs = [Out("MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, ratio: float) -> tuple:
        ratio = number(cls.node_id, "ratio", ratio, 0.0, 1.0)
        return (_with_attn1_pair(model, tome.tome_patches(ratio), cls.node_id),)


NODES = [HyperTile, TomePatchModel]
