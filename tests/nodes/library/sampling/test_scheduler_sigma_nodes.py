"""The scheduler and sigma nodes: what they compute (through the node adapter) and their bad-input errors."""

from types import SimpleNamespace

import pytest
import torch

from diffusion.sampling import published_schedules, schedules
from diffusion.sampling.discrete import DiscreteSchedule
from nodes.library.sampling import schedulers as nodes
from nodes.library.sampling import sigma_nodes
from tests.nodes.sd_fakes import values

SCHEDULE = DiscreteSchedule()


@pytest.fixture
def ctx(make_ctx):
    return make_ctx()


@pytest.fixture
def model():
    """A stand-in MODEL: the nodes only read its latent format and (default SD) schedule."""
    return SimpleNamespace(model_info=SimpleNamespace(latent_format=SimpleNamespace(scale_factor=0.18215, channels=4)))


def test_exponential_and_polyexponential_nodes(ctx):
    (sigmas,) = values(nodes.ExponentialScheduler, ctx, steps=4, sigma_max=8.0, sigma_min=1.0)
    assert sigmas.tolist() == pytest.approx([8.0, 4.0, 2.0, 1.0, 0.0], rel=1e-5)
    (poly,) = values(nodes.PolyexponentialScheduler, ctx, steps=4, sigma_max=8.0, sigma_min=1.0, rho=1.0)
    assert torch.allclose(poly, sigmas)
    with pytest.raises(ValueError, match="ExponentialScheduler: need 0 < sigma_min < sigma_max"):
        values(nodes.ExponentialScheduler, ctx, steps=4, sigma_max=1.0, sigma_min=8.0)
    with pytest.raises(ValueError, match="PolyexponentialScheduler: input 'rho'"):
        values(nodes.PolyexponentialScheduler, ctx, steps=4, sigma_max=8.0, sigma_min=1.0, rho=0.0)


def test_vp_laplace_nodes(ctx):
    (vp,) = values(nodes.VPScheduler, ctx, steps=5, beta_d=19.9, beta_min=0.1, eps_s=0.001)
    assert torch.equal(vp, schedules.vp_sigmas(5, 19.9, 0.1, 0.001)) and vp[-1] == 0
    assert float(vp[0]) == pytest.approx((torch.tensor(19.9 / 2 + 0.1).exp() - 1).sqrt().item(), rel=1e-5)
    with pytest.raises(ValueError, match="VPScheduler: input 'eps_s'"):
        values(nodes.VPScheduler, ctx, steps=5, beta_d=19.9, beta_min=0.1, eps_s=0.0)
    (laplace,) = values(nodes.LaplaceScheduler, ctx, steps=6, sigma_max=14.6, sigma_min=0.03, mu=0.0, beta=0.5)
    assert len(laplace) == 6 and torch.all(laplace[:-1] >= laplace[1:])
    with pytest.raises(ValueError, match="LaplaceScheduler: input 'beta'"):
        values(nodes.LaplaceScheduler, ctx, steps=6, sigma_max=14.6, sigma_min=0.03, mu=0.0, beta=0.0)


def test_model_schedulers_read_the_model_schedule(ctx, model):
    (turbo,) = values(nodes.SDTurboScheduler, ctx, model=model, steps=2, denoise=1.0)
    assert turbo.tolist() == pytest.approx([float(SCHEDULE.sigmas[999]), float(SCHEDULE.sigmas[899]), 0.0], rel=1e-6)
    (beta,) = values(nodes.BetaSamplingScheduler, ctx, model=model, steps=10, alpha=0.6, beta=0.6)
    assert torch.equal(beta, schedules.beta_sigmas(SCHEDULE, 10, 0.6, 0.6))
    with pytest.raises(TypeError, match="SDTurboScheduler: input 'model'"):
        values(nodes.SDTurboScheduler, ctx, model="not a model", steps=2, denoise=1.0)
    with pytest.raises(ValueError, match="BetaSamplingScheduler: input 'alpha'"):
        values(nodes.BetaSamplingScheduler, ctx, model=model, steps=10, alpha=0.0, beta=0.6)


