"""High-level sampling: what the KSampler, KSamplerAdvanced and SamplerCustom nodes call.

    sample(model, noise, positive, negative, *, cfg, sampler_name, scheduler, steps, latent,
           denoise=1.0, start_step=None, last_step=None, force_full_denoise=False,
           noise_mask=None, seed=None, callback=None, interrupt_check=None) -> Tensor

    sample_with_sigmas(model, noise, positive, negative, *, cfg, sampler_name, sigmas, latent,
                       noise_mask=None, seed=None, callback=None, interrupt_check=None)
        -> (samples, denoised)

- `model`: has `.model_info.prediction` ("eps" | "v"), `.model_info.latent_format`
  (`scale_factor`, `channels`), `.model_info.family`, and runs the UNet as
  `.apply(x, timesteps, context=, y=)` or, lacking `apply`, by being called that way (as
  `diffusion.memory.patcher.ModelPatcher` is). Sampling happens where the weights are
  (`current_device()`, else `.device`, else the latent's device); the caller loads the model
  there first (model manager).
- `noise`: from `prepare_noise(latent, seed, batch_index)` (zeros for add_noise=disable), shaped
  like the latent after `fit_latent_channels`.
- `positive` / `negative`: ComfyUI conditioning lists of [tensor, dict] (see `conds.py`).
- `latent`: the LATENT's "samples" (unscaled VAE latent [B, C, H, W]); an all-zero latent with
  too few channels is widened to the model's, any other channel mismatch is an error.
- `noise_mask`: the LATENT's "noise_mask" (1 = repaint, 0 = keep), any size; the kept latent is
  returned bit-identical.
- `seed`: the KSampler seed; the stochastic samplers draw their noise from it (noise.py).
- `callback(step, x0_pred, x, total_steps)` after each step (x0_pred and x in the model's scaled
  latent space, for previews); `interrupt_check()` before every model evaluation and after each
  step: it raises to stop, and the exception propagates unchanged.
Returns the sampled latent (unscaled, on the CPU, float32). No sampling (denoise <= 0, or
start_step at/after the end) returns the input latent.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from diffusion.sampling.discrete import schedule_of
from diffusion.sampling.guided import Guider, run_guided
from diffusion.sampling.registry import get_sampler
from diffusion.sampling.sampling_setup import fit_latent_channels, prepare_noise_mask
from diffusion.sampling.sigma_plan import check_names, denoise_sigmas, step_window

StepCallback = Callable[[int, torch.Tensor, torch.Tensor, int], None]
__all__ = ["fit_latent_channels", "prepare_noise_mask", "sample", "sample_with_sigmas"]


def sample(model, noise, positive, negative, *, cfg, sampler_name, scheduler, steps, latent, denoise=1.0,
           start_step=None, last_step=None, force_full_denoise=False, noise_mask=None, seed=None,
           callback: StepCallback | None = None, interrupt_check: Callable[[], None] | None = None) -> torch.Tensor:
    """Run a KSampler / KSamplerAdvanced job (see the module docstring)."""
    check_names(sampler_name, scheduler)
    latent = fit_latent_channels(model, latent)
    sigmas = denoise_sigmas(schedule_of(model), scheduler, sampler_name, steps, denoise)
    sigmas = step_window(sigmas, start_step, last_step, force_full_denoise)
    if sigmas is None:
        return latent
    samples, _ = sample_with_sigmas(model, noise, positive, negative, cfg=cfg, sampler_name=sampler_name,
                                    sigmas=sigmas, latent=latent, noise_mask=noise_mask, seed=seed,
                                    callback=callback, interrupt_check=interrupt_check)
    return samples


def _check_cfg(cfg) -> float:
    if isinstance(cfg, bool) or not isinstance(cfg, (int, float)) or not math.isfinite(cfg):
        raise ValueError(f"cfg must be a finite number, got {cfg!r}")
    return float(cfg)


def sample_with_sigmas(model, noise, positive, negative, *, cfg, sampler_name, sigmas, latent, noise_mask=None,
                       seed=None, callback: StepCallback | None = None,
                       interrupt_check: Callable[[], None] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample along explicit `sigmas`; returns (samples, last denoised prediction), both unscaled on the CPU."""
    with torch.no_grad():
        return _sample_with_sigmas(model, noise, positive, negative, cfg=cfg, sampler_name=sampler_name,
                                   sigmas=sigmas, latent=latent, noise_mask=noise_mask, seed=seed, callback=callback,
                                   interrupt_check=interrupt_check)


def _sample_with_sigmas(model, noise, positive, negative, *, cfg, sampler_name, sigmas, latent, noise_mask, seed,
                        callback, interrupt_check) -> tuple[torch.Tensor, torch.Tensor]:
    """A CFG guider run along `sigmas` (ddim draws its own inpainting noise, as in ComfyUI)."""
    check_names(sampler_name)
    cfg = _check_cfg(cfg)
    guider = Guider(model, "cfg", (positive, negative), cfg=cfg)
    return run_guided(guider, noise, get_sampler(sampler_name), sigmas, latent, noise_mask, seed,
                      sampler_name == "ddim", callback, interrupt_check)
