"""EasyCache and LazyCache: skip model evaluations whose input barely changed (diffusion/models/unet/step_cache.py).

EasyCache wraps the UNet call (options["diffusion_model_wrapper"]), LazyCache the whole
evaluation x -> denoised (options["model_function_wrapper"]); the sigma window comes from the
model's schedule at start_percent / end_percent. The clone carries the cache; the input is unchanged.
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Boolean, Float, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.model_patches.checks import number
from nodes.library.model_patches.downscale_patches import percent_to_sigma

model_hooks = lazy_import("diffusion.sampling.model_hooks")
step_cache = lazy_import("diffusion.models.unet.step_cache")


def _inputs(what: str) -> list:
    return [
        Socket("MODEL", "model", tooltip=f"The model to add {what} to."),
        Float("reuse_threshold", default=0.2, min=0.0, max=3.0, step=0.01,
              tooltip="The threshold for reusing cached steps."),
        Float("start_percent", default=0.15, min=0.0, max=1.0, step=0.01,
              tooltip=f"The relative sampling step to begin use of {what}."),
        Float("end_percent", default=0.95, min=0.0, max=1.0, step=0.01,
              tooltip=f"The relative sampling step to end use of {what}."),
        Boolean("verbose", default=False, tooltip="Whether to log verbose information."),
    ]


class _CacheNode(Node):
    category = "advanced/debug/model"
    experimental = True
    option = ""
    inputs: list = []

    @classmethod
    def run(cls, ctx: Any, *, model: Any, reuse_threshold: float, start_percent: float, end_percent: float,
            verbose: bool) -> tuple:
        node = cls.node_id
        threshold = number(node, "reuse_threshold", reuse_threshold, 0.0, 3.0)
        start = number(node, "start_percent", start_percent, 0.0, 1.0)
        end = number(node, "end_percent", end_percent, 0.0, 1.0)
        if not isinstance(verbose, bool):
            raise TypeError(f"{node}: input 'verbose' must be a boolean, got {type(verbose).__name__}")
        config = getattr(getattr(model, "model", None), "config", None)
        channels = getattr(config, "out_channels", None) if cls.option == "diffusion_model_wrapper" else None
        cache = step_cache.StepCache(node, threshold, percent_to_sigma(model, start), percent_to_sigma(model, end),
                                     verbose, output_channels=channels)
        return (model_hooks.with_option(model, cls.option, cache, node),)


class EasyCache(_CacheNode):
    node_id = "EasyCache"
    display_name = "EasyCache"
    description = "Native EasyCache implementation."
    option = "diffusion_model_wrapper"
    inputs = _inputs("EasyCache")
    outputs = [Out("MODEL", tooltip="The model with EasyCache.")]


class LazyCache(_CacheNode):
    node_id = "LazyCache"
    display_name = "LazyCache"
    description = ("A homebrew version of EasyCache - even 'easier' version of EasyCache to implement. Overall works "
                   "worse than EasyCache, but better in some rare cases AND universal compatibility with everything "
                   "in ComfyUI.")
    option = "model_function_wrapper"
    inputs = _inputs("LazyCache")
    outputs = [Out("MODEL", tooltip="The model with LazyCache.")]


NODES = [EasyCache, LazyCache]
