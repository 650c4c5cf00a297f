"""The CFG++ samplers: they read the unconditional prediction through `uncond_sink`, step from it,
and without a separate unconditional prediction they are exactly their plain samplers."""

import pytest
import torch
from sampling_toys import GaussianDenoiser

from diffusion.sampling import samplers_cfg_pp as cfg_pp
from diffusion.sampling.registry import get_sampler
from diffusion.sampling.schedules import karras_sigmas

SIGMAS = karras_sigmas(8, 0.03, 10.0).double()


class GuidedGaussian:
    """CFG over two exact Gaussian denoisers (cond mean 1.5, uncond mean -0.5) that reports U to `uncond_sink`."""

    def __init__(self, cfg: float = 3.0) -> None:
        self.cond, self.uncond, self.cfg = GaussianDenoiser(mu=1.5), GaussianDenoiser(mu=-0.5), cfg
        self.sink_calls = 0

    def __call__(self, x, sigma, uncond_sink=None, **_):
        cond, uncond = self.cond(x, sigma), self.uncond(x, sigma)
        if uncond_sink is not None:
            self.sink_calls += 1
            uncond_sink(uncond)
        return uncond + (cond - uncond) * self.cfg


def _start(count=64):
    return 0.5 + 10.0 * torch.randn(1, count, generator=torch.Generator().manual_seed(2), dtype=torch.float64)


def test_guided_call_returns_the_reported_unconditional_prediction():
    model = GuidedGaussian()
    x, sigma = _start(), torch.tensor(2.0, dtype=torch.float64)
    denoised, uncond = cfg_pp.guided_call(model, x, sigma, None)
    assert torch.allclose(uncond, model.uncond(x, sigma.reshape(1)))
    assert torch.allclose(denoised, model(x, sigma.reshape(1)))
    assert model.sink_calls == 1


def test_a_model_without_the_sink_gives_u_equal_d():
    plain = GaussianDenoiser()
    denoised, uncond = cfg_pp.guided_call(plain, _start(), torch.tensor(2.0, dtype=torch.float64), {"other": 1})
    assert uncond is denoised


def test_euler_cfg_pp_step_by_hand():
    model = GuidedGaussian(cfg=2.5)
    x = _start()
    sigmas = torch.tensor([4.0, 1.5], dtype=torch.float64)
    got = get_sampler("euler_cfg_pp")(model, x.clone(), sigmas)
    s = torch.tensor([4.0], dtype=torch.float64)
    guided, uncond = model(x, s), model.uncond(x, s)
    assert torch.allclose(got, guided + 1.5 * (x - uncond) / 4.0)
    # Plain Euler steps from the guided prediction instead: a different point.
    assert not torch.allclose(got, get_sampler("euler")(model, x.clone(), sigmas))


def test_dpmpp_2m_cfg_pp_second_step_by_hand():
    model = GuidedGaussian(cfg=2.0)
    x = _start()
    sigmas = torch.tensor([6.0, 3.0, 1.0], dtype=torch.float64)
    got = cfg_pp.sample_dpmpp_2m_cfg_pp(model, x.clone(), sigmas)
    first_u = model.uncond(x, sigmas[:1])
    x1 = model(x, sigmas[:1]) + (1.0 / 2.0) * (x - first_u)  # e^-h = sigma' / sigma
    d1, u1 = model(x1, sigmas[1:2]), model.uncond(x1, sigmas[1:2])
    h, h_last = torch.log(torch.tensor(3.0)), torch.log(torch.tensor(2.0))
    expected = d1 + (1.0 / 3.0) * (x1 - u1) + (1 - 1.0 / 3.0) / (2 * float(h_last / h)) * (d1 - first_u)
    assert torch.allclose(got, expected)


@pytest.mark.parametrize(("name", "plain"), [
    ("euler_cfg_pp", "euler"),
    ("dpmpp_2m_cfg_pp", "dpmpp_2m"),
    ("res_multistep_cfg_pp", "res_multistep"),
    ("gradient_estimation_cfg_pp", "gradient_estimation"),
    ("euler_ancestral_cfg_pp", "euler_ancestral"),
    ("dpmpp_2s_ancestral_cfg_pp", "dpmpp_2s_ancestral"),
    ("res_multistep_ancestral_cfg_pp", "res_multistep_ancestral"),
])
def test_without_guidance_cfg_pp_is_the_plain_sampler(name, plain):
    model = GaussianDenoiser()  # never calls the sink: U = D
    got = get_sampler(name)(model, _start(), SIGMAS, seed=5)
    assert torch.allclose(got, get_sampler(plain)(model, _start(), SIGMAS, seed=5), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", ["euler_cfg_pp", "euler_ancestral_cfg_pp", "dpmpp_2m_cfg_pp",
                                  "dpmpp_2s_ancestral_cfg_pp", "res_multistep_cfg_pp",
                                  "res_multistep_ancestral_cfg_pp", "gradient_estimation_cfg_pp"])
def test_with_guidance_cfg_pp_ends_on_the_guided_prediction_and_repeats(name):
    model = GuidedGaussian()
    seen = []
    got = get_sampler(name)(model, _start(), SIGMAS, seed=5, callback=lambda info: seen.append(info["denoised"]))
    assert torch.allclose(got, seen[-1])  # the last step to sigma 0 returns D
    assert model.sink_calls >= len(SIGMAS) - 1
    assert torch.equal(got, get_sampler(name)(GuidedGaussian(), _start(), SIGMAS, seed=5))
    plain = name.replace("_cfg_pp", "")
    assert not torch.allclose(got, get_sampler(plain)(GuidedGaussian(), _start(), SIGMAS, seed=5))
