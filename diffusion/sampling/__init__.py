"""Sampling for Stable Diffusion: schedules, k-diffusion style samplers, the denoiser wrapper
(discrete SD schedule, eps/v, CFG over conds with areas, masks, strengths, timestep ranges),
ComfyUI-compatible noise, latent previews and the high-level `sample` the KSampler nodes call.

This package file imports nothing (so `diffusion.sampling.names` stays torch-free); import
from the submodules. Module map:
- `names`: SAMPLER_NAMES, SCHEDULER_NAMES (no torch: node declarations list them)
- `discrete`: DiscreteSchedule (sigma table, sigma <-> timestep), schedule_of
- `schedules`: scheduler functions, calculate_sigmas, karras_sigmas
- `sigma_plan`: KSampler's sigma rules (denoise, penultimate drop, start/end step window)
- `samplers_euler`, `samplers_dpmpp`, `samplers_dpm_solver`, `samplers_unipc`, `samplers_multistep`,
  `samplers_res`, `samplers_seeds`, `samplers_er_sde`, `samplers_sa_solver`, `samplers_sde_device`,
  `samplers_cfg_pp`: sample_<name>
- `registry`: get_sampler(name)
- `noise`: prepare_noise, generator / Brownian-tree noise samplers
- `denoiser`, `conds`, `cfg`, `inpaint_concat`: from UNet to guided denoiser
- `previews`: latent_to_rgb, encode_preview
- `sample`: sample, sample_with_sigmas, fit_latent_channels, prepare_noise_mask
"""
