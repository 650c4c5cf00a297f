"""Sampling driven by a guider (ComfyUI's GUIDER): what SamplerCustomAdvanced calls.

A `Guider` is a model plus how its predictions of one or more conditionings are combined:
- "basic": D(positive) alone;
- "cfg": uncond + (cond - uncond) * cfg (with cfg == 1 the negative is not evaluated), exactly
  what KSampler and SamplerCustom compute;
- "dual_cfg" (conds cond1, cond2, negative): "regular" is
  neg + (cond2 - neg) * cfg2 + (cond1 - cond2) * cfg1, where a side whose weight is 1 is skipped
  as ComfyUI does (cfg2 == 1 drops the negative, and then cfg1 == 1 drops cond2 too); "nested" is
  neg + cfg2 * ((cond2 + (cond1 - cond2) * cfg1) - neg), every side evaluated;
- "perp_neg" (conds positive, negative, empty; cfg, neg_scale): ComfyUI's PerpNegGuider.
How each kind combines its predictions, honouring the model's cfg hooks: `guiders.py`.

`sample_guided(guider, noise, sampler, sigmas, latent, ...)` runs `sampler` (a
`registry.get_sampler`-style function) along `sigmas` and returns (samples, last denoised),
unscaled on the CPU, as `sample.sample_with_sigmas` does (which runs a "cfg" guider through it);
see sample.py for the arguments.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import torch

from diffusion.sampling import model_hooks
from diffusion.sampling.conds import add_opposite_areas, prepare_conditioning
from diffusion.sampling.denoiser import DiscreteDenoiser, InpaintDenoiser
from diffusion.sampling.discrete import schedule_of
from diffusion.sampling.guiders import guided_model
from diffusion.sampling.noise import cpu_generator
from diffusion.sampling.registry import SamplerFn
from diffusion.sampling.sampling_setup import (
    device_of,
    fit_latent_channels,
    is_inpaint_model,
    prepare_noise_mask,
    unet_call,
    with_concat,
)

# kind -> the role of each conditioning ("negative" also picks SDXL-refiner's low aesthetic score)
GUIDER_ROLES = {"basic": ("positive",), "cfg": ("positive", "negative"),
                "dual_cfg": ("positive", "negative", "negative"), "perp_neg": ("positive", "negative", "negative")}


@dataclass(frozen=True, eq=False)
class Guider:
    """What the GUIDER socket carries: a model and how its conditionings are combined."""

    model: Any
    kind: str
    conds: tuple[list, ...]
    cfg: float = 1.0
    cfg2: float = 1.0  # dual_cfg: cfg_cond2_negative; perp_neg: neg_scale
    nested: bool = False

    def __post_init__(self) -> None:
        roles = GUIDER_ROLES.get(self.kind)
        if roles is None:
            raise ValueError(f"unknown guider kind {self.kind!r}; expected one of {', '.join(GUIDER_ROLES)}")
        if len(self.conds) != len(roles):
            raise ValueError(f"a {self.kind} guider needs {len(roles)} conditionings, got {len(self.conds)}")
        for name, value in (("cfg", self.cfg), ("cfg2", self.cfg2)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"guider {name} must be a finite number, got {value!r}")


def sample_guided(guider: Guider, noise: torch.Tensor, sampler: SamplerFn, sigmas: torch.Tensor,
                  latent: torch.Tensor, *, noise_mask: torch.Tensor | None = None, seed: int | None = None,
                  random_inpaint_noise: bool = False, callback=None,
                  interrupt_check: Callable[[], None] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample `latent` along `sigmas` with `guider`; `random_inpaint_noise` is ddim's separate inpainting noise."""
    with torch.no_grad():
        return run_guided(guider, noise, sampler, sigmas, latent, noise_mask, seed, random_inpaint_noise,
                          callback, interrupt_check)


