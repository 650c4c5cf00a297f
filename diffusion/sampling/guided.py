"""Sampling driven by a guider (ComfyUI's GUIDER): what SamplerCustomAdvanced calls.

A `Guider` is a model plus how its predictions of one or more conditionings are combined:
- "basic": D(positive) alone;
- "cfg": uncond + (cond - uncond) * cfg (with cfg == 1 the negative is not evaluated), exactly
  what KSampler and SamplerCustom compute;
- "dual_cfg" (conds cond1, cond2, negative): "regular" is
  neg + (cond2 - neg) * cfg2 + (cond1 - cond2) * cfg1, where a side whose weight is 1 is skipped
  as ComfyUI does (cfg2 == 1 drops the negative, and then cfg1 == 1 drops cond2 too); "nested" is
  neg + cfg2 * ((cond2 + (cond1 - cond2) * cfg1) - neg), every side evaluated.

`sample_guided(guider, noise, sampler, sigmas, latent, ...)` runs `sampler` (a
`registry.get_sampler`-style function) along `sigmas` and returns (samples, last denoised),
unscaled on the CPU, as `sample.sample_with_sigmas` does; see sample.py for the arguments.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import torch

from diffusion.sampling.cfg import GuidedDenoiser
from diffusion.sampling.conds import PreparedCond, add_opposite_areas, prepare_conditioning
from diffusion.sampling.denoiser import DiscreteDenoiser, InpaintDenoiser
from diffusion.sampling.discrete import schedule_of
from diffusion.sampling.noise import cpu_generator
from diffusion.sampling.registry import SamplerFn
from diffusion.sampling.sample import (
    _device_of,
    _is_inpaint_model,
    _unet_call,
    _with_concat,
    fit_latent_channels,
    prepare_noise_mask,
)

# kind -> the role of each conditioning ("negative" also picks SDXL-refiner's low aesthetic score)
GUIDER_ROLES = {"basic": ("positive",), "cfg": ("positive", "negative"),
                "dual_cfg": ("positive", "negative", "negative")}


@dataclass(frozen=True, eq=False)
class Guider:
    """What the GUIDER socket carries: a model and how its conditionings are combined."""

    model: Any
    kind: str
    conds: tuple[list, ...]
    cfg: float = 1.0
    cfg2: float = 1.0
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


class DualGuidedDenoiser:
    """D(x, sigma) of a dual_cfg guider over prepared (cond1, cond2, negative)."""

    def __init__(self, denoiser, conds: list[list[PreparedCond]], cfg1: float, cfg2: float, nested: bool,
                 interrupt_check: Callable[[], None] | None = None) -> None:
        self.inner = GuidedDenoiser(denoiser, conds[0], conds[2], 1.0, interrupt_check=interrupt_check)
        self.positive, self.middle, self.negative = conds
        self.cfg1, self.cfg2, self.nested = float(cfg1), float(cfg2), nested

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, **_: object) -> torch.Tensor:
        if self.inner.interrupt_check is not None:
            self.inner.interrupt_check()
        if self.nested:
            negative, middle, positive = self.inner.predict(x, sigma, [self.negative, self.middle, self.positive])
            text = middle + (positive - middle) * self.cfg1
            return negative + self.cfg2 * (text - negative)
        use_negative = not math.isclose(self.cfg2, 1.0)
        use_middle = use_negative or not math.isclose(self.cfg1, 1.0)
        sides = [self.positive] + ([self.middle] if use_middle else []) + ([self.negative] if use_negative else [])
        predictions = self.inner.predict(x, sigma, sides)
        positive = predictions[0]
        middle = predictions[1] if use_middle else torch.zeros_like(x)
        negative = predictions[2] if use_negative else torch.zeros_like(x)
        return negative + (middle - negative) * self.cfg2 + (positive - middle) * self.cfg1


def _guided_model(guider: Guider, denoiser, conds: list[list[PreparedCond]], interrupt_check):
    if guider.kind == "basic":
        return GuidedDenoiser(denoiser, conds[0], [], 1.0, interrupt_check=interrupt_check)
    if guider.kind == "cfg":
        return GuidedDenoiser(denoiser, conds[0], conds[1], guider.cfg, interrupt_check=interrupt_check)
    return DualGuidedDenoiser(denoiser, conds, guider.cfg, guider.cfg2, guider.nested, interrupt_check)


def sample_guided(guider: Guider, noise: torch.Tensor, sampler: SamplerFn, sigmas: torch.Tensor,
                  latent: torch.Tensor, *, noise_mask: torch.Tensor | None = None, seed: int | None = None,
                  random_inpaint_noise: bool = False, callback=None,
                  interrupt_check: Callable[[], None] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample `latent` along `sigmas` with `guider`; `random_inpaint_noise` is ddim's separate inpainting noise."""
    with torch.no_grad():
        return _sample_guided(guider, noise, sampler, sigmas, latent, noise_mask, seed, random_inpaint_noise,
                              callback, interrupt_check)


def _sample_guided(guider, noise, sampler, sigmas, latent, noise_mask, seed, random_inpaint_noise, callback,
                   interrupt_check):
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
    device = _device_of(model, latent)
    latent_f = latent.float()
    latent_image = (latent_f * scale if torch.count_nonzero(latent_f) > 0 else latent_f).to(device)
    mask = prepare_noise_mask(noise_mask, latent.shape).to(device) if noise_mask is not None else None

    conds = [prepare_conditioning(c, which=role, latent_shape=tuple(latent.shape), schedule=schedule,
                                  family=info.family) for c, role in zip(guider.conds, GUIDER_ROLES[guider.kind],
                                                                         strict=True)]
    if _is_inpaint_model(info):
        conds = [[_with_concat(c, latent_image, mask, scale) for c in side] for side in conds]
    for first, second in combinations(conds, 2):
        add_opposite_areas(first, second)

    noise = noise.float().to(device)
    denoiser = DiscreteDenoiser(_unet_call(model), info.prediction, schedule)
    model_fn = _guided_model(guider, denoiser, conds, interrupt_check)
    if mask is not None:
        inpaint_noise = noise
        if random_inpaint_noise and seed is not None:
            generator = cpu_generator((seed + 1) % 2 ** 64)
            inpaint_noise = torch.randn(noise.shape, generator=generator, device="cpu").to(device)
        model_fn = InpaintDenoiser(model_fn, latent_image, mask, inpaint_noise)

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
    if mask is not None:
        mask_cpu = mask.cpu()
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
