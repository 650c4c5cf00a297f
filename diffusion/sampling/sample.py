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
from dataclasses import replace

import torch
import torch.nn.functional as F

from diffusion.sampling.cfg import GuidedDenoiser
from diffusion.sampling.conds import add_opposite_areas, prepare_conditioning, repeat_to_batch_size
from diffusion.sampling.denoiser import DiscreteDenoiser, InpaintDenoiser
from diffusion.sampling.discrete import schedule_of
from diffusion.sampling.inpaint_concat import inpaint_concat
from diffusion.sampling.noise import cpu_generator
from diffusion.sampling.registry import get_sampler
from diffusion.sampling.sigma_plan import check_names, denoise_sigmas, step_window

StepCallback = Callable[[int, torch.Tensor, torch.Tensor, int], None]


def fit_latent_channels(model, latent: torch.Tensor) -> torch.Tensor:
    """The latent checked against the model: an empty latent is widened, other mismatches raise."""
    if not isinstance(latent, torch.Tensor) or latent.ndim != 4:
        shape = tuple(latent.shape) if isinstance(latent, torch.Tensor) else type(latent).__name__
        raise ValueError(f"latent must be a [batch, channels, height, width] tensor, got {shape}")
    if 0 in latent.shape:
        raise ValueError(f"latent has an empty dimension: {tuple(latent.shape)}")
    info = model.model_info
    channels = int(info.latent_format.channels)
    if latent.shape[1] == channels:
        return latent
    if torch.count_nonzero(latent) == 0:
        return repeat_to_batch_size(latent, channels, dim=1)
    raise ValueError(f"the latent has {latent.shape[1]} channels but the {info.family} model expects {channels}; "
                     f"was it encoded with the VAE of another model family?")


def prepare_noise_mask(mask: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """A noise mask of any size resized (bilinear) to [B, C, H, W] of the latent."""
    if not isinstance(mask, torch.Tensor) or mask.ndim not in (2, 3, 4) or mask.numel() == 0:
        got = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValueError(f"noise_mask must be a [H, W], [B, H, W] or [B, 1, H, W] tensor, got {got}")
    mask = mask.float().reshape(-1, 1, mask.shape[-2], mask.shape[-1])
    if tuple(mask.shape[2:]) != tuple(shape[2:]):
        mask = F.interpolate(mask, size=tuple(shape[2:]), mode="bilinear", align_corners=False)
    mask = mask.expand(-1, shape[1], -1, -1)
    return repeat_to_batch_size(mask, shape[0]).contiguous()


def _device_of(model, latent: torch.Tensor) -> torch.device:
    current = getattr(model, "current_device", None)
    device = current() if callable(current) else getattr(model, "device", None)
    return device if isinstance(device, torch.device) else latent.device


def _unet_call(model):
    apply = getattr(model, "apply", None)
    if callable(apply):
        return apply
    if callable(model):
        return model
    raise TypeError(f"{type(model).__name__} has no apply() and is not callable: cannot run its UNet")


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
    check_names(sampler_name)
    cfg = _check_cfg(cfg)
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

    pos = prepare_conditioning(positive, which="positive", latent_shape=tuple(latent.shape), schedule=schedule,
                               family=info.family)
    neg = prepare_conditioning(negative, which="negative", latent_shape=tuple(latent.shape), schedule=schedule,
                               family=info.family)
    if _is_inpaint_model(info):
        pos = [_with_concat(c, latent_image, mask, scale) for c in pos]
        neg = [_with_concat(c, latent_image, mask, scale) for c in neg]
    add_opposite_areas(pos, neg)

    noise = noise.float().to(device)
    denoiser = DiscreteDenoiser(_unet_call(model), info.prediction, schedule)
    model_fn = GuidedDenoiser(denoiser, pos, neg, cfg, interrupt_check=interrupt_check)
    if mask is not None:
        inpaint_noise = noise
        if sampler_name == "ddim" and seed is not None:
            generator = cpu_generator((seed + 1) % 2 ** 64)
            inpaint_noise = torch.randn(noise.shape, generator=generator, device="cpu").to(device)
        model_fn = InpaintDenoiser(model_fn, latent_image, mask, inpaint_noise)

    sigma_max = float(schedule.sigma_max)
    first = float(sigmas[0])
    max_denoise = math.isclose(sigma_max, first, rel_tol=1e-5) or first > sigma_max
    x = latent_image + noise * (math.sqrt(1.0 + first ** 2) if max_denoise else first)

    total = len(sigmas) - 1
    last = {"denoised": latent_image}

    def on_step(info_dict: dict) -> None:
        last["denoised"] = info_dict["denoised"]
        if callback is not None:
            callback(info_dict["i"], info_dict["denoised"], info_dict["x"], total)
        if interrupt_check is not None:
            interrupt_check()

    result = get_sampler(sampler_name)(model_fn, x, sigmas.to(device), callback=on_step, seed=seed)
    samples = (result / scale).float().cpu()
    if mask is not None:
        # Where the mask is 0 this is exactly the input latent (x * 0 + latent * 1), not a round trip through scaling.
        mask_cpu = mask.cpu()
        samples = samples * mask_cpu + latent_f.cpu() * (1.0 - mask_cpu)
    return samples, (last["denoised"] / scale).float().cpu()


def _is_inpaint_model(info) -> bool:
    """Inpainting UNets take extra input channels (detection's `is_inpaint`, else the family name)."""
    flag = getattr(info, "is_inpaint", None)
    return bool(flag) if flag is not None else str(info.family).endswith("-inpaint")


def _with_concat(cond, latent_image, mask, scale):
    concat = inpaint_concat(cond.options, latent_image=latent_image, noise_mask=mask, process_in=lambda t: t * scale)
    return replace(cond, concat=concat)
