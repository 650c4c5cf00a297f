"""Convergence order of the multistep, RES, SEEDS and SA-Solver samplers on Gaussian data.

Same method as test_sampling_convergence.py (whose helpers these reuse): the error against the
exact probability-flow ODE solution at n and 2n Karras steps gives the observed order
log2(err_n / err_2n). The stochastic samplers are run here with their noise switched off.
"""

import math

import numpy as np
import pytest
import torch
from test_sampling_convergence import _error, _named, _order

from diffusion.sampling import samplers_multistep as multistep
from diffusion.sampling import samplers_sa_solver as sa_solver
from diffusion.sampling import samplers_seeds as seeds
from diffusion.sampling.registry import get_sampler
from diffusion.sampling.samplers_euler import lms_coefficient


@pytest.mark.parametrize(("name", "low", "high"), [
    ("ipndm", 1.8, 2.4),  # equal-step weights on Karras' uneven steps: second order
    ("ipndm_v", 3.2, 4.3),
    ("deis", 2.6, 3.3),  # max_order 3
    ("res_multistep", 1.8, 2.4),
    ("res_multistep_cfg_pp", 1.8, 2.4),  # without guidance CFG++ is the plain sampler
    ("gradient_estimation", 0.7, 1.2),
    ("exp_heun_2_x0", 1.8, 2.3),
    ("dpmpp_2m_cfg_pp", 1.8, 2.4),
    ("euler_cfg_pp", 0.8, 1.2),
])
def test_convergence_order(name, low, high):
    assert low <= _order(_named(name)) <= high


@pytest.mark.parametrize(("run", "order"), [
    (lambda m, x, s: seeds.sample_seeds_2(m, x, s, eta=0.0), 2.0),
    (lambda m, x, s: seeds.sample_seeds_2(m, x, s, eta=0.0, solver_type="phi_2"), 2.0),
    (lambda m, x, s: seeds.sample_seeds_3(m, x, s, eta=0.0), 3.0),
])
def test_seeds_without_noise_has_its_order(run, order):
    assert _order(run, 24) == pytest.approx(order, abs=0.3)


@pytest.mark.parametrize("use_pece", [False, True])
def test_sa_solver_without_noise_is_high_order(use_pece):
    def run(model, x, sigmas):
        return sa_solver.sample_sa_solver(model, x, sigmas, tau_func=lambda sigma: 0.0, s_noise=0.0, use_pece=use_pece)

    assert _order(run, 24) > 3.5
    assert _error(run, 48) < 0.1 * _error(_named("dpmpp_2m"), 48)


def test_gradient_estimation_beats_euler():
    assert _error(_named("gradient_estimation"), 24) < 0.8 * _error(_named("euler"), 24)


def test_ipndm_v_is_more_accurate_than_ipndm():
    assert _error(_named("ipndm_v"), 96) < 0.3 * _error(_named("ipndm"), 96)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_ipndm_weights_on_equal_steps_are_adams_bashforth(order):
    sigmas = np.array([10.0, 9.0, 8.0, 7.0, 6.0])  # equal steps of -1
    # The exact integral of the interpolating polynomial over the step, divided by the step (-1).
    exact = [-lms_coefficient(order, sigmas, order - 1, j) for j in range(order)]
    assert multistep._ADAMS_BASHFORTH[order] == pytest.approx(exact, abs=1e-12)
    if order < 4:
        assert multistep.ipndm_v_weights([-1.0] * order) == pytest.approx(exact, abs=1e-12)


def test_ipndm_v_weights_are_consistent_on_uneven_steps():
    assert sum(multistep.ipndm_v_weights([-1.0, -2.0, -4.0])) == pytest.approx(1.0, abs=1e-12)
    assert multistep.ipndm_v_weights([-1.0, -2.0]) == pytest.approx((1.25, -0.25))  # linear extrapolation


