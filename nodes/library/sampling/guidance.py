"""The noise / guider split of custom sampling: NOISE and GUIDER values and SamplerCustomAdvanced (ComfyUI's ids).

NOISE carries a `NoiseSource` (a seed, or disabled), GUIDER a `diffusion.sampling.guided.Guider`
(the model and its conditionings); SamplerCustomAdvanced samples a LATENT with a NOISE, a
GUIDER, a SAMPLER and SIGMAS. RandomNoise + CFGGuider gives exactly what SamplerCustom gives
for the same seed. Node facts follow ComfyUI's comfy_extras/nodes_custom_sampler.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nodes.api.declare import Combo, Float, Int, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.sampling.custom_sampling import require_sigmas, sampler_choice_of, sampler_function
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

torch = lazy_import("torch")
guided = lazy_import("diffusion.sampling.guided")

GUIDERS = "sampling/custom_sampling/guiders"
NOISES = "sampling/custom_sampling/noise"
DUAL_CFG_STYLES = ("regular", "nested")


@dataclass(frozen=True)
class NoiseSource:
    """What the NOISE socket carries: the initial noise's seed, or no noise (zeros, and seed 0 for the sampler)."""

    seed: int
    enabled: bool = True

    def generate(self, latent: dict, samples: torch.Tensor, node: str) -> torch.Tensor:
        return noise_for(latent, samples, self.seed, self.enabled, node, "noise")


def require_noise(noise: Any, node: str) -> NoiseSource:
    if not isinstance(noise, NoiseSource):
        raise TypeError(f"{node}: input 'noise' must be a NOISE (from RandomNoise or DisableNoise), "
                        f"got {type(noise).__name__}")
    return noise


def require_guider(guider: Any, node: str) -> Any:
    if not isinstance(guider, guided.Guider):
        raise TypeError(f"{node}: input 'guider' must be a GUIDER (from BasicGuider, CFGGuider, DualCFGGuider or PerpNegGuider), "
                        f"got {type(guider).__name__}")
    return guider


def _cfg(name: str) -> Float:
    return Float(name, default=8.0, min=0.0, max=100.0, step=0.1, round=0.01)


class RandomNoise(Node):
    node_id = "RandomNoise"
    display_name = "RandomNoise"
    category = NOISES
    inputs = [Int("noise_seed", default=0, min=0, max=MAX_SEED, control_after_generate=True)]
    outputs = [Out("NOISE")]

    @classmethod
    def run(cls, ctx: Any, *, noise_seed: int) -> tuple:
        if isinstance(noise_seed, bool) or not isinstance(noise_seed, int) or not 0 <= noise_seed <= MAX_SEED:
            raise ValueError(f"{cls.node_id}: input 'noise_seed' must be an integer from 0 to {MAX_SEED}, "
                             f"got {noise_seed!r}")
        return (NoiseSource(noise_seed),)


class DisableNoise(Node):
    node_id = "DisableNoise"
    display_name = "DisableNoise"
    category = NOISES
    inputs = []
    outputs = [Out("NOISE")]

    @classmethod
    def run(cls, ctx: Any) -> tuple:
        return (NoiseSource(0, enabled=False),)


class BasicGuider(Node):
    node_id = "BasicGuider"
    display_name = "BasicGuider"
    category = GUIDERS
    description = "Guides with one conditioning and no classifier-free guidance (the model's prediction as is)."
    inputs = [Socket("MODEL", "model"), Socket("CONDITIONING", "conditioning")]
    outputs = [Out("GUIDER")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, conditioning: Any) -> tuple:
        model = require_model(model, cls.node_id)
        return (guided.Guider(model, "basic", (require_conditioning(conditioning, cls.node_id, "conditioning"),)),)


class CFGGuider(Node):
    node_id = "CFGGuider"
    display_name = "CFGGuider"
    category = GUIDERS
    description = "Classifier-free guidance: negative + (positive - negative) * cfg, as KSampler computes it."
    inputs = [Socket("MODEL", "model"), Socket("CONDITIONING", "positive"), Socket("CONDITIONING", "negative"),
              _cfg("cfg")]
    outputs = [Out("GUIDER")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, positive: Any, negative: Any, cfg: float) -> tuple:
        model = require_model(model, cls.node_id)
        conds = (require_conditioning(positive, cls.node_id, "positive"),
                 require_conditioning(negative, cls.node_id, "negative"))
        try:
            return (guided.Guider(model, "cfg", conds, cfg=cfg),)
        except ValueError as exc:
            raise ValueError(f"{cls.node_id}: input 'cfg': {exc}") from None


