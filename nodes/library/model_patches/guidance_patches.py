"""Guidance patch nodes (ComfyUI's RescaleCFG, CFGZeroStar, CFGNorm, PerturbedAttentionGuidance,
SelfAttentionGuidance).

Each returns a clone of its model whose options carry the rule (diffusion/sampling/cfg_patches.py);
the input model is unchanged. The rules run inside the sampler's guided denoiser at every step.
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Float, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.model_patches.checks import number

model_hooks = lazy_import("diffusion.sampling.model_hooks")
cfg_patches = lazy_import("diffusion.sampling.cfg_patches")
sag = lazy_import("diffusion.sampling.self_attention_guidance")


class RescaleCFG(Node):
    node_id = "RescaleCFG"
    category = "advanced/model"
    description = ("Guidance in v space rescaled to the spread of the conditional prediction "
                   "(multiplier 0 = plain CFG); meant for v-prediction and zero-terminal-SNR models.")
    inputs = [Socket("MODEL", "model"), Float("multiplier", default=0.7, min=0.0, max=1.0, step=0.01)]
    outputs = [Out("MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, multiplier: float = 0.7) -> tuple:
        multiplier = number(cls.node_id, "multiplier", multiplier, 0.0, 1.0)
        return (model_hooks.with_option(model, model_hooks.SAMPLER_CFG_FUNCTION, cfg_patches.rescale_cfg(multiplier),
                                        cls.node_id),)


class CFGZeroStar(Node):
    node_id = "CFGZeroStar"
    category = "advanced/guidance"
    description = "CFG-Zero*: scales the unconditional prediction by its optimal projection onto the conditional one."
    inputs = [Socket("MODEL", "model")]
    outputs = [Out("MODEL", name="patched_model")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any) -> tuple:
        return (model_hooks.with_listed_option(model, model_hooks.SAMPLER_POST_CFG_FUNCTION,
                                               cfg_patches.cfg_zero_star(), cls.node_id),)


class CFGNorm(Node):
    node_id = "CFGNorm"
    category = "advanced/guidance"
    description = ("Caps the per-pixel channel norm of the guided prediction at the conditional one's, "
                   "then multiplies by strength.")
    inputs = [Socket("MODEL", "model"), Float("strength", default=1.0, min=0.0, max=100.0, step=0.01)]
    outputs = [Out("MODEL", name="patched_model")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, strength: float = 1.0) -> tuple:
        strength = number(cls.node_id, "strength", strength, 0.0, 100.0)
        return (model_hooks.with_listed_option(model, model_hooks.SAMPLER_POST_CFG_FUNCTION,
                                               cfg_patches.cfg_norm(strength), cls.node_id),)


class PerturbedAttentionGuidance(Node):
    node_id = "PerturbedAttentionGuidance"
    category = "model_patches/unet"
    description = ("Perturbed-Attention Guidance: steers away from the prediction made with the middle block's "
                   "self-attention replaced by identity (one extra model call per step).")
    inputs = [Socket("MODEL", "model"), Float("scale", default=3.0, min=0.0, max=100.0, step=0.01, round=0.01)]
    outputs = [Out("MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, scale: float = 3.0) -> tuple:
        scale = number(cls.node_id, "scale", scale, 0.0, 100.0)
        return (model_hooks.with_listed_option(model, model_hooks.SAMPLER_POST_CFG_FUNCTION,
                                               cfg_patches.perturbed_attention_guidance(scale), cls.node_id),)


class SelfAttentionGuidance(Node):
    node_id = "SelfAttentionGuidance"
    category = "_for_testing"
    description = ("Self-Attention Guidance: blurs the unconditional prediction where the middle block's "
                   "self-attention concentrates and steers away from the model's answer to it. Differs from "
                   "ComfyUI: the attention is recorded in an extra unconditional pass; blur_sigma 0 means no blur.")
    inputs = [Socket("MODEL", "model"), Float("scale", default=0.5, min=-2.0, max=5.0, step=0.01),
              Float("blur_sigma", default=2.0, min=0.0, max=10.0, step=0.1)]
    outputs = [Out("MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, scale: float = 0.5, blur_sigma: float = 2.0) -> tuple:
        scale = number(cls.node_id, "scale", scale, -2.0, 5.0)
        blur_sigma = number(cls.node_id, "blur_sigma", blur_sigma, 0.0, 10.0)
        patched = model_hooks.with_listed_option(model, model_hooks.SAMPLER_POST_CFG_FUNCTION,
                                                 sag.self_attention_guidance(scale, blur_sigma), cls.node_id)
        patched.options[model_hooks.DISABLE_CFG1_OPTIMIZATION] = True
        return (patched,)


NODES = [RescaleCFG, CFGZeroStar, CFGNorm, PerturbedAttentionGuidance, SelfAttentionGuidance]