def test_deis_time_matches_its_fitted_end_points_and_slope():
    time = multistep.DeisTime()
    sigmas = np.array([0.002, 1.0, 80.0])
    assert time.t(sigmas) == pytest.approx([1e-3, time.t(np.array([1.0]))[0], 1.0], rel=1e-9)
    t = np.array([0.3])
    sigma = lambda u: np.sqrt(np.exp(0.5 * time.beta_d * u ** 2 + time.beta_min * u) - 1)  # noqa: E731
    assert time.dsigma_dt(t)[0] == pytest.approx((sigma(t + 1e-6) - sigma(t - 1e-6))[0] / 2e-6, rel=1e-6)


def test_deis_first_order_weight_is_the_sigma_step():
    time = multistep.DeisTime()
    ts = time.t(np.array([5.0, 2.0]))
    (weight,) = multistep.deis_weights(ts[:1], ts[0], ts[1], time)
    assert weight == pytest.approx(2.0 - 5.0, rel=1e-9)  # the integral of dsigma/dt is the sigma change


@pytest.mark.parametrize("tau", [0.0, 1.0])
def test_sa_solver_one_node_coefficient_is_the_exponential_step(tau):
    lam_s, lam_t = torch.tensor(0.2, dtype=torch.float64), torch.tensor(0.9, dtype=torch.float64)
    (b,) = sa_solver.adams_coefficients(lam_s.reshape(1), lam_s, lam_t, tau)
    h = float(lam_t - lam_s)
    assert float(b) == pytest.approx(1 - math.exp(-(1 + tau ** 2) * h), rel=1e-12)


def test_sa_solver_coefficients_integrate_polynomials_exactly():
    nodes = torch.tensor([-0.4, 0.1, 0.5], dtype=torch.float64)
    lam_s, lam_t, tau = torch.tensor(0.5, dtype=torch.float64), torch.tensor(1.2, dtype=torch.float64), 1.0
    b = sa_solver.adams_coefficients(nodes, lam_s, lam_t, tau)
    k = 1 + tau ** 2
    grid = torch.linspace(float(lam_s), float(lam_t), 200001, dtype=torch.float64)
    values = 1.0 + 2.0 * grid - 3.0 * grid ** 2
    exact = torch.trapezoid(k * torch.exp(-k * (lam_t - grid)) * values, grid)
    assert float((b * (1.0 + 2.0 * nodes - 3.0 * nodes ** 2)).sum()) == pytest.approx(float(exact), rel=1e-8)


@pytest.mark.parametrize("name", ["ipndm", "ipndm_v", "deis", "res_multistep", "gradient_estimation",
                                  "exp_heun_2_x0", "euler_cfg_pp", "dpmpp_2m_cfg_pp", "res_multistep_cfg_pp",
                                  "gradient_estimation_cfg_pp"])
def test_deterministic_samplers_repeat_and_handle_short_schedules(name):
    from sampling_toys import GaussianDenoiser

    denoiser = GaussianDenoiser()
    x = denoiser.mu + 10.0 * torch.randn(1, 32, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    sampler = get_sampler(name)
    sigmas = torch.tensor([10.0, 3.0, 1.0, 0.3, 0.0], dtype=torch.float64)
    assert torch.equal(sampler(denoiser, x.clone(), sigmas), sampler(denoiser, x.clone(), sigmas))
    assert torch.equal(sampler(denoiser, x, sigmas[:1]), x)
    assert torch.isfinite(sampler(denoiser, x.clone(), sigmas[-2:])).all()


def test_bad_orders_are_named():
    from sampling_toys import GaussianDenoiser

    x = torch.zeros(1, 4)
    sigmas = torch.tensor([1.0, 0.0])
    with pytest.raises(ValueError, match="max_order"):
        multistep.sample_ipndm(GaussianDenoiser(), x, sigmas, max_order=5)
    with pytest.raises(ValueError, match="solver_type"):
        seeds.sample_seeds_2(GaussianDenoiser(), x, sigmas, solver_type="phi_3", seed=1)
    with pytest.raises(ValueError, match="predictor_order"):
        sa_solver.sample_sa_solver(GaussianDenoiser(), x, sigmas, predictor_order=0, seed=1)