class DualCFGGuider(Node):
    node_id = "DualCFGGuider"
    display_name = "DualCFGGuider"
    category = GUIDERS
    description = ("Two conditionings and a negative. regular: negative + (cond2 - negative) * cfg_cond2_negative "
                   "+ (cond1 - cond2) * cfg_conds; nested: negative + cfg_cond2_negative * (cond2 + (cond1 - cond2) "
                   "* cfg_conds - negative).")
    inputs = [Socket("MODEL", "model"), Socket("CONDITIONING", "cond1"), Socket("CONDITIONING", "cond2"),
              Socket("CONDITIONING", "negative"), _cfg("cfg_conds"), _cfg("cfg_cond2_negative"),
              Combo("style", DUAL_CFG_STYLES)]
    outputs = [Out("GUIDER")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, cond1: Any, cond2: Any, negative: Any, cfg_conds: float,
            cfg_cond2_negative: float, style: str) -> tuple:
        node = cls.node_id
        model = require_model(model, node)
        if style not in DUAL_CFG_STYLES:
            raise ValueError(f"{node}: input 'style' must be one of {', '.join(DUAL_CFG_STYLES)}, got {style!r}")
        conds = (require_conditioning(cond1, node, "cond1"), require_conditioning(cond2, node, "cond2"),
                 require_conditioning(negative, node, "negative"))
        try:
            return (guided.Guider(model, "dual_cfg", conds, cfg=cfg_conds, cfg2=cfg_cond2_negative,
                                  nested=style == "nested"),)
        except ValueError as exc:
            raise ValueError(f"{node}: {exc}") from None


class SamplerCustomAdvanced(Node):
    node_id = "SamplerCustomAdvanced"
    display_name = "SamplerCustomAdvanced"
    category = "sampling/custom_sampling"
    inputs = [Socket("NOISE", "noise"), Socket("GUIDER", "guider"), Socket("SAMPLER", "sampler"),
              Socket("SIGMAS", "sigmas"), Socket("LATENT", "latent_image")]
    outputs = [Out("LATENT", "output"), Out("LATENT", "denoised_output")]

    @classmethod
    def run(cls, ctx: Any, *, noise: Any, guider: Any, sampler: Any, sigmas: Any, latent_image: Any) -> tuple:
        node = cls.node_id
        source = require_noise(noise, node)
        guider = require_guider(guider, node)
        choice = sampler_choice_of(sampler, node)
        run_sampler = sampler_function(choice, node)
        sigmas = require_sigmas(sigmas, node)
        latent = require_latent(latent_image, node)
        model = guider.model
        samples = fitted_latent(model, latent, node)
        noise_mask = check_noise_mask(latent, node)
        initial = source.generate(latent, samples, node)
        load_for_sampling(ctx, model, samples, conditionings=guider.conds)
        out, denoised = guided.sample_guided(
            guider, initial, run_sampler, sigmas, samples, noise_mask=noise_mask, seed=source.seed,
            random_inpaint_noise=choice.name == "ddim", callback=step_callback(ctx, model, max(len(sigmas) - 1, 0)),
            interrupt_check=ctx.check_interrupted)
        output = {**latent, "samples": out}
        if len(sigmas) <= 1:
            return output, output
        return output, {**latent, "samples": denoised}


class AddNoise(Node):
    node_id = "AddNoise"
    display_name = "AddNoise"
    category = "_for_testing/custom_sampling/noise"
    experimental = True
    description = "Adds the NOISE to the latent at the strength of the sigmas' span |sigmas[0] - sigmas[-1]|."
    inputs = [Socket("MODEL", "model"), Socket("NOISE", "noise"), Socket("SIGMAS", "sigmas"),
              Socket("LATENT", "latent_image")]
    outputs = [Out("LATENT")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, noise: Any, sigmas: Any, latent_image: Any) -> tuple:
        node = cls.node_id
        model = require_model(model, node)
        source = require_noise(noise, node)
        sigmas = require_sigmas(sigmas, node)
        latent = require_latent(latent_image, node)
        if len(sigmas) == 0:
            return (latent,)
        samples = latent["samples"]
        initial = source.generate(latent, samples, node)
        return ({**latent, "samples": guided.add_noise(model, initial, sigmas, samples.float())},)


NODES = [RandomNoise, DisableNoise, BasicGuider, CFGGuider, DualCFGGuider, SamplerCustomAdvanced, AddNoise]
