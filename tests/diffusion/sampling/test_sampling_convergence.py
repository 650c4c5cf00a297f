"""Deterministic samplers on Gaussian data, where the exact denoiser and ODE solution are known.

Data ~ N(mu, s^2) has D(x, sigma) = (s^2 x + sigma^2 mu) / (s^2 + sigma^2), and the
probability-flow ODE maps x(sigma_a) to mu + (x - mu) sqrt(s^2 + sigma_b^2) / sqrt(s^2 + sigma_a^2).
Each sampler's error against that answer is measured at two step counts and the observed
convergence order log2(err_n / err_2n) compared with the method's order.
"""

import math

import pytest
import torch
from sampling_toys import GaussianDenoiser

from diffusion.sampling import samplers_dpm_solver as dpm_solver
from diffusion.sampling import samplers_dpmpp as dpmpp
from diffusion.sampling.registry import get_sampler
from diffusion.sampling.schedules import karras_sigmas

SIGMA_MAX = 10.0


def _start(denoiser: GaussianDenoiser) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    z = torch.randn(1, 64, generator=generator, dtype=torch.float64)
    return denoiser.mu + math.sqrt(denoiser.s ** 2 + SIGMA_MAX ** 2) * z


def _error(run, steps: int, *, sigma_min: float = 1e-4, keep_zero: bool = True, end: float = 0.0) -> float:
    denoiser = GaussianDenoiser()
    x_start = _start(denoiser)
    sigmas = karras_sigmas(steps, sigma_min, SIGMA_MAX).double()
    if not keep_zero:
        sigmas = sigmas[:-1]
    result = run(denoiser, x_start.clone(), sigmas)
    return float((result - denoiser.ode_solution(x_start, SIGMA_MAX, end)).abs().max())


def _order(run, steps: int = 48, **kwargs) -> float:
    return math.log2(_error(run, steps, **kwargs) / _error(run, 2 * steps, **kwargs))


def _named(name):
    sampler = get_sampler(name)
    return lambda model, x, sigmas: sampler(model, x, sigmas)


@pytest.mark.parametrize(("name", "order"), [
    ("euler", 1.0),
    ("ddim", 1.0),
    ("heun", 2.0),
    ("heunpp2", 1.0),  # ComfyUI's sigma-weighted slopes are consistent but not second order
    ("dpm_2", 2.0),
    ("dpmpp_2m", 2.0),
])
def test_convergence_order(name, order):
    assert _order(_named(name)) == pytest.approx(order, abs=0.3)


@pytest.mark.parametrize("solver_type", ["midpoint", "heun"])
def test_dpmpp_2m_sde_without_noise_is_second_order(solver_type):
    def run(model, x, sigmas):
        return dpmpp.sample_dpmpp_2m_sde(model, x, sigmas, eta=0.0, solver_type=solver_type)

    assert _order(run) == pytest.approx(2.0, abs=0.3)


def test_dpmpp_3m_sde_without_noise_beats_2m():
    def run_3m(model, x, sigmas):
        return dpmpp.sample_dpmpp_3m_sde(model, x, sigmas, eta=0.0)

    # Its first-order start step limits the global order to about 2 ...
    assert _order(run_3m, 96) > 1.7
    # ... but the third-order steps make it clearly more accurate than 2M.
    assert _error(run_3m, 96) < 0.5 * _error(_named("dpmpp_2m"), 96)


def test_lms_is_high_order():
    assert 3.3 <= _order(_named("lms")) <= 4.3


def test_dpm_fast_is_third_order():
    # dpm_fast stops at the last non-zero sigma, so compare with the ODE solution there.
    assert _order(_named("dpm_fast"), end=1e-4) == pytest.approx(3.0, abs=0.4)


@pytest.mark.parametrize("name", ["uni_pc", "uni_pc_bh2"])
def test_uni_pc_is_at_least_third_order(name):
    # Ending at a positive sigma avoids the 0 -> 0.001 substitution for the final step.
    order = _order(_named(name), 24, sigma_min=1e-2, keep_zero=False, end=1e-2)
    assert order >= 2.7


def test_uni_pc_uses_one_model_call_per_step():
    denoiser = GaussianDenoiser()
    sigmas = karras_sigmas(10, 0.03, SIGMA_MAX).double()
    get_sampler("uni_pc")(denoiser, _start(denoiser), sigmas)
    assert denoiser.calls == 10
    assert sigmas[-1] == 0  # the caller's sigmas are not modified by the 0 -> 0.001 substitution


def test_dpm_adaptive_meets_its_tolerance():
    denoiser = GaussianDenoiser()
    x_start = _start(denoiser)
    exact = denoiser.ode_solution(x_start, SIGMA_MAX, 0.01)
    loose = dpm_solver.sample_dpm_adaptive(denoiser, x_start.clone(), 0.01, SIGMA_MAX)
    loose_calls = denoiser.calls
    tight = dpm_solver.sample_dpm_adaptive(denoiser, x_start.clone(), 0.01, SIGMA_MAX, rtol=1e-5, atol=1e-6)
    loose_error = float((loose - exact).abs().max())
    tight_error = float((tight - exact).abs().max())
    assert loose_error < 0.1
    assert tight_error < 1e-4 < loose_error
    assert denoiser.calls - loose_calls > loose_calls  # tighter tolerance -> more steps


def test_dpm_solver_rejects_bad_ranges():
    denoiser = GaussianDenoiser()
    x = _start(denoiser)
    with pytest.raises(ValueError, match="sigma_min"):
        dpm_solver.sample_dpm_fast(denoiser, x, 0.0, SIGMA_MAX, 10)
    with pytest.raises(ValueError, match="order"):
        dpm_solver.sample_dpm_adaptive(denoiser, x, 0.1, SIGMA_MAX, order=4)
    with pytest.raises(ValueError, match="at least one"):
        dpm_solver.sample_dpm_fast(denoiser, x, 0.1, SIGMA_MAX, 0)


@pytest.mark.parametrize("name", ["euler", "heun", "dpm_2", "lms", "dpmpp_2m", "uni_pc", "dpm_fast", "dpm_adaptive"])
def test_single_step_and_empty_schedules_do_not_crash(name):
    denoiser = GaussianDenoiser()
    x = _start(denoiser)
    sampler = get_sampler(name)
    assert torch.equal(sampler(denoiser, x, torch.tensor([SIGMA_MAX], dtype=torch.float64)), x)
    one_step = sampler(denoiser, x.clone(), torch.tensor([SIGMA_MAX, 0.0], dtype=torch.float64))
    assert torch.isfinite(one_step).all()
