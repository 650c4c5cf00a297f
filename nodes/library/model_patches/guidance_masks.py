"""DifferentialDiffusion (ComfyUI's id): a per-step denoise mask from a soft noise mask.

Returns a clone of its model whose options carry the denoise_mask_function
(diffusion/sampling/denoise_masks.py); it acts where the sampler applies the LATENT's noise_mask.
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Float, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.model_patches.checks import number

model_hooks = lazy_import("diffusion.sampling.model_hooks")
denoise_masks = lazy_import("diffusion.sampling.denoise_masks")


class DifferentialDiffusion(Node):
    node_id = "DifferentialDiffusion"
    display_name = "Differential Diffusion"
    category = "_for_testing"
    experimental = True
    description = ("Each latent pixel is repainted from the step whose progress reaches its noise-mask value on "
                   "(the mask as a per-pixel denoise strength); strength < 1 blends in the soft mask.")
    inputs = [Socket("MODEL", "model"), Float("strength", default=1.0, min=0.0, max=1.0, step=0.01, optional=True)]
    outputs = [Out("MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, strength: float = 1.0) -> tuple:
        strength = number(cls.node_id, "strength", strength, 0.0, 1.0)
        return (model_hooks.with_option(model, model_hooks.DENOISE_MASK_FUNCTION,
                                        denoise_masks.differential_diffusion(strength), cls.node_id),)


NODES = [DifferentialDiffusion]
