"""CFG++ samplers (Chung et al. 2024): euler_cfg_pp, euler_ancestral_cfg_pp, dpmpp_2m_cfg_pp,
dpmpp_2s_ancestral_cfg_pp, SamplerEulerCFG++'s "alternative" `sample_euler_pp`, and `guided_call`, the
way every CFG++ sampler reads both predictions.

CFG++ takes the step's direction from the unconditional prediction U and its end point from the
guided one D: an Euler step becomes x' = D + sigma' (x - U) / sigma. The guided model reports U
through `uncond_sink`, a keyword the sampler adds to the model call: a model that supports it calls
`uncond_sink(U)` once per call (evaluating U even at cfg 1). A model that never calls it has no
separate unconditional prediction; U = D is used then, and each CFG++ sampler is its plain sampler.
"""

from __future__ import annotations

import torch

from diffusion.sampling.sampler_utils import ancestral_step, call_model, generator_noise, report

UNCOND_SINK = "uncond_sink"


class _Capture:
    def __init__(self) -> None:
        self.value: torch.Tensor | None = None

    def __call__(self, uncond: torch.Tensor) -> None:
        self.value = uncond


def guided_call(model, x: torch.Tensor, sigma: torch.Tensor,
                extra_args: dict | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(guided denoised D, unconditional denoised U) at one noise level; U = D if the model reports none."""
    capture = _Capture()
    denoised = call_model(model, x, sigma, {**(extra_args or {}), UNCOND_SINK: capture})
    return denoised, (denoised if capture.value is None else capture.value)


def _lam(sigma: torch.Tensor) -> torch.Tensor:
    return sigma.log().neg()


def sample_euler_ancestral_cfg_pp(model, x, sigmas, *, extra_args=None, callback=None, disable=None, eta=1.0,
                                  s_noise=1.0, noise_sampler=None, seed=None):
    """Euler ancestral with CFG++: x' = D + sigma_down (x - U) / sigma, plus fresh noise sigma_up."""
    noise = generator_noise(x, noise_sampler, seed) if eta and s_noise else None
    for i in range(len(sigmas) - 1):
        denoised, uncond = guided_call(model, x, sigmas[i], extra_args)
        report(callback, i, x, sigmas[i], denoised)
        if sigmas[i + 1] == 0:
            x = denoised
            continue
        sigma_down, sigma_up = ancestral_step(sigmas[i], sigmas[i + 1], eta)
        x = denoised + sigma_down * (x - uncond) / sigmas[i]
        if noise is not None:
            x = x + noise(sigmas[i], sigmas[i + 1]) * s_noise * sigma_up
    return x


def sample_euler_cfg_pp(model, x, sigmas, *, extra_args=None, callback=None, disable=None):
    """Euler with CFG++ (deterministic): x' = D + sigma' (x - U) / sigma."""
    return sample_euler_ancestral_cfg_pp(model, x, sigmas, extra_args=extra_args, callback=callback, eta=0.0,
                                         s_noise=0.0)


def sample_euler_pp(model, x, sigmas, *, extra_args=None, callback=None, disable=None):
    """SamplerEulerCFG++ "alternative": Euler steps along dx/dsigma = (x - 2 D + U) / sigma."""
    for i in range(len(sigmas) - 1):
        denoised, uncond = guided_call(model, x, sigmas[i], extra_args)
        report(callback, i, x, sigmas[i], denoised)
        x = x + (x - denoised + uncond - denoised) / sigmas[i] * (sigmas[i + 1] - sigmas[i])
    return x


EULER_CFG_PP_VERSIONS = ("regular", "alternative")


def sample_euler_cfg_pp_version(model, x, sigmas, *, extra_args=None, callback=None, disable=None,
                                version="regular"):
    """SamplerEulerCFG++'s sampler: "regular" is euler_cfg_pp, "alternative" `sample_euler_pp`."""
    if version == "regular":
        return sample_euler_cfg_pp(model, x, sigmas, extra_args=extra_args, callback=callback)
    if version == "alternative":
        return sample_euler_pp(model, x, sigmas, extra_args=extra_args, callback=callback)
    raise ValueError(f"unknown euler_cfg_pp version {version!r}; expected one of {', '.join(EULER_CFG_PP_VERSIONS)}")


def sample_dpmpp_2m_cfg_pp(model, x, sigmas, *, extra_args=None, callback=None, disable=None):
    """DPM-Solver++(2M) with CFG++: the exponential step leaves from x - U and lands on D.

    Its second-order term uses D - U_previous (ComfyUI's choice), which is DPM++(2M) exactly when D = U.
    """
    previous_uncond = None
    for i in range(len(sigmas) - 1):
        denoised, uncond = guided_call(model, x, sigmas[i], extra_args)
        report(callback, i, x, sigmas[i], denoised)
        if sigmas[i + 1] == 0:
            x = denoised
            previous_uncond = uncond
            continue
        h = _lam(sigmas[i + 1]) - _lam(sigmas[i])
        x = denoised + (-h).exp() * (x - uncond)
        if previous_uncond is not None:
            ratio = (_lam(sigmas[i]) - _lam(sigmas[i - 1])) / h
            x = x - (-h).expm1() / (2 * ratio) * (denoised - previous_uncond)
        previous_uncond = uncond
    return x


def sample_dpmpp_2s_ancestral_cfg_pp(model, x, sigmas, *, extra_args=None, callback=None, disable=None, eta=1.0,
                                     s_noise=1.0, noise_sampler=None, seed=None):
    """DPM-Solver++(2S) ancestral with CFG++, as ComfyUI does it.

    Both stages step with the unconditional predictions; the step's guidance D - U (from its first
    evaluation) is added after the noise. The midpoint evaluation's guided output is not used.
    """
    noise = generator_noise(x, noise_sampler, seed)
    for i in range(len(sigmas) - 1):
        denoised, uncond = guided_call(model, x, sigmas[i], extra_args)
        guidance = denoised - uncond
        sigma_down, sigma_up = ancestral_step(sigmas[i], sigmas[i + 1], eta)
        report(callback, i, x, sigmas[i], denoised)
        if sigma_down == 0:
            x = uncond
        else:
            lam, lam_next = _lam(sigmas[i]), _lam(sigma_down)
            h = lam_next - lam
            sigma_mid = (lam + h / 2).neg().exp()
            x_mid = (sigma_mid / sigmas[i]) * x - (-h / 2).expm1() * uncond
            _, uncond_mid = guided_call(model, x_mid, sigma_mid, extra_args)
            x = (sigma_down / sigmas[i]) * x - (-h).expm1() * uncond_mid
        if sigmas[i + 1] > 0:
            x = x + noise(sigmas[i], sigmas[i + 1]) * s_noise * sigma_up
        x = x + guidance
    return x
