"""Schedules against their closed forms, the discrete SD schedule, and KSampler's sigma rules."""

import math

import pytest
import torch

from diffusion.sampling.beta_distribution import beta_cdf, beta_ppf
from diffusion.sampling.discrete import DiscreteSchedule
from diffusion.sampling.schedules import (
    SCHEDULER_NAMES,
    calculate_sigmas,
    exponential_sigmas,
    karras_sigmas,
    kl_optimal_sigmas,
)
from diffusion.sampling.sigma_plan import basic_scheduler_sigmas, denoise_sigmas, sampler_sigmas, step_window

SCHEDULE = DiscreteSchedule()


def test_discrete_table_matches_scaled_linear_betas():
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
    alphabar = torch.cumprod(1 - betas, 0)
    expected = ((1 - alphabar) / alphabar).sqrt()
    assert torch.allclose(SCHEDULE.sigmas.double(), expected, rtol=1e-6)
    assert float(SCHEDULE.sigma_min) == pytest.approx(0.029168, abs=1e-5)
    assert float(SCHEDULE.sigma_max) == pytest.approx(14.614642, abs=1e-4)


def test_sigma_timestep_round_trip():
    integer_steps = torch.arange(0, 1000, dtype=torch.float32)
    assert torch.equal(SCHEDULE.timestep(SCHEDULE.sigma(integer_steps)), integer_steps)
    assert torch.allclose(SCHEDULE.timestep_continuous(SCHEDULE.sigma(integer_steps)), integer_steps, atol=1e-3)
    fractional = torch.tensor([0.25, 10.5, 499.75, 998.1])
    assert torch.allclose(SCHEDULE.timestep_continuous(SCHEDULE.sigma(fractional)), fractional, atol=2e-3)
    # sigma(t) interpolates log sigma linearly between table entries.
    halfway = SCHEDULE.sigma(torch.tensor(10.5))
    assert float(halfway) == pytest.approx(math.sqrt(float(SCHEDULE.sigmas[10]) * float(SCHEDULE.sigmas[11])), rel=1e-5)


def test_timestep_is_nearest_in_log_sigma():
    between = (SCHEDULE.sigmas[100] * 0.3 + SCHEDULE.sigmas[101] * 0.7)
    assert float(SCHEDULE.timestep(between)) == 101.0
    assert float(SCHEDULE.timestep(torch.tensor(100.0))) == 999.0  # clamps above the table
    assert SCHEDULE.timestep(torch.tensor([1.0, 2.0])).shape == (2,)


def test_percent_to_sigma():
    assert SCHEDULE.percent_to_sigma(0.0) > 1e8
    assert SCHEDULE.percent_to_sigma(1.0) == 0.0
    assert SCHEDULE.percent_to_sigma(0.5) == pytest.approx(float(SCHEDULE.sigma(torch.tensor(499.5))), rel=1e-6)


def test_discrete_schedule_rejects_bad_parameters():
    with pytest.raises(ValueError, match="beta_start"):
        DiscreteSchedule(beta_start=0.02, beta_end=0.01)
    with pytest.raises(ValueError, match="timesteps"):
        DiscreteSchedule(num_timesteps=1)


@pytest.mark.parametrize("name", SCHEDULER_NAMES)
@pytest.mark.parametrize("steps", [1, 2, 7, 20, 50])
def test_every_schedule_ends_in_zero_and_does_not_increase(name, steps):
    sigmas = calculate_sigmas(SCHEDULE, name, steps)
    assert sigmas[-1] == 0
    assert torch.all(sigmas[:-1] > 0)
    assert torch.all(sigmas[1:] <= sigmas[:-1])
    # beta drops duplicate timesteps; ddim_uniform strides by 1000 // steps, which can fit one more
    if name not in ("beta", "ddim_uniform"):
        assert len(sigmas) == steps + 1
    assert float(sigmas[0]) <= float(SCHEDULE.sigma_max) * (1 + 1e-6)


def test_karras_closed_form():
    n, lo, hi, rho = 10, 0.03, 14.6, 7.0
    sigmas = karras_sigmas(n, lo, hi, rho)
    for i in range(n):
        expected = (hi ** (1 / rho) + i / (n - 1) * (lo ** (1 / rho) - hi ** (1 / rho))) ** rho
        assert float(sigmas[i]) == pytest.approx(expected, rel=1e-5)
    assert calculate_sigmas(SCHEDULE, "karras", n)[0] == pytest.approx(float(SCHEDULE.sigma_max))


def test_exponential_is_log_linear():
    sigmas = exponential_sigmas(12, 0.03, 14.6)
    steps = sigmas[:-1].log().diff()
    assert torch.allclose(steps, steps[0].expand_as(steps), atol=1e-5)
    assert float(sigmas[0]) == pytest.approx(14.6, rel=1e-6)
    assert float(sigmas[-2]) == pytest.approx(0.03, rel=1e-5)


def test_kl_optimal_is_linear_in_arctan():
    sigmas = kl_optimal_sigmas(9, 0.03, 14.6)
    angles = sigmas[:-1].double().atan()
    diffs = angles.diff()
    assert torch.allclose(diffs, diffs[0].expand_as(diffs), atol=1e-5)
    assert float(sigmas[0]) == pytest.approx(14.6, rel=1e-5)


def test_normal_is_uniform_in_timestep():
    sigmas = calculate_sigmas(SCHEDULE, "normal", 10)
    expected = [float(SCHEDULE.sigma(torch.tensor(999.0 - i * 999.0 / 9))) for i in range(10)]
    assert sigmas[:-1].tolist() == pytest.approx(expected, rel=1e-5)
    sgm = calculate_sigmas(SCHEDULE, "sgm_uniform", 10)
    expected_sgm = [float(SCHEDULE.sigma(torch.tensor(999.0 - i * 999.0 / 10))) for i in range(10)]
    assert sgm[:-1].tolist() == pytest.approx(expected_sgm, rel=1e-5)