def run_guided(guider, noise, sampler, sigmas, latent, noise_mask, seed, random_inpaint_noise, callback,
               interrupt_check) -> tuple[torch.Tensor, torch.Tensor]:
    """`sample_guided` without its no_grad context: the one sampling loop setup (KSampler's too)."""
    model = guider.model
    latent = fit_latent_channels(model, latent)
    if not isinstance(noise, torch.Tensor) or noise.shape != latent.shape:
        got = tuple(noise.shape) if isinstance(noise, torch.Tensor) else type(noise).__name__
        raise ValueError(f"noise must have the latent's shape {tuple(latent.shape)}, got {got}")
    sigmas = torch.as_tensor(sigmas, dtype=torch.float32).reshape(-1)
    if len(sigmas) == 0:
        return latent, latent
    info = model.model_info
    scale = float(info.latent_format.scale_factor)
    schedule = schedule_of(model)
    device = device_of(model, latent)
    latent_f = latent.float()
    latent_image = (latent_f * scale if torch.count_nonzero(latent_f) > 0 else latent_f).to(device)
    mask = prepare_noise_mask(noise_mask, latent.shape).to(device) if noise_mask is not None else None

    # The sampler's seed also seeds unCLIP's noise augmentation of image embeds (SDXL revision).
    conds = [prepare_conditioning(c, which=role, latent_shape=tuple(latent.shape), schedule=schedule,
                                  family=info.family, seed=seed)
             for c, role in zip(guider.conds, GUIDER_ROLES[guider.kind], strict=True)]
    if is_inpaint_model(info):
        conds = [[with_concat(c, latent_image, mask, scale) for c in side] for side in conds]
    for first, second in combinations(conds, 2):
        add_opposite_areas(first, second)

    noise = noise.float().to(device)
    denoiser = DiscreteDenoiser(unet_call(model), info.prediction, schedule)
    model_fn = guided_model(guider.kind, denoiser, conds, guider.cfg, guider.cfg2, guider.nested, interrupt_check)
    inpaint = None
    if mask is not None:
        inpaint_noise = noise
        if random_inpaint_noise and seed is not None:
            generator = cpu_generator((seed + 1) % 2 ** 64)
            inpaint_noise = torch.randn(noise.shape, generator=generator, device="cpu").to(device)
        mask_function = model_hooks.options_of(denoiser).get(model_hooks.DENOISE_MASK_FUNCTION)
        inpaint = model_fn = InpaintDenoiser(model_fn, latent_image, mask, inpaint_noise, mask_function=mask_function,
                                             extra_options={"sigmas": sigmas.to(device), "model_sampling": schedule})

    sigma_max = float(schedule.sigma_max)
    first = float(sigmas[0])
    max_denoise = math.isclose(sigma_max, first, rel_tol=1e-5) or first > sigma_max
    x = latent_image + noise * (math.sqrt(1.0 + first ** 2) if max_denoise else first)

    total = len(sigmas) - 1
    last = {"denoised": latent_image}

    def on_step(step: dict) -> None:
        last["denoised"] = step["denoised"]
        if callback is not None:
            callback(step["i"], step["denoised"], step["x"], total)
        if interrupt_check is not None:
            interrupt_check()

    result = sampler(model_fn, x, sigmas.to(device), callback=on_step, seed=seed)
    samples = (result / scale).float().cpu()
    if inpaint is not None:
        # Where the mask is 0 this is exactly the input latent (x * 0 + latent * 1), not a round trip through
        # scaling; with a denoise_mask_function the mask is the one its last model call used.
        mask_cpu = inpaint.last_mask.cpu()
        samples = samples * mask_cpu + latent_f.cpu() * (1.0 - mask_cpu)
    return samples, (last["denoised"] / scale).float().cpu()


def add_noise(model, noise: torch.Tensor, sigmas: torch.Tensor, latent: torch.Tensor) -> torch.Tensor:
    """ComfyUI's AddNoise: latent + noise * |sigmas[0] - sigmas[-1]| in the model's scaled space, unscaled back.

    One sigma means noise * sigmas[0]; an all-zero latent is not scaled; NaN and inf become 0.
    """
    if len(sigmas) == 0:
        return latent
    amount = torch.abs(sigmas[0] - sigmas[-1]) if len(sigmas) > 1 else sigmas[0]
    scale = float(model.model_info.latent_format.scale_factor)
    latent_in = latent * scale if torch.count_nonzero(latent) > 0 else latent
    noisy = (noise * amount.to(noise.dtype) + latent_in) / scale
    return torch.nan_to_num(noisy, nan=0.0, posinf=0.0, neginf=0.0)
