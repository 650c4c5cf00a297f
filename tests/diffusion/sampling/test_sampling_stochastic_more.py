"""The newer stochastic samplers reproduce the data distribution, and their noise is what the seed says.

As in test_sampling_stochastic.py: with the exact denoiser of N(mu, s^2) data and x started from
the exact marginal at sigma_max, the samples must end with mean mu and standard deviation s.
"""

import math

import pytest
import torch
from sampling_toys import GaussianDenoiser
from test_sampling_stochastic import SIGMA_MAX, _start

from diffusion.sampling import samplers_dpmpp as dpmpp
from diffusion.sampling import samplers_sde_device as sde_device
from diffusion.sampling.noise import GeneratorNoiseSampler
from diffusion.sampling.registry import get_sampler
from diffusion.sampling.samplers_er_sde import sample_er_sde
from diffusion.sampling.schedules import karras_sigmas


@pytest.mark.parametrize(("name", "steps"), [
    ("er_sde", 30),
    ("seeds_2", 30),
    ("seeds_3", 30),
    ("exp_heun_2_x0_sde", 30),
    ("sa_solver", 30),
    ("sa_solver_pece", 30),
    ("res_multistep_ancestral", 30),
    ("res_multistep_ancestral_cfg_pp", 30),
    ("dpmpp_2s_ancestral_cfg_pp", 30),
    ("euler_ancestral_cfg_pp", 100),  # first order, like euler_ancestral
    ("dpmpp_2m_sde_heun", 30),
    ("dpmpp_sde_gpu", 30),
    ("dpmpp_2m_sde_gpu", 30),
    ("dpmpp_2m_sde_heun_gpu", 30),
    ("dpmpp_3m_sde_gpu", 30),
])
def test_reproduces_mean_and_variance(name, steps):
    count = 5000
    denoiser = GaussianDenoiser()
    x = get_sampler(name)(denoiser, _start(denoiser, count), karras_sigmas(steps, 0.01, SIGMA_MAX), seed=7)
    standard_error = denoiser.s / math.sqrt(count)
    assert float(x.mean()) == pytest.approx(denoiser.mu, abs=6 * standard_error)
    assert float(x.std()) == pytest.approx(denoiser.s, rel=0.06)


@pytest.mark.parametrize(("gpu", "plain", "options"), [
    ("dpmpp_sde_gpu", dpmpp.sample_dpmpp_sde, {}),
    ("dpmpp_2m_sde_gpu", dpmpp.sample_dpmpp_2m_sde, {}),
    ("dpmpp_2m_sde_heun_gpu", dpmpp.sample_dpmpp_2m_sde, {"solver_type": "heun"}),
    ("dpmpp_3m_sde_gpu", dpmpp.sample_dpmpp_3m_sde, {}),
])
def test_gpu_variants_on_a_cpu_latent_equal_the_plain_samplers(gpu, plain, options):
    denoiser = GaussianDenoiser()
    sigmas = karras_sigmas(8, 0.03, SIGMA_MAX)
    start = _start(denoiser, 64)
    expected = plain(denoiser, start.clone(), sigmas, seed=21, **options)
    assert torch.equal(get_sampler(gpu)(denoiser, start.clone(), sigmas, seed=21), expected)


def test_dpmpp_2m_sde_heun_is_the_heun_solver_type():
    denoiser = GaussianDenoiser()
    sigmas = karras_sigmas(8, 0.03, SIGMA_MAX)
    start = _start(denoiser, 64)
    heun = dpmpp.sample_dpmpp_2m_sde(denoiser, start.clone(), sigmas, seed=4, solver_type="heun")
    midpoint = dpmpp.sample_dpmpp_2m_sde(denoiser, start.clone(), sigmas, seed=4)
    assert torch.equal(get_sampler("dpmpp_2m_sde_heun")(denoiser, start.clone(), sigmas, seed=4), heun)
    assert not torch.allclose(heun, midpoint)


def test_device_brownian_tree_noise_has_unit_variance_and_is_seeded():
    x = torch.zeros(1, 20000)
    first = sde_device.DeviceBrownianNoiseSampler(x, 0.1, 10.0, seed=3)
    again = sde_device.DeviceBrownianNoiseSampler(x, 0.1, 10.0, seed=3)
    noise = first(torch.tensor(5.0), torch.tensor(2.0))
    assert torch.equal(noise, again(torch.tensor(5.0), torch.tensor(2.0)))
    assert float(noise.std()) == pytest.approx(1.0, rel=0.03) and abs(float(noise.mean())) < 0.05
    with pytest.raises(ValueError, match="sigma_min < sigma_max"):
        sde_device.DeviceBrownianNoiseSampler(x, 1.0, 1.0, seed=3)


@pytest.mark.parametrize("name", ["er_sde", "seeds_2", "seeds_3", "sa_solver", "res_multistep_ancestral",
                                  "euler_ancestral_cfg_pp", "exp_heun_2_x0_sde"])
def test_noise_comes_only_from_the_given_generator(name):
    # An explicit noise sampler over a fixed generator: the same generator state gives the same result.
    denoiser = GaussianDenoiser()
    sigmas = karras_sigmas(6, 0.03, SIGMA_MAX)
    start = _start(denoiser, 64)
    runs = []
    for global_seed in (999, 1234):
        torch.manual_seed(global_seed)  # the global generator must not matter
        noise = GeneratorNoiseSampler(start, 5)
        runs.append(_call_with_noise_sampler(name, denoiser, start.clone(), sigmas, noise))
    assert torch.equal(runs[0], runs[1])
    other = _call_with_noise_sampler(name, denoiser, start.clone(), sigmas, GeneratorNoiseSampler(start, 6))
    assert not torch.allclose(runs[0], other)


def _call_with_noise_sampler(name, model, x, sigmas, noise):
    from diffusion.sampling import registry

    return registry._SEEDED[name](model, x, sigmas, noise_sampler=noise)


def test_er_sde_without_noise_is_deterministic_and_checks_its_stage():
    denoiser = GaussianDenoiser()
    sigmas = karras_sigmas(6, 0.03, SIGMA_MAX)
    start = _start(denoiser, 16)
    first = sample_er_sde(denoiser, start.clone(), sigmas, s_noise=0.0)
    assert torch.equal(first, sample_er_sde(denoiser, start.clone(), sigmas, s_noise=0.0))
    with pytest.raises(ValueError, match="max_stage"):
        sample_er_sde(denoiser, start, sigmas, seed=1, max_stage=4)