def test_simple_and_ddim_uniform_pick_table_entries():
    simple = calculate_sigmas(SCHEDULE, "simple", 4)
    assert simple[:-1].tolist() == [float(SCHEDULE.sigmas[i]) for i in (999, 749, 499, 249)]
    ddim = calculate_sigmas(SCHEDULE, "ddim_uniform", 4)
    assert ddim[:-1].tolist() == [float(SCHEDULE.sigmas[i]) for i in (751, 501, 251, 1)]


def test_linear_quadratic_starts_at_sigma_max_with_a_linear_part():
    sigmas = calculate_sigmas(SCHEDULE, "linear_quadratic", 20)
    sigma_max = float(SCHEDULE.sigma_max)
    assert float(sigmas[0]) == pytest.approx(sigma_max)
    linear = sigmas[:10].double().diff()
    assert torch.allclose(linear, torch.full_like(linear, -0.025 / 10 * sigma_max), rtol=1e-4)
    assert calculate_sigmas(SCHEDULE, "linear_quadratic", 1).tolist() == pytest.approx([sigma_max, 0.0])


def test_beta_distribution_functions():
    assert beta_cdf(0.5, 0.6, 0.6) == pytest.approx(0.5, abs=1e-12)
    assert beta_cdf(0.3, 1.0, 1.0) == pytest.approx(0.3, abs=1e-12)  # uniform
    assert beta_cdf(0.3, 2.0, 1.0) == pytest.approx(0.09, abs=1e-12)  # x^2
    for q in (0.01, 0.2, 0.5, 0.77, 0.999):
        assert beta_cdf(beta_ppf(q, 0.6, 0.6), 0.6, 0.6) == pytest.approx(q, abs=1e-10)
    with pytest.raises(ValueError, match="positive"):
        beta_cdf(0.5, 0.0, 1.0)
    with pytest.raises(ValueError, match="probability"):
        beta_ppf(1.5, 0.6, 0.6)


def test_beta_matches_scipy_when_available():
    stats = pytest.importorskip("scipy.stats")
    for q in (0.05, 0.3, 0.5, 0.9):
        assert beta_ppf(q, 0.6, 0.6) == pytest.approx(float(stats.beta.ppf(q, 0.6, 0.6)), abs=1e-9)


def test_beta_schedule_uses_beta_quantiles():
    sigmas = calculate_sigmas(SCHEDULE, "beta", 8)
    expected_t = [round(beta_ppf(1 - i / 8, 0.6, 0.6) * 999) for i in range(8)]
    assert sigmas[:-1].tolist() == [float(SCHEDULE.sigmas[t]) for t in expected_t]


def test_unknown_scheduler_and_bad_steps():
    with pytest.raises(ValueError, match="unknown scheduler 'nope'"):
        calculate_sigmas(SCHEDULE, "nope", 10)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="steps"):
            calculate_sigmas(SCHEDULE, "normal", bad)


def test_penultimate_sigma_dropped_for_dpm_2_and_uni_pc():
    full = calculate_sigmas(SCHEDULE, "karras", 11)
    for name in ("dpm_2", "dpm_2_ancestral", "uni_pc", "uni_pc_bh2"):
        sigmas = sampler_sigmas(SCHEDULE, "karras", name, 10)
        assert len(sigmas) == 11
        assert torch.equal(sigmas, torch.cat([full[:-2], full[-1:]]))
    assert torch.equal(sampler_sigmas(SCHEDULE, "karras", "euler", 10), calculate_sigmas(SCHEDULE, "karras", 10))


def test_denoise_strength():
    full_40 = calculate_sigmas(SCHEDULE, "normal", 40)
    assert torch.equal(denoise_sigmas(SCHEDULE, "normal", "euler", 10, denoise=0.25), full_40[-11:])
    assert len(denoise_sigmas(SCHEDULE, "normal", "euler", 10, denoise=0.0)) == 0
    assert len(denoise_sigmas(SCHEDULE, "normal", "euler", 10, denoise=-1)) == 0
    assert torch.equal(denoise_sigmas(SCHEDULE, "normal", "euler", 10, 1.0), calculate_sigmas(SCHEDULE, "normal", 10))
    # int(steps / denoise): 10 / 0.3 = 33.3 -> 33 steps
    assert torch.equal(denoise_sigmas(SCHEDULE, "normal", "euler", 10, 0.3),
                       calculate_sigmas(SCHEDULE, "normal", 33)[-11:])
    with pytest.raises(ValueError, match="denoise"):
        denoise_sigmas(SCHEDULE, "normal", "euler", 10, float("nan"))
    assert torch.equal(basic_scheduler_sigmas(SCHEDULE, "normal", 10, 0.25), full_40[-11:])


def test_step_window():
    sigmas = calculate_sigmas(SCHEDULE, "normal", 10)
    window = step_window(sigmas, 2, 6, force_full_denoise=False)
    assert torch.equal(window, sigmas[2:7])
    forced = step_window(sigmas, 2, 6, force_full_denoise=True)
    assert forced[-1] == 0 and torch.equal(forced[:-1], sigmas[2:6])
    assert sigmas[6] != 0  # the input is not modified
    assert step_window(sigmas, 10, None, False) is None
    assert step_window(sigmas, 50, 10000, True) is None
    assert torch.equal(step_window(sigmas, 0, 10000, True), sigmas)
    with pytest.raises(ValueError, match="start_step"):
        step_window(sigmas, -1, None, False)
