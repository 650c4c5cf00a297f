"""The names of the samplers and schedulers, in ComfyUI's order: torch-free, for node declarations.

The KSampler combos list these when the registry is built, long before (or without) any
sampling: this module imports nothing, so building the registry and validating a prompt
need no torch. `registry.get_sampler` and `schedules.calculate_sigmas` implement exactly
these names (tests/diffusion/sampling/test_sampling_names.py checks that they agree).
"""

# ComfyUI's KSampler.SAMPLERS order, for the ones implemented here.
SAMPLER_NAMES = ("euler", "euler_ancestral", "heun", "heunpp2", "dpm_2", "dpm_2_ancestral", "lms", "dpm_fast",
                 "dpm_adaptive", "dpmpp_2s_ancestral", "dpmpp_sde", "dpmpp_2m", "dpmpp_2m_sde", "dpmpp_3m_sde",
                 "ddpm", "lcm", "ddim", "uni_pc", "uni_pc_bh2")

# ComfyUI's KSampler.SCHEDULERS order.
SCHEDULER_NAMES = ("simple", "sgm_uniform", "karras", "exponential", "ddim_uniform", "beta", "normal",
                   "linear_quadratic", "kl_optimal")
