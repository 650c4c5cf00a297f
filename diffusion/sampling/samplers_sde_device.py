"""dpmpp_2m_sde_heun and the `_gpu` SDE samplers: dpmpp_sde_gpu, dpmpp_2m_sde_gpu,
dpmpp_2m_sde_heun_gpu, dpmpp_3m_sde_gpu.

The `_gpu` variants are the plain SDE samplers with their Brownian tree built on the latent's
device instead of the CPU (ComfyUI's cpu=False tree): faster on a GPU, but the noise of a seed then
depends on the device. On a CPU latent they give exactly what the plain samplers give.
"""

from __future__ import annotations

import warnings

import torch

import diffusion.sampling.samplers_dpmpp as dpmpp
from diffusion.sampling.noise import NoiseSampler, check_seed


class DeviceBrownianNoiseSampler:
    """Unit noise (W(b) - W(a)) / sqrt(|b - a|) from a torchsde Brownian tree on x's device, seeded with `seed`."""

    def __init__(self, x: torch.Tensor, sigma_min: torch.Tensor | float, sigma_max: torch.Tensor | float,
                 seed: int) -> None:
        import torchsde  # imported here so the rest of sampling works without it

        check_seed(seed)
        device = x.device
        t0 = torch.as_tensor(sigma_min).detach().to(device=device, dtype=torch.float32)
        t1 = torch.as_tensor(sigma_max).detach().to(device=device, dtype=torch.float32)
        self._sign = 1.0
        if t1 < t0:
            t0, t1, self._sign = t1, t0, -1.0
        if not t1 > t0:
            raise ValueError(f"a Brownian tree needs sigma_min < sigma_max, got {float(t0)} and {float(t1)}")
        w0 = torch.zeros(x.shape, dtype=torch.float32, device=device)
        self._tree = torchsde.BrownianTree(t0, w0, t1, entropy=seed)
        self._dtype, self._device = x.dtype, device

    def __call__(self, sigma: torch.Tensor, sigma_next: torch.Tensor) -> torch.Tensor:
        a = torch.as_tensor(sigma).detach().to(device=self._device, dtype=torch.float32)
        b = torch.as_tensor(sigma_next).detach().to(device=self._device, dtype=torch.float32)
        sign = self._sign
        if b < a:
            a, b, sign = b, a, -sign
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Should have t", category=UserWarning)
            increment = self._tree(a, b) * sign
        return (increment / (b - a).abs().sqrt()).to(dtype=self._dtype)


def device_brownian_noise(x: torch.Tensor, sigmas: torch.Tensor, noise_sampler: NoiseSampler | None,
                          seed: int | None) -> NoiseSampler | None:
    """The given noise sampler, else a Brownian tree on x's device over the positive sigmas (None: nothing to do)."""
    if noise_sampler is not None:
        return noise_sampler
    if seed is None:
        raise ValueError("this SDE sampler is stochastic: pass seed= or noise_sampler=")
    positive = sigmas[sigmas > 0]
    if len(sigmas) <= 1 or positive.numel() == 0:
        return None
    return DeviceBrownianNoiseSampler(x, positive.min(), sigmas.max(), seed)


def sample_dpmpp_2m_sde_heun(model, x, sigmas, *, extra_args=None, callback=None, disable=None, eta=1.0,
                             s_noise=1.0, noise_sampler=None, seed=None):
    """DPM-Solver++(2M) SDE with the Heun-type second-order correction."""
    return dpmpp.sample_dpmpp_2m_sde(model, x, sigmas, extra_args=extra_args, callback=callback, eta=eta,
                                     s_noise=s_noise, noise_sampler=noise_sampler, seed=seed, solver_type="heun")


def sample_dpmpp_sde_gpu(model, x, sigmas, *, extra_args=None, callback=None, disable=None, eta=1.0, s_noise=1.0,
                         noise_sampler=None, seed=None, r=0.5):
    """dpmpp_sde with its Brownian tree on the latent's device."""
    noise = device_brownian_noise(x, sigmas, noise_sampler, seed) if eta else None
    return dpmpp.sample_dpmpp_sde(model, x, sigmas, extra_args=extra_args, callback=callback, eta=eta,
                                  s_noise=s_noise, noise_sampler=noise, seed=seed, r=r)


def sample_dpmpp_2m_sde_gpu(model, x, sigmas, *, extra_args=None, callback=None, disable=None, eta=1.0,
                            s_noise=1.0, noise_sampler=None, seed=None, solver_type="midpoint"):
    """dpmpp_2m_sde with its Brownian tree on the latent's device."""
    noise = device_brownian_noise(x, sigmas, noise_sampler, seed) if eta else None
    return dpmpp.sample_dpmpp_2m_sde(model, x, sigmas, extra_args=extra_args, callback=callback, eta=eta,
                                     s_noise=s_noise, noise_sampler=noise, seed=seed, solver_type=solver_type)


def sample_dpmpp_2m_sde_heun_gpu(model, x, sigmas, *, extra_args=None, callback=None, disable=None, eta=1.0,
                                 s_noise=1.0, noise_sampler=None, seed=None):
    """dpmpp_2m_sde_heun with its Brownian tree on the latent's device."""
    return sample_dpmpp_2m_sde_gpu(model, x, sigmas, extra_args=extra_args, callback=callback, eta=eta,
                                   s_noise=s_noise, noise_sampler=noise_sampler, seed=seed, solver_type="heun")


def sample_dpmpp_3m_sde_gpu(model, x, sigmas, *, extra_args=None, callback=None, disable=None, eta=1.0,
                            s_noise=1.0, noise_sampler=None, seed=None):
    """dpmpp_3m_sde with its Brownian tree on the latent's device."""
    noise = device_brownian_noise(x, sigmas, noise_sampler, seed) if eta else None
    return dpmpp.sample_dpmpp_3m_sde(model, x, sigmas, extra_args=extra_args, callback=callback, eta=eta,
                                     s_noise=s_noise, noise_sampler=noise, seed=seed)
