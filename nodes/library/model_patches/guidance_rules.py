"""Guidance patch nodes that rewrite the predictions before or in place of CFG (ComfyUI's APG, TCFG,
RenormCFG, FreSca, LatentApplyOperationCFG).

Each returns a clone of its model whose options carry the rule (diffusion/sampling/guidance_rules.py
says what each computes); the input model is unchanged.
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Float, Int, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.model_patches.checks import number

model_hooks = lazy_import("diffusion.sampling.model_hooks")
rules = lazy_import("diffusion.sampling.guidance_rules")


def _pre_cfg(model: Any, function: Any, node: str) -> Any:
    return model_hooks.with_listed_option(model, model_hooks.SAMPLER_PRE_CFG_FUNCTION, function, node)


class APG(Node):
    node_id = "APG"
    display_name = "Adaptive Projected Guidance"
    category = "sampling/custom_sampling"
    inputs = [
        Socket("MODEL", "model"),
        Float("eta", default=1.0, min=-10.0, max=10.0, step=0.01,
              tooltip="Controls the scale of the parallel guidance vector. Default CFG behavior at a setting of 1."),
        Float("norm_threshold", default=5.0, min=0.0, max=50.0, step=0.1,
              tooltip="Normalize guidance vector to this value, normalization disable at a setting of 0."),
        Float("momentum", default=0.0, min=-5.0, max=1.0, step=0.01,
              tooltip="Controls a running average of guidance during diffusion, disabled at a setting of 0."),
    ]
    outputs = [Out("MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, eta: float, norm_threshold: float, momentum: float) -> tuple:
        node = cls.node_id
        eta = number(node, "eta", eta, -10.0, 10.0)
        norm_threshold = number(node, "norm_threshold", norm_threshold, 0.0, 50.0)
        momentum = number(node, "momentum", momentum, -5.0, 1.0)
        return (_pre_cfg(model, rules.adaptive_projected_guidance(eta, norm_threshold, momentum), node),)


class TCFG(Node):
    node_id = "TCFG"
    display_name = "Tangential Damping CFG"
    category = "advanced/guidance"
    description = ("TCFG – Tangential Damping CFG (2503.18137)\n\nRefine the uncond (negative) to align with the "
                   "cond (positive) for improving quality.")
    inputs = [Socket("MODEL", "model")]
    outputs = [Out("MODEL", name="patched_model")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any) -> tuple:
        return (_pre_cfg(model, rules.tangential_damping(), cls.node_id),)


class RenormCFG(Node):
    node_id = "RenormCFG"
    category = "advanced/model"
    inputs = [Socket("MODEL", "model"), Float("cfg_trunc", default=100, min=0.0, max=100.0, step=0.01),
              Float("renorm_cfg", default=1.0, min=0.0, max=100.0, step=0.01)]
    outputs = [Out("MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, cfg_trunc: float, renorm_cfg: float) -> tuple:
        cfg_trunc = number(cls.node_id, "cfg_trunc", cfg_trunc, 0.0, 100.0)
        renorm_cfg = number(cls.node_id, "renorm_cfg", renorm_cfg, 0.0, 100.0)
        return (model_hooks.with_option(model, model_hooks.SAMPLER_CFG_FUNCTION,
                                        rules.renorm_cfg(cfg_trunc, renorm_cfg), cls.node_id),)


class FreSca(Node):
    node_id = "FreSca"
    display_name = "FreSca"
    category = "_for_testing"
    experimental = True
    description = "Applies frequency-dependent scaling to the guidance"
    inputs = [
        Socket("MODEL", "model"),
        Float("scale_low", default=1.0, min=0, max=10, step=0.01, tooltip="Scaling factor for low-frequency components"),
        Float("scale_high", default=1.25, min=0, max=10, step=0.01,
              tooltip="Scaling factor for high-frequency components"),
        Int("freq_cutoff", default=20, min=1, max=10000, step=1,
            tooltip="Number of frequency indices around center to consider as low-frequency"),
    ]
    outputs = [Out("MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, scale_low: float, scale_high: float, freq_cutoff: int) -> tuple:
        node = cls.node_id
        scale_low = number(node, "scale_low", scale_low, 0.0, 10.0)
        scale_high = number(node, "scale_high", scale_high, 0.0, 10.0)
        if isinstance(freq_cutoff, bool) or not isinstance(freq_cutoff, int) or not 1 <= freq_cutoff <= 10000:
            raise ValueError(f"{node}: input 'freq_cutoff' must be an integer from 1 to 10000, got {freq_cutoff!r}")
        return (_pre_cfg(model, rules.frequency_scaled_guidance(scale_low, scale_high, freq_cutoff), node),)


class LatentApplyOperationCFG(Node):
    node_id = "LatentApplyOperationCFG"
    category = "latent/advanced/operations"
    experimental = True
    inputs = [Socket("MODEL", "model"), Socket("LATENT_OPERATION", "operation")]
    outputs = [Out("MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, operation: Any) -> tuple:
        if not callable(operation):
            raise TypeError(f"{cls.node_id}: input 'operation' must be a LATENT_OPERATION (a callable), "
                            f"got {type(operation).__name__}")
        return (_pre_cfg(model, rules.latent_operation_cfg(operation), cls.node_id),)


NODES = [APG, TCFG, RenormCFG, FreSca, LatentApplyOperationCFG]
