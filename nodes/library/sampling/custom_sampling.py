"""The custom-sampling set: pick a sampler, build or split a sigma schedule, sample along it (ComfyUI's ids).

Sockets: SAMPLER carries a `SamplerChoice` (the sampler's name and, from the Sampler* nodes,
its options; a plain name string is accepted too), SIGMAS a 1-D float tensor ending in 0.
Node facts follow ComfyUI's comfy_extras/nodes_custom_sampler.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from diffusion.sampling.names import SAMPLER_NAMES, SCHEDULER_NAMES
from nodes.api.declare import Boolean, Combo, Float, Int, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.sampling.ksampler import (
    MAX_SEED,
    check_noise_mask,
    fitted_latent,
    load_for_sampling,
    noise_for,
    require_conditioning,
    require_latent,
    require_model,
    step_callback,
)

# The engine (and torch) is imported when a node runs, not when the registry is built.
torch = lazy_import("torch")
discrete = lazy_import("diffusion.sampling.discrete")
sampling = lazy_import("diffusion.sampling.sample")
guided = lazy_import("diffusion.sampling.guided")
sampler_options = lazy_import("diffusion.sampling.sampler_options")
schedules = lazy_import("diffusion.sampling.schedules")
sigma_plan = lazy_import("diffusion.sampling.sigma_plan")


@dataclass(frozen=True)
class SamplerChoice:
    """What the SAMPLER socket carries: a sampler of diffusion.sampling by name, with its options."""

    name: str
    options: tuple[tuple[str, Any], ...] = ()  # (option, value) pairs passed to the sampler function


def sampler_choice_of(sampler: Any, node: str) -> SamplerChoice:
    """The SAMPLER value as a SamplerChoice (a plain name is one without options)."""
    choice = sampler if isinstance(sampler, SamplerChoice) else SamplerChoice(sampler_name_of(sampler, node))
    sampler_name_of(choice, node)
    return choice


def sampler_function(choice: SamplerChoice, node: str):
    """The run(model, x, sigmas, ...) function of a SamplerChoice, its options applied."""
    try:
        return sampler_options.configured_sampler(choice.name, dict(choice.options))
    except ValueError as exc:
        raise ValueError(f"{node}: input 'sampler': {exc}") from None


def sampler_name_of(sampler: Any, node: str) -> str:
    """The sampler name in a SAMPLER value; a clear error for samplers this engine does not know."""
    name = sampler.name if isinstance(sampler, SamplerChoice) else sampler
    if not isinstance(name, str) or name not in SAMPLER_NAMES:
        raise ValueError(f"{node}: input 'sampler' must come from KSamplerSelect (one of {', '.join(SAMPLER_NAMES)}), "
                         f"got {sampler!r}")
    return name


def require_sigmas(sigmas: Any, node: str, name: str = "sigmas") -> torch.Tensor:
    if not isinstance(sigmas, torch.Tensor) or sigmas.ndim != 1:
        got = tuple(sigmas.shape) if isinstance(sigmas, torch.Tensor) else type(sigmas).__name__
        raise ValueError(f"{node}: input '{name}' must be SIGMAS (a 1-D tensor), got {got}")
    if not torch.isfinite(sigmas).all() or (sigmas < 0).any():
        raise ValueError(f"{node}: input '{name}' must hold finite sigmas >= 0")
    return sigmas


class KSamplerSelect(Node):
    node_id = "KSamplerSelect"
    display_name = "KSamplerSelect"
    category = "sampling/custom_sampling/samplers"
    inputs = [Combo("sampler_name", SAMPLER_NAMES)]
    outputs = [Out("SAMPLER")]

    @classmethod
    def run(cls, ctx: Any, *, sampler_name: str) -> tuple:
        return (SamplerChoice(sampler_name_of(sampler_name, cls.node_id)),)


class BasicScheduler(Node):
    node_id = "BasicScheduler"
    display_name = "BasicScheduler"
    category = "sampling/custom_sampling/schedulers"
    inputs = [
        Socket("MODEL", "model"),
        Combo("scheduler", SCHEDULER_NAMES),
        Int("steps", default=20, min=1, max=10000),
        Float("denoise", default=1.0, min=0.0, max=1.0, step=0.01),
    ]
    outputs = [Out("SIGMAS")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, scheduler: str, steps: int, denoise: float) -> tuple:
        model = require_model(model, cls.node_id)
        return (sigma_plan.basic_scheduler_sigmas(discrete.schedule_of(model), scheduler, steps, denoise),)


def _sigma(name: str, default: float) -> Float:
    return Float(name, default=default, min=0.0, max=5000.0, step=0.01, round=False)


class KarrasScheduler(Node):
    node_id = "KarrasScheduler"
    display_name = "KarrasScheduler"
    category = "sampling/custom_sampling/schedulers"
    inputs = [
        Int("steps", default=20, min=1, max=10000),
        _sigma("sigma_max", 14.614642),
        _sigma("sigma_min", 0.0291675),
        Float("rho", default=7.0, min=0.0, max=100.0, step=0.01, round=False),
    ]
    outputs = [Out("SIGMAS")]

    @classmethod
    def run(cls, ctx: Any, *, steps: int, sigma_max: float, sigma_min: float, rho: float) -> tuple:
        if not 0 < sigma_min < sigma_max:
            raise ValueError(f"{cls.node_id}: need 0 < sigma_min < sigma_max, got sigma_min {sigma_min}, "
                             f"sigma_max {sigma_max}")
        if rho <= 0:
            raise ValueError(f"{cls.node_id}: input 'rho' must be > 0, got {rho}")
        return (schedules.karras_sigmas(steps, sigma_min, sigma_max, rho),)


class SplitSigmas(Node):
    node_id = "SplitSigmas"
    display_name = "SplitSigmas"
    category = "sampling/custom_sampling/sigmas"
    inputs = [Socket("SIGMAS", "sigmas"), Int("step", default=0, min=0, max=10000)]
    outputs = [Out("SIGMAS", "high_sigmas"), Out("SIGMAS", "low_sigmas")]

    @classmethod
    def run(cls, ctx: Any, *, sigmas: Any, step: int) -> tuple:
        sigmas = require_sigmas(sigmas, cls.node_id)
        return sigmas[:step + 1], sigmas[step:]


class SamplerCustom(Node):
    node_id = "SamplerCustom"
    display_name = "SamplerCustom"
    category = "sampling/custom_sampling"
    inputs = [
        Socket("MODEL", "model"),
        Boolean("add_noise", default=True),
        Int("noise_seed", default=0, min=0, max=MAX_SEED, control_after_generate=True),
        Float("cfg", default=8.0, min=0.0, max=100.0, step=0.1, round=0.01),
        Socket("CONDITIONING", "positive"),
        Socket("CONDITIONING", "negative"),
        Socket("SAMPLER", "sampler"),
        Socket("SIGMAS", "sigmas"),
        Socket("LATENT", "latent_image"),
    ]
    outputs = [Out("LATENT", "output"), Out("LATENT", "denoised_output")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, add_noise: bool, noise_seed: int, cfg: float, positive: Any,
            negative: Any, sampler: Any, sigmas: Any, latent_image: Any) -> tuple:
        node = cls.node_id
        model = require_model(model, node)
        choice = sampler_choice_of(sampler, node)
        name = choice.name
        sigmas = require_sigmas(sigmas, node)
        latent = require_latent(latent_image, node)
        samples = fitted_latent(model, latent, node)
        noise_mask = check_noise_mask(latent, node)
        noise = noise_for(latent, samples, noise_seed, bool(add_noise), node, "noise_seed")
        positive = require_conditioning(positive, node, "positive")
        negative = require_conditioning(negative, node, "negative")
        callback = step_callback(ctx, model, max(len(sigmas) - 1, 0))
        load_for_sampling(ctx, model, samples, conditionings=(positive, negative))
        if choice.options:
            out, denoised = guided.sample_guided(
                guided.Guider(model, "cfg", (positive, negative), cfg=cfg), noise, sampler_function(choice, node),
                sigmas, samples, noise_mask=noise_mask, seed=noise_seed, callback=callback,
                interrupt_check=ctx.check_interrupted)
        else:
            out, denoised = sampling.sample_with_sigmas(
                model, noise, positive, negative, cfg=cfg, sampler_name=name, sigmas=sigmas, latent=samples,
                noise_mask=noise_mask, seed=noise_seed, callback=callback, interrupt_check=ctx.check_interrupted)
        output = {**latent, "samples": out}
        if len(sigmas) <= 1:
            return output, output
        return output, {**latent, "samples": denoised}


NODES = [KSamplerSelect, BasicScheduler, KarrasScheduler, SplitSigmas, SamplerCustom]