def test_published_table_nodes(ctx):
    (ays,) = values(nodes.AlignYourStepsScheduler, ctx, model_type="SDXL", steps=10, denoise=1.0)
    assert ays.tolist() == pytest.approx(list(published_schedules.ALIGN_YOUR_STEPS["SDXL"][:-1]) + [0.0])
    assert nodes.AYS_MODEL_TYPES == published_schedules.AYS_MODEL_TYPES
    (gits,) = values(nodes.GITSScheduler, ctx, coeff=1.2, steps=10, denoise=1.0)
    assert torch.equal(gits, published_schedules.gits_sigmas(1.2, 10))
    with pytest.raises(ValueError, match="GITSScheduler: coeff must be one of"):
        values(nodes.GITSScheduler, ctx, coeff=1.23, steps=10, denoise=1.0)


def test_sigma_edit_nodes(ctx):
    sigmas = torch.tensor([6.0, 3.0, 1.0, 0.0])
    (flipped,) = values(sigma_nodes.FlipSigmas, ctx, sigmas=sigmas)
    assert flipped.tolist() == pytest.approx([0.0001, 1.0, 3.0, 6.0]) and sigmas[0] == 6.0
    (first,) = values(sigma_nodes.SetFirstSigma, ctx, sigmas=sigmas, sigma=20.0)
    assert first.tolist() == [20.0, 3.0, 1.0, 0.0] and sigmas[0] == 6.0
    high, low = values(sigma_nodes.SplitSigmasDenoise, ctx, sigmas=sigmas, denoise=0.67)
    assert high.tolist() == [6.0, 3.0] and low.tolist() == [3.0, 1.0, 0.0]
    (extended,) = values(sigma_nodes.ExtendIntermediateSigmas, ctx, sigmas=sigmas, steps=2, start_at_sigma=-1.0,
                         end_at_sigma=2.0, spacing="linear")
    assert extended.tolist() == [6.0, 4.5, 3.0, 2.0, 1.0, 0.0]
    (manual,) = values(sigma_nodes.ManualSigmas, ctx, sigmas="7.5, 2, 0")
    assert manual.tolist() == [7.5, 2.0, 0.0]


def test_sigma_nodes_bad_input(ctx):
    with pytest.raises(ValueError, match="FlipSigmas: input 'sigmas'"):
        values(sigma_nodes.FlipSigmas, ctx, sigmas=torch.zeros(2, 2))
    with pytest.raises(ValueError, match="SetFirstSigma: input 'sigmas' is empty"):
        values(sigma_nodes.SetFirstSigma, ctx, sigmas=torch.zeros(0), sigma=1.0)
    with pytest.raises(ValueError, match="SplitSigmasDenoise: input 'sigmas'"):
        values(sigma_nodes.SplitSigmasDenoise, ctx, sigmas=torch.tensor([1.0, float("nan")]), denoise=0.5)
    with pytest.raises(ValueError, match="ExtendIntermediateSigmas: input 'spacing'"):
        values(sigma_nodes.ExtendIntermediateSigmas, ctx, sigmas=torch.tensor([1.0, 0.0]), steps=2,
               start_at_sigma=-1.0, end_at_sigma=0.0, spacing="square")
    with pytest.raises(ValueError, match="ManualSigmas: input 'sigmas' must hold sigmas >= 0"):
        values(sigma_nodes.ManualSigmas, ctx, sigmas="1, -0.5")


def test_sampling_percent_to_sigma(ctx, model):
    (sigma,) = values(sigma_nodes.SamplingPercentToSigma, ctx, model=model, sampling_percent=0.25,
                      return_actual_sigma=False)
    timestep = float(SCHEDULE.timestep_continuous(torch.tensor(sigma)))
    assert timestep == pytest.approx(0.75 * 999, abs=0.05)
    assert values(sigma_nodes.SamplingPercentToSigma, ctx, model=model, sampling_percent=0.0,
                  return_actual_sigma=False) == (999999999.9,)
    (top,) = values(sigma_nodes.SamplingPercentToSigma, ctx, model=model, sampling_percent=0.0,
                    return_actual_sigma=True)
    (bottom,) = values(sigma_nodes.SamplingPercentToSigma, ctx, model=model, sampling_percent=1.0,
                       return_actual_sigma=True)
    assert top == pytest.approx(float(SCHEDULE.sigma_max)) and bottom == pytest.approx(float(SCHEDULE.sigma_min))
    with pytest.raises(TypeError, match="SamplingPercentToSigma: input 'model'"):
        values(sigma_nodes.SamplingPercentToSigma, ctx, model=None, sampling_percent=0.5, return_actual_sigma=False)
