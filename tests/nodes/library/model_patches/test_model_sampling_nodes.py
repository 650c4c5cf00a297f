"""ModelSamplingDiscrete: the prediction formulas and sigma tables it switches to, clones, bad input."""

from __future__ import annotations

import pytest
import torch

from diffusion.sampling.discrete import DiscreteSchedule, schedule_of
from diffusion.sampling.model_sampling import ModelSamplingDistilled, rescale_zero_terminal_snr
from diffusion.sampling.noise import prepare_noise
from diffusion.sampling.sample import sample
from nodes.library.model_patches.sampling_patches import ModelSamplingDiscrete
from tests.nodes.library.model_patches.patch_fixtures import SHAPE, fixed_handle, guided, table_sigma
from tests.nodes.sd_fakes import values


def _setup(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    output, x = torch.randn(SHAPE, generator=g), torch.randn(SHAPE, generator=g)
    return fixed_handle(output, output), output, x


def test_v_prediction_on_an_eps_checkpoint_uses_the_v_formula(make_ctx):
    handle, output, x = _setup()
    (patched,) = values(ModelSamplingDiscrete, make_ctx(), model=handle, sampling="v_prediction", zsnr=False)
    s = table_sigma(400)
    expected_v = x / (s ** 2 + 1) - output * s / (s ** 2 + 1) ** 0.5
    torch.testing.assert_close(guided(patched, 1.0)(x, s), expected_v, rtol=1e-5, atol=1e-5)
    # the input model still computes eps: D = x - sigma * F, with its options untouched
    assert handle.options == {}
    torch.testing.assert_close(guided(handle, 1.0)(x, s), x - s * output, rtol=1e-5, atol=1e-5)
    # the UNet saw the same scaled input and timestep both times
    first, second = handle.model.calls[0], handle.model.calls[1]
    torch.testing.assert_close(first["x"], x / (s ** 2 + 1) ** 0.5)
    torch.testing.assert_close(first["x"], second["x"])
    assert torch.equal(first["timesteps"], second["timesteps"])
    assert float(first["timesteps"][0]) == 400.0


def test_x0_and_img_to_img_return_the_model_output(make_ctx):
    handle, output, x = _setup(1)
    s = table_sigma(600)
    (x0,) = values(ModelSamplingDiscrete, make_ctx(), model=handle, sampling="x0", zsnr=False)
    torch.testing.assert_close(guided(x0, 1.0)(x, s), output)
    (img,) = values(ModelSamplingDiscrete, make_ctx(), model=handle, sampling="img_to_img", zsnr=False)
    torch.testing.assert_close(guided(img, 1.0)(x, s), output)
    torch.testing.assert_close(handle.model.calls[-1]["x"], x)  # img_to_img feeds x unscaled


def test_lcm_table_timesteps_and_formula(make_ctx):
    handle, output, x = _setup(2)
    (patched,) = values(ModelSamplingDiscrete, make_ctx(), model=handle, sampling="lcm", zsnr=False)
    sampling = schedule_of(patched)
    assert isinstance(sampling, ModelSamplingDistilled) and len(sampling.sigmas) == 50
    full = DiscreteSchedule().sigmas
    torch.testing.assert_close(sampling.sigmas, full[19::20])
    s = full[499].reshape(1)
    assert float(sampling.timestep(s)) == 499.0
    torch.testing.assert_close(sampling.sigma(torch.tensor(499.0)), full[499])
    t = 4990.0
    c_skip, c_out = 0.25 / (t ** 2 + 0.25), t / (t ** 2 + 0.25) ** 0.5
    expected = c_out * (x - s * output) + c_skip * x
    torch.testing.assert_close(guided(patched, 1.0)(x, s), expected, rtol=1e-5, atol=1e-5)
    assert float(handle.model.calls[-1]["timesteps"][0]) == 499.0


def test_zsnr_makes_the_last_step_pure_noise(make_ctx):
    handle, _, _ = _setup()
    (patched,) = values(ModelSamplingDiscrete, make_ctx(), model=handle, sampling="v_prediction", zsnr=True)
    sigmas = schedule_of(patched).sigmas
    base = DiscreteSchedule().sigmas
    assert float(sigmas[-1]) == pytest.approx((1 - 4.8973451890853435e-08) ** 0.5 / 4.8973451890853435e-08 ** 0.5,
                                              rel=1e-4)
    torch.testing.assert_close(sigmas[0], base[0], rtol=1e-4, atol=0)
    assert torch.all(sigmas[1:] > sigmas[:-1])
    assert schedule_of(handle) is not schedule_of(patched)
    # the rescale is linear in sqrt(alpha_bar): first kept, last at 0 (before the last-entry clamp)
    root = (1 / (rescale_zero_terminal_snr(base)[:-1].double() ** 2 + 1)).sqrt()
    base_root = (1 / (base[:-1].double() ** 2 + 1)).sqrt()
    last = float((1 / (base[-1].double() ** 2 + 1)).sqrt())
    first = float(base_root[0])
    torch.testing.assert_close(root, (base_root - last) * first / (first - last), rtol=1e-5, atol=1e-6)


def test_eps_override_keeps_the_computation(make_ctx):
    handle, output, x = _setup(3)
    (patched,) = values(ModelSamplingDiscrete, make_ctx(), model=handle, sampling="eps", zsnr=False)
    s = table_sigma(100)
    torch.testing.assert_close(guided(patched, 1.0)(x, s), guided(handle, 1.0)(x, s))


def test_sample_uses_the_override_schedule(make_ctx):
    handle, _, _ = _setup(4)
    (patched,) = values(ModelSamplingDiscrete, make_ctx(), model=handle, sampling="x0", zsnr=True)
    latent = torch.zeros(SHAPE)
    out = sample(patched, prepare_noise(latent, 1), [[torch.ones(1, 3, 8), {}]], [[torch.zeros(1, 3, 8), {}]],
                 cfg=1.0, sampler_name="euler", scheduler="simple", steps=1, latent=latent)
    # one euler step from sigma_max (about 4519 with zsnr) to 0 lands on the x0 prediction, unscaled
    torch.testing.assert_close(out, handle.model.cond_out / handle.model_info.latent_format.scale_factor,
                               rtol=0, atol=1e-2)
    assert float(handle.model.calls[0]["timesteps"][0]) == 999.0


def test_the_node_returns_a_clone(make_ctx):
    handle, _, _ = _setup()
    (patched,) = values(ModelSamplingDiscrete, make_ctx(), model=handle, sampling="lcm", zsnr=False)
    assert patched is not handle and patched.is_clone(handle)
    assert "model_sampling" not in handle.options and schedule_of(handle) is not schedule_of(patched)


@pytest.mark.parametrize("inputs, error, message", [
    ({"sampling": "flow", "zsnr": False}, ValueError, "'sampling' must be one of"),
    ({"sampling": "eps", "zsnr": "yes"}, TypeError, "'zsnr' must be a boolean"),
])
def test_bad_inputs_are_refused(make_ctx, inputs, error, message):
    handle, _, _ = _setup()
    with pytest.raises(error, match=message):
        values(ModelSamplingDiscrete, make_ctx(), model=handle, **inputs)


def test_a_non_model_is_refused(make_ctx):
    with pytest.raises(TypeError, match="ModelSamplingDiscrete: input 'model' must be a MODEL"):
        values(ModelSamplingDiscrete, make_ctx(), model=42, sampling="eps", zsnr=False)
