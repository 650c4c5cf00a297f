"""PatchModelAddDownscale (Kohya deep shrink): diffusion/models/unet/deep_shrink.py.

The sigma window comes from the model's schedule (its model_sampling override, else SD's):
start_percent -> sigma_start, end_percent -> sigma_end, as ComfyUI's percent_to_sigma.
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Boolean, Combo, Float, Int, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.model_patches.attention_patches import _integer
from nodes.library.model_patches.checks import number

model_hooks = lazy_import("diffusion.sampling.model_hooks")
deep_shrink = lazy_import("diffusion.models.unet.deep_shrink")
discrete = lazy_import("diffusion.sampling.discrete")

METHODS = ["bicubic", "nearest-exact", "bilinear", "area", "bislerp"]


def percent_to_sigma(model: Any, percent: float) -> float:
    """The sigma at `percent` of sampling for `model` (its model_sampling override's schedule, else SD's)."""
    return float(discrete.schedule_of(model).percent_to_sigma(percent))


class PatchModelAddDownscale(Node):
    node_id = "PatchModelAddDownscale"
    display_name = "PatchModelAddDownscale (Kohya Deep Shrink)"
    category = "model_patches/unet"
    description = ("Between start_percent and end_percent of sampling, shrinks the features after input block "
                   "block_number by downscale_factor and scales them back up in the decoder.")
    inputs = [Socket("MODEL", "model"), Int("block_number", default=3, min=1, max=32, step=1),
              Float("downscale_factor", default=2.0, min=0.1, max=9.0, step=0.001),
              Float("start_percent", default=0.0, min=0.0, max=1.0, step=0.001),
              Float("end_percent", default=0.35, min=0.0, max=1.0, step=0.001),
              Boolean("downscale_after_skip", default=True), Combo("downscale_method", METHODS),
              Combo("upscale_method", METHODS)]
    outputs = [Out("MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, block_number: int, downscale_factor: float, start_percent: float,
            end_percent: float, downscale_after_skip: bool, downscale_method: str, upscale_method: str) -> tuple:
        node = cls.node_id
        block_number = _integer(node, "block_number", block_number, 1, 32)
        factor = number(node, "downscale_factor", downscale_factor, 0.1, 9.0)
        start = number(node, "start_percent", start_percent, 0.0, 1.0)
        end = number(node, "end_percent", end_percent, 0.0, 1.0)
        for name, method in (("downscale_method", downscale_method), ("upscale_method", upscale_method)):
            if method not in METHODS:
                raise ValueError(f"{node}: input '{name}' must be one of {', '.join(METHODS)}, got {method!r}")
        if not isinstance(downscale_after_skip, bool):
            raise TypeError(f"{node}: input 'downscale_after_skip' must be a boolean, "
                            f"got {type(downscale_after_skip).__name__}")
        down = deep_shrink.downscale_patch(block_number, factor, percent_to_sigma(model, start),
                                           percent_to_sigma(model, end), downscale_method)
        key = model_hooks.INPUT_BLOCK_PATCH_AFTER_SKIP if downscale_after_skip else model_hooks.INPUT_BLOCK_PATCH
        patched = model_hooks.with_listed_option(model, key, down, node)
        patched.options[model_hooks.OUTPUT_BLOCK_PATCH] = [*model.options.get(model_hooks.OUTPUT_BLOCK_PATCH, ()),
                                                           deep_shrink.upscale_patch(upscale_method)]
        return (patched,)


NODES = [PatchModelAddDownscale]
