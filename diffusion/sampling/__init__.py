"""Sampling for Stable Diffusion: schedules, k-diffusion style samplers, the denoiser wrapper
(discrete SD schedule, eps/v, CFG over conds with areas, masks, strengths, timestep ranges),
ComfyUI-compatible noise, latent previews and the high-level `sample` the KSampler nodes call.

Module map:
- `discrete`: DiscreteSchedule (sigma table, sigma <-> timestep)
- `schedules`: scheduler functions, SCHEDULER_NAMES, calculate_sigmas
- `sigma_plan`: KSampler's sigma rules (denoise, penultimate drop, start/end step window)
- `samplers_euler`, `samplers_dpmpp`, `samplers_dpm_solver`, `samplers_unipc`: sample_<name>
- `registry`: SAMPLER_NAMES, get_sampler(name)
- `noise`: prepare_noise, generator / Brownian-tree noise samplers
- `denoiser`, `conds`, `cfg`, `inpaint_concat`: from UNet to guided denoiser
- `previews`: latent_to_rgb, encode_preview
- `sample`: sample, sample_with_sigmas, fit_latent_channels, prepare_noise_mask
"""

from diffusion.sampling.discrete import DiscreteSchedule, schedule_of
from diffusion.sampling.noise import prepare_noise
from diffusion.sampling.previews import encode_preview, latent_to_rgb
from diffusion.sampling.registry import SAMPLER_NAMES, get_sampler
from diffusion.sampling.sample import fit_latent_channels, sample, sample_with_sigmas
from diffusion.sampling.schedules import SCHEDULER_NAMES, calculate_sigmas, karras_sigmas
from diffusion.sampling.sigma_plan import basic_scheduler_sigmas, denoise_sigmas

__all__ = [
    "SAMPLER_NAMES",
    "SCHEDULER_NAMES",
    "DiscreteSchedule",
    "basic_scheduler_sigmas",
    "calculate_sigmas",
    "denoise_sigmas",
    "encode_preview",
    "fit_latent_channels",
    "get_sampler",
    "karras_sigmas",
    "latent_to_rgb",
    "prepare_noise",
    "sample",
    "sample_with_sigmas",
    "schedule_of",
]
