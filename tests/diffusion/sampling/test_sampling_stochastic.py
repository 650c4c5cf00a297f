"""Stochastic samplers reproduce the data distribution's mean and variance, and their noise is seeded.

With the exact denoiser of N(mu, s^2) data and x started from the exact marginal at sigma_max,
the final samples must have mean mu and standard deviation s (up to discretisation bias and
sampling error; thousands of independent scalar chains make this fast).
"""

import math

import pytest
import torch
from sampling_toys import GaussianDenoiser

from diffusion.sampling.registry import STOCHASTIC, get_sampler
from diffusion.sampling.schedules import karras_sigmas

SIGMA_MAX = 10.0


def _start(denoiser, count, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return denoiser.mu + math.sqrt(denoiser.s ** 2 + SIGMA_MAX ** 2) * torch.randn(1, count, generator=generator)


class ConsistencyFunction(GaussianDenoiser):
    """What an LCM model approximates: the endpoint of the probability-flow ODE through (x, sigma)."""

    def __call__(self, x, sigma, **_):
        self.calls += 1
        sigma = torch.as_tensor(sigma, dtype=x.dtype).reshape(-1, 1)
        return self.mu + (x - self.mu) * self.s / (self.s ** 2 + sigma ** 2).sqrt()


@pytest.mark.parametrize(("name", "steps", "count"), [
    ("euler_ancestral", 100, 20000),
    ("dpm_2_ancestral", 100, 20000),
    ("dpmpp_2s_ancestral", 100, 20000),
    ("ddpm", 100, 20000),
    ("dpmpp_sde", 30, 5000),
    ("dpmpp_2m_sde", 30, 5000),
    ("dpmpp_3m_sde", 30, 5000),
])
def test_reproduces_mean_and_variance(name, steps, count):
    denoiser = GaussianDenoiser()
    x = get_sampler(name)(denoiser, _start(denoiser, count), karras_sigmas(steps, 0.01, SIGMA_MAX), seed=7)
    standard_error = denoiser.s / math.sqrt(count)
    assert float(x.mean()) == pytest.approx(denoiser.mu, abs=6 * standard_error)
    assert float(x.std()) == pytest.approx(denoiser.s, rel=0.06)


def test_lcm_with_a_consistency_function_is_exact():
    model = ConsistencyFunction()
    x = get_sampler("lcm")(model, _start(model, 20000), karras_sigmas(4, 0.01, SIGMA_MAX), seed=3)
    assert float(x.mean()) == pytest.approx(model.mu, abs=0.02)
    assert float(x.std()) == pytest.approx(model.s, rel=0.03)


def test_stochastic_samplers_are_marked():
    assert STOCHASTIC == {"euler_ancestral", "euler_ancestral_cfg_pp", "exp_heun_2_x0_sde", "dpm_2_ancestral",
                          "dpmpp_2s_ancestral", "dpmpp_2s_ancestral_cfg_pp", "dpmpp_sde", "dpmpp_sde_gpu",
                          "dpmpp_2m_sde", "dpmpp_2m_sde_gpu", "dpmpp_2m_sde_heun", "dpmpp_2m_sde_heun_gpu",
                          "dpmpp_3m_sde", "dpmpp_3m_sde_gpu", "ddpm", "lcm", "res_multistep_ancestral",
                          "res_multistep_ancestral_cfg_pp", "er_sde", "seeds_2", "seeds_3", "sa_solver",
                          "sa_solver_pece"}


@pytest.mark.parametrize("name", sorted(STOCHASTIC))
def test_same_seed_same_result_other_seed_other_result(name):
    denoiser = GaussianDenoiser()
    sigmas = karras_sigmas(6, 0.03, SIGMA_MAX)
    start = _start(denoiser, 64)
    first = get_sampler(name)(denoiser, start.clone(), sigmas, seed=11)
    again = get_sampler(name)(denoiser, start.clone(), sigmas, seed=11)
    other = get_sampler(name)(denoiser, start.clone(), sigmas, seed=12)
    assert torch.equal(first, again)
    assert not torch.allclose(first, other)


@pytest.mark.parametrize("name", sorted(STOCHASTIC))
def test_stochastic_sampler_without_seed_is_an_error(name):
    denoiser = GaussianDenoiser()
    with pytest.raises(ValueError, match="seed"):
        get_sampler(name)(denoiser, _start(denoiser, 8), karras_sigmas(4, 0.03, SIGMA_MAX))


def test_unknown_sampler_is_named():
    with pytest.raises(ValueError, match="unknown sampler 'euler_magic'"):
        get_sampler("euler_magic")
