"""The names of the samplers and schedulers, in ComfyUI's order: torch-free, for node declarations.

The KSampler combos list these when the registry is built, long before (or without) any
sampling: this module imports nothing, so building the registry and validating a prompt
need no torch. `registry.get_sampler` and `schedules.calculate_sigmas` implement exactly
these names (tests/diffusion/sampling/test_sampling_names.py checks that they agree).
"""

# ComfyUI's KSampler.SAMPLERS order.
SAMPLER_NAMES = ("euler", "euler_cfg_pp", "euler_ancestral", "euler_ancestral_cfg_pp", "heun", "heunpp2",
                 "exp_heun_2_x0", "exp_heun_2_x0_sde", "dpm_2", "dpm_2_ancestral", "lms", "dpm_fast", "dpm_adaptive",
                 "dpmpp_2s_ancestral", "dpmpp_2s_ancestral_cfg_pp", "dpmpp_sde", "dpmpp_sde_gpu", "dpmpp_2m",
                 "dpmpp_2m_cfg_pp", "dpmpp_2m_sde", "dpmpp_2m_sde_gpu", "dpmpp_2m_sde_heun", "dpmpp_2m_sde_heun_gpu",
                 "dpmpp_3m_sde", "dpmpp_3m_sde_gpu", "ddpm", "lcm", "ipndm", "ipndm_v", "deis", "res_multistep",
                 "res_multistep_cfg_pp", "res_multistep_ancestral", "res_multistep_ancestral_cfg_pp",
                 "gradient_estimation", "gradient_estimation_cfg_pp", "er_sde", "seeds_2", "seeds_3", "sa_solver",
                 "sa_solver_pece", "ddim", "uni_pc", "uni_pc_bh2")

# ComfyUI's KSampler.SCHEDULERS order.
SCHEDULER_NAMES = ("simple", "sgm_uniform", "karras", "exponential", "ddim_uniform", "beta", "normal",
                   "linear_quadratic", "kl_optimal")
