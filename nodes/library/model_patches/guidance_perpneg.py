"""Perp-Neg (ComfyUI's PerpNeg and PerpNegGuider): guidance away from the negative prompt's part that is
perpendicular to the positive one, both measured from an empty prompt's prediction.

PerpNeg (deprecated in ComfyUI) patches the model's cfg function and runs the empty prompt as one more
model call; PerpNegGuider is a GUIDER for SamplerCustomAdvanced that evaluates positive, negative and
empty together. The formula: diffusion/sampling/guiders.py `perp_neg`.
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Float, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.model_patches.checks import number
from nodes.library.sampling.ksampler import require_conditioning, require_model

model_hooks = lazy_import("diffusion.sampling.model_hooks")
rules = lazy_import("diffusion.sampling.guidance_rules")
discrete = lazy_import("diffusion.sampling.discrete")
guided = lazy_import("diffusion.sampling.guided")


def _neg_scale() -> Float:
    return Float("neg_scale", default=1.0, min=0.0, max=100.0, step=0.01)


class PerpNeg(Node):
    node_id = "PerpNeg"
    display_name = "Perp-Neg (DEPRECATED by PerpNegGuider)"
    category = "_for_testing"
    experimental = True
    deprecated = True
    inputs = [Socket("MODEL", "model"), Socket("CONDITIONING", "empty_conditioning"), _neg_scale()]
    outputs = [Out("MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, empty_conditioning: Any, neg_scale: float) -> tuple:
        node = cls.node_id
        model = require_model(model, node)
        empty = require_conditioning(empty_conditioning, node, "empty_conditioning")
        neg_scale = number(node, "neg_scale", neg_scale, 0.0, 100.0)
        rule = rules.perp_neg_cfg(empty, neg_scale, model.model_info.family, discrete.schedule_of(model))
        return (model_hooks.with_option(model, model_hooks.SAMPLER_CFG_FUNCTION, rule, node),)


class PerpNegGuider(Node):
    node_id = "PerpNegGuider"
    category = "_for_testing"
    experimental = True
    inputs = [Socket("MODEL", "model"), Socket("CONDITIONING", "positive"), Socket("CONDITIONING", "negative"),
              Socket("CONDITIONING", "empty_conditioning"),
              Float("cfg", default=8.0, min=0.0, max=100.0, step=0.1, round=0.01), _neg_scale()]
    outputs = [Out("GUIDER")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, positive: Any, negative: Any, empty_conditioning: Any, cfg: float,
            neg_scale: float) -> tuple:
        node = cls.node_id
        model = require_model(model, node)
        conds = (require_conditioning(positive, node, "positive"), require_conditioning(negative, node, "negative"),
                 require_conditioning(empty_conditioning, node, "empty_conditioning"))
        cfg = number(node, "cfg", cfg, 0.0, 100.0)
        neg_scale = number(node, "neg_scale", neg_scale, 0.0, 100.0)
        return (guided.Guider(model, "perp_neg", conds, cfg=cfg, cfg2=neg_scale),)


NODES = [PerpNeg, PerpNegGuider]
