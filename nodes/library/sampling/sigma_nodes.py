"""Nodes that edit or read SIGMAS: flip, set the first, split by denoise, extend, type in, percent -> sigma.

The edits are diffusion.sampling.sigma_edits (each returns a new tensor, the input is never
changed). Node facts follow ComfyUI's comfy_extras/nodes_custom_sampler.py.
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Boolean, Combo, Float, Int, Node, Out, Socket, String
from nodes.api.lazy import lazy_import
from nodes.library.sampling.custom_sampling import require_sigmas
from nodes.library.sampling.ksampler import require_model

discrete = lazy_import("diffusion.sampling.discrete")
edits = lazy_import("diffusion.sampling.sigma_edits")

CATEGORY = "sampling/custom_sampling/sigmas"
SPACINGS = ("linear", "cosine", "sine")  # torch-free copy of sigma_edits.SPACINGS


class FlipSigmas(Node):
    node_id = "FlipSigmas"
    display_name = "FlipSigmas"
    category = CATEGORY
    description = "The sigmas in reverse order (for noising); a leading 0 becomes 0.0001."
    inputs = [Socket("SIGMAS", "sigmas")]
    outputs = [Out("SIGMAS")]

    @classmethod
    def run(cls, ctx: Any, *, sigmas: Any) -> tuple:
        return (edits.flip_sigmas(require_sigmas(sigmas, cls.node_id)),)


class SetFirstSigma(Node):
    node_id = "SetFirstSigma"
    display_name = "SetFirstSigma"
    category = CATEGORY
    inputs = [Socket("SIGMAS", "sigmas"), Float("sigma", default=136.0, min=0.0, max=20000.0, step=0.001, round=False)]
    outputs = [Out("SIGMAS")]

    @classmethod
    def run(cls, ctx: Any, *, sigmas: Any, sigma: float) -> tuple:
        sigmas = require_sigmas(sigmas, cls.node_id)
        if len(sigmas) == 0:
            raise ValueError(f"{cls.node_id}: input 'sigmas' is empty: there is no first sigma to set")
        if not sigma >= 0:
            raise ValueError(f"{cls.node_id}: input 'sigma' must be >= 0, got {sigma}")
        return (edits.set_first_sigma(sigmas, sigma),)


class ExtendIntermediateSigmas(Node):
    node_id = "ExtendIntermediateSigmas"
    display_name = "ExtendIntermediateSigmas"
    category = CATEGORY
    description = ("Splits every step that starts between end_at_sigma and start_at_sigma (-1: no limit) into "
                   "`steps` smaller steps, spaced linearly, or denser at the end (cosine) or the start (sine).")
    inputs = [
        Socket("SIGMAS", "sigmas"),
        Int("steps", default=2, min=1, max=100),
        Float("start_at_sigma", default=-1.0, min=-1.0, max=20000.0, step=0.01, round=False),
        Float("end_at_sigma", default=12.0, min=0.0, max=20000.0, step=0.01, round=False),
        Combo("spacing", SPACINGS),
    ]
    outputs = [Out("SIGMAS")]

    @classmethod
    def run(cls, ctx: Any, *, sigmas: Any, steps: int, start_at_sigma: float, end_at_sigma: float,
            spacing: str) -> tuple:
        sigmas = require_sigmas(sigmas, cls.node_id)
        if spacing not in SPACINGS:
            raise ValueError(f"{cls.node_id}: input 'spacing' must be one of {', '.join(SPACINGS)}, got {spacing!r}")
        if steps < 1:
            raise ValueError(f"{cls.node_id}: input 'steps' must be >= 1, got {steps}")
        return (edits.extend_intermediate_sigmas(sigmas, steps, start_at_sigma, end_at_sigma, spacing),)


class SplitSigmasDenoise(Node):
    node_id = "SplitSigmasDenoise"
    display_name = "SplitSigmasDenoise"
    category = CATEGORY
    description = ("low_sigmas: the last round(steps * denoise) steps; high_sigmas: the steps before them. "
                   "As in ComfyUI, denoise that keeps no step gives empty high_sigmas (not the whole schedule).")
    inputs = [Socket("SIGMAS", "sigmas"), Float("denoise", default=1.0, min=0.0, max=1.0, step=0.01)]
    outputs = [Out("SIGMAS", "high_sigmas"), Out("SIGMAS", "low_sigmas")]

    @classmethod
    def run(cls, ctx: Any, *, sigmas: Any, denoise: float) -> tuple:
        sigmas = require_sigmas(sigmas, cls.node_id)
        if not 0.0 <= denoise <= 1.0:
            raise ValueError(f"{cls.node_id}: input 'denoise' must be between 0 and 1, got {denoise}")
        return edits.split_sigmas_denoise(sigmas, denoise)


class SamplingPercentToSigma(Node):
    node_id = "SamplingPercentToSigma"
    display_name = "SamplingPercentToSigma"
    category = CATEGORY
    inputs = [
        Socket("MODEL", "model"),
        Float("sampling_percent", default=0.0, min=0.0, max=1.0, step=0.0001),
        Boolean("return_actual_sigma", default=False,
                tooltip="Return the actual sigma value instead of the value used for interval checks.\n"
                        "This only affects results at 0.0 and 1.0."),
    ]
    outputs = [Out("FLOAT", "sigma_value")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, sampling_percent: float, return_actual_sigma: bool) -> tuple:
        schedule = discrete.schedule_of(require_model(model, cls.node_id))
        if not 0.0 <= sampling_percent <= 1.0:
            raise ValueError(f"{cls.node_id}: input 'sampling_percent' must be between 0 and 1, "
                             f"got {sampling_percent}")
        if return_actual_sigma and sampling_percent == 0.0:
            return (float(schedule.sigma_max),)
        if return_actual_sigma and sampling_percent == 1.0:
            return (float(schedule.sigma_min),)
        return (schedule.percent_to_sigma(sampling_percent),)


class ManualSigmas(Node):
    node_id = "ManualSigmas"
    display_name = "ManualSigmas"
    category = "_for_testing/custom_sampling"
    experimental = True
    description = "Every number typed in (\"14.6, 5, 1.2, 0\") as SIGMAS, in order."
    inputs = [String("sigmas", default="1, 0.5", multiline=False)]
    outputs = [Out("SIGMAS")]

    @classmethod
    def run(cls, ctx: Any, *, sigmas: str) -> tuple:
        if not isinstance(sigmas, str):
            raise ValueError(f"{cls.node_id}: input 'sigmas' must be text, got {type(sigmas).__name__}")
        values = edits.parse_sigmas(sigmas)
        if (values < 0).any():
            raise ValueError(f"{cls.node_id}: input 'sigmas' must hold sigmas >= 0, got {values.tolist()}")
        return (values,)


NODES = [FlipSigmas, SetFirstSigma, ExtendIntermediateSigmas, SplitSigmasDenoise, SamplingPercentToSigma,
         ManualSigmas]
