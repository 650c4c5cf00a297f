"""FreeU and FreeU_V2: re-weight the UNet decoder's backbone and skip features (diffusion/models/unet/freeu.py).

b1/s1 act at the output blocks with 4x the base channel count, b2/s2 at those with 2x. The
clone's options["output_block_patch"] list gains the patch; the input model is unchanged.
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Float, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.model_patches.checks import number

model_hooks = lazy_import("diffusion.sampling.model_hooks")
freeu = lazy_import("diffusion.models.unet.freeu")

FACTOR = {"min": 0.0, "max": 10.0, "step": 0.01}


def _model_channels(model: Any, node: str) -> int:
    config = getattr(getattr(model, "model", None), "config", None)
    channels = getattr(config, "model_channels", None)
    if not isinstance(channels, int):
        raise TypeError(f"{node}: input 'model' must be a MODEL with a UNet (model_channels), "
                        f"got {type(model).__name__}")
    return channels


class _FreeUBase(Node):
    category = "model_patches/unet"
    version = 1
    inputs: list = []

    @classmethod
    def run(cls, ctx: Any, *, model: Any, b1: float, b2: float, s1: float, s2: float) -> tuple:
        values = {name: number(cls.node_id, name, value, 0.0, 10.0)
                  for name, value in (("b1", b1), ("b2", b2), ("s1", s1), ("s2", s2))}
        patch = freeu.freeu_patch(_model_channels(model, cls.node_id), **values, version=cls.version)
        return (model_hooks.with_listed_option(model, model_hooks.OUTPUT_BLOCK_PATCH, patch, cls.node_id),)


class FreeU(_FreeUBase):
    node_id = "FreeU"
    description = "FreeU: multiplies half of the deep decoder features by b and the skips' low frequencies by s."
    inputs = [Socket("MODEL", "model"), Float("b1", default=1.1, **FACTOR), Float("b2", default=1.2, **FACTOR),
              Float("s1", default=0.9, **FACTOR), Float("s2", default=0.2, **FACTOR)]
    outputs = [Out("MODEL")]


class FreeU_V2(_FreeUBase):  # noqa: N801 - ComfyUI's node id
    node_id = "FreeU_V2"
    version = 2
    description = ("FreeU v2: like FreeU, the backbone factor follows each pixel's normalised channel mean "
                   "(1 where it is lowest, b where highest).")
    inputs = [Socket("MODEL", "model"), Float("b1", default=1.3, **FACTOR), Float("b2", default=1.4, **FACTOR),
              Float("s1", default=0.9, **FACTOR), Float("s2", default=0.2, **FACTOR)]
    outputs = [Out("MODEL")]


NODES = [FreeU, FreeU_V2]
