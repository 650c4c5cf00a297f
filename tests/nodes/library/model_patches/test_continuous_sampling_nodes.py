"""ModelSamplingContinuousEDM / ModelSamplingContinuousV: formulas, timesteps, tables, bad input."""

from __future__ import annotations

import math

import pytest
import torch

from diffusion.sampling.discrete import schedule_of
from diffusion.sampling.schedules import calculate_sigmas
from nodes.library.model_patches.sampling_patches import ModelSamplingContinuousEDM, ModelSamplingContinuousV
from tests.nodes.library.model_patches.patch_fixtures import SHAPE, fixed_handle, guided
from tests.nodes.sd_fakes import values


def _setup(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    output, x = torch.randn(SHAPE, generator=g), torch.randn(SHAPE, generator=g)
    return fixed_handle(output, output), output, x


def test_edm_formula_and_timestep(make_ctx):
    handle, output, x = _setup()
    (patched,) = values(ModelSamplingContinuousEDM, make_ctx(), model=handle, sampling="edm", sigma_max=80.0,
                        sigma_min=0.002)
    s = torch.tensor([3.0])
    expected = x * 0.25 / (9.0 + 0.25) + output * 3.0 * 0.5 / (9.0 + 0.25) ** 0.5
    torch.testing.assert_close(guided(patched, 1.0)(x, s), expected, rtol=1e-5, atol=1e-5)
    call = handle.model.calls[-1]
    torch.testing.assert_close(call["x"], x / (9.0 + 0.25) ** 0.5)
    assert float(call["timesteps"][0]) == pytest.approx(0.25 * math.log(3.0))
    assert handle.options == {} and patched is not handle


def test_edm_table_schedules_and_percent(make_ctx):
    handle, _, _ = _setup()
    (patched,) = values(ModelSamplingContinuousEDM, make_ctx(), model=handle, sampling="v_prediction",
                        sigma_max=120.0, sigma_min=0.002)
    schedule = schedule_of(patched)
    assert len(schedule.sigmas) == 1000
    assert float(schedule.sigma_min) == pytest.approx(0.002) and float(schedule.sigma_max) == pytest.approx(120.0)
    expected = torch.cat([torch.linspace(math.log(120.0), math.log(0.002), 4).exp(), torch.zeros(1)])
    torch.testing.assert_close(calculate_sigmas(schedule, "normal", 4), expected, rtol=1e-4, atol=1e-6)
    assert schedule.percent_to_sigma(0.5) == pytest.approx(math.sqrt(120.0 * 0.002))


def test_edm_v_and_eps_formulas(make_ctx):
    handle, output, x = _setup(1)
    s = torch.tensor([2.0])
    (v,) = values(ModelSamplingContinuousEDM, make_ctx(), model=handle, sampling="v_prediction", sigma_max=120.0,
                  sigma_min=0.002)
    torch.testing.assert_close(guided(v, 1.0)(x, s), x / 5.0 - output * 2.0 / 5.0 ** 0.5, rtol=1e-5, atol=1e-5)
    (eps,) = values(ModelSamplingContinuousEDM, make_ctx(), model=handle, sampling="eps", sigma_max=120.0,
                    sigma_min=0.002)
    torch.testing.assert_close(guided(eps, 1.0)(x, s), x - 2.0 * output, rtol=1e-5, atol=1e-5)


def test_continuous_v_timestep(make_ctx):
    handle, output, x = _setup(2)
    (patched,) = values(ModelSamplingContinuousV, make_ctx(), model=handle, sampling="v_prediction",
                        sigma_max=500.0, sigma_min=0.03)
    s = torch.tensor([1.0])
    torch.testing.assert_close(guided(patched, 1.0)(x, s), x / 2.0 - output / 2.0 ** 0.5, rtol=1e-5, atol=1e-5)
    assert float(handle.model.calls[-1]["timesteps"][0]) == pytest.approx(0.5)
    schedule = schedule_of(patched)
    assert float(schedule.sigma(torch.tensor(0.5))) == pytest.approx(1.0, rel=1e-5)
    assert float(schedule.sigma_max) == pytest.approx(500.0, rel=1e-5)


@pytest.mark.parametrize("node, inputs, message", [
    (ModelSamplingContinuousEDM, {"sampling": "edm", "sigma_max": 1.0, "sigma_min": 2.0}, "need 0 < sigma_min"),
    (ModelSamplingContinuousEDM, {"sampling": "edm", "sigma_max": 1.0, "sigma_min": 0.0}, "need 0 < sigma_min"),
    (ModelSamplingContinuousEDM, {"sampling": "edm", "sigma_max": 2000.0, "sigma_min": 0.1}, "'sigma_max' must be"),
    (ModelSamplingContinuousEDM, {"sampling": "flow", "sigma_max": 1.0, "sigma_min": 0.1}, "'sampling' must be"),
    (ModelSamplingContinuousEDM, {"sampling": "cosmos_rflow", "sigma_max": 1.0, "sigma_min": 0.1}, "not supported"),
    (ModelSamplingContinuousV, {"sampling": "eps", "sigma_max": 1.0, "sigma_min": 0.1}, "'sampling' must be"),
    (ModelSamplingContinuousV, {"sampling": "v_prediction", "sigma_max": "x", "sigma_min": 0.1}, "must be a number"),
])
def test_bad_inputs_are_refused(make_ctx, node, inputs, message):
    handle, _, _ = _setup()
    with pytest.raises((TypeError, ValueError), match=message) as info:
        values(node, make_ctx(), model=handle, **inputs)
    assert node.node_id in str(info.value)
    assert handle.options == {}
