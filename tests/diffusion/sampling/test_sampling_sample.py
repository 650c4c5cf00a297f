"""The high-level `sample` the KSampler nodes call, on a toy model with a known answer."""

import pytest
import torch
from sampling_toys import ToyModel, cond

from diffusion.sampling.noise import prepare_noise
from diffusion.sampling.registry import SAMPLER_NAMES
from diffusion.sampling.sample import fit_latent_channels, prepare_noise_mask, sample, sample_with_sigmas
from diffusion.sampling.sigma_plan import denoise_sigmas
from graph.context import Interrupted, InterruptToken

EMPTY = torch.zeros(1, 4, 8, 8)


def run(model=None, latent=EMPTY, seed=0, noise=None, **kwargs):
    model = model or ToyModel()
    options = {"cfg": 1.0, "sampler_name": "euler", "scheduler": "karras", "steps": 6}
    options.update(kwargs)
    noise = prepare_noise(latent, seed) if noise is None else noise
    return sample(model, noise, cond(0.8), cond(-0.5), latent=latent, seed=seed, **options)


def test_sampling_reaches_the_data_distribution():
    latent = torch.zeros(1, 4, 64, 64)
    model = ToyModel()
    out = run(model, latent=latent, steps=30, sampler_name="dpmpp_2m")
    scale = model.model_info.latent_format.scale_factor
    # Data in the model's (scaled) space is N(0.8, 0.5^2). The ODE maps the start x_T = noise * sqrt(1 + sm^2)
    # to mu + (x_T - mu) * s / sqrt(s^2 + sm^2); the result is unscaled.
    sigma_max = float(model.schedule.sigma_max)
    shrink = 0.5 / (0.25 + sigma_max ** 2) ** 0.5
    assert float(out.mean()) == pytest.approx(0.8 * (1 - shrink) / scale, abs=0.02)
    assert float(out.std()) == pytest.approx((1 + sigma_max ** 2) ** 0.5 * shrink / scale, rel=0.03)
    assert out.dtype == torch.float32 and out.device.type == "cpu"


def test_eps_and_v_models_give_the_same_result():
    # Table sigmas, so the UNet's (nearest) timestep is exact and both toys predict the same denoised.
    table = ToyModel().schedule.sigmas
    sigmas = torch.cat([table[[999, 800, 500, 300, 100, 20]], torch.zeros(1)])
    noise = prepare_noise(EMPTY, 2)
    results = []
    for prediction in ("eps", "v"):
        samples, _ = sample_with_sigmas(ToyModel(prediction=prediction), noise, cond(0.8), cond(-0.5), cfg=2.0,
                                        sampler_name="dpmpp_2m", sigmas=sigmas, latent=EMPTY)
        results.append(samples)
    assert torch.allclose(results[0], results[1], atol=1e-5)


def test_cfg_pushes_away_from_the_negative():
    plain = run(cfg=1.0, steps=10)
    guided = run(cfg=3.0, steps=10)
    assert float(guided.mean()) > float(plain.mean()) + 1.0


CFG_PP = [name for name in SAMPLER_NAMES if name.endswith("_cfg_pp")]


@pytest.mark.parametrize("name", SAMPLER_NAMES)
def test_every_sampler_runs_end_to_end(name):
    # A CFG++ sampler steps along the negative's prediction even at cfg 1 (and its 2nd-order
    # ones mix D with the previous U, as ComfyUI's do), so the data mean is only reached when
    # both sides agree; that the negative is really used is checked below.
    negative = cond(0.8) if name in CFG_PP else cond(-0.5)
    noise = prepare_noise(EMPTY, 3)
    out = sample(ToyModel(), noise, cond(0.8), negative, latent=EMPTY, seed=3, cfg=1.0, sampler_name=name,
                 scheduler="normal", steps=4)
    assert out.shape == EMPTY.shape
    assert torch.isfinite(out).all()
    assert float(out.mean()) == pytest.approx(0.8 / 0.5, abs=0.5)


@pytest.mark.parametrize("name", CFG_PP)
def test_cfg_pp_samplers_read_the_unconditional_prediction_through_ksampler(name):
    plain = name.removesuffix("_cfg_pp")
    results = {}
    for sampler in (name, plain):
        for negative in (0.8, -0.5):
            noise = prepare_noise(EMPTY, 5)
            results[sampler, negative] = sample(ToyModel(), noise, cond(0.8), cond(negative), latent=EMPTY, seed=5,
                                                cfg=1.0, sampler_name=sampler, scheduler="normal", steps=4)
    # At cfg 1 the plain sampler never looks at the negative; the CFG++ one steps along it.
    assert torch.equal(results[plain, 0.8], results[plain, -0.5])
    assert not torch.allclose(results[name, 0.8], results[name, -0.5])
    # With both sides equal, U = D and CFG++ is its plain sampler.
    assert torch.allclose(results[name, 0.8], results[plain, 0.8], atol=1e-5)


@pytest.mark.parametrize("name", ["euler_ancestral", "dpmpp_2m_sde", "dpmpp_sde", "lcm", "ddpm"])
def test_same_seed_same_result(name):
    first = run(sampler_name=name, seed=123)
    second = run(sampler_name=name, seed=123)
    third = run(sampler_name=name, seed=124)
    assert torch.equal(first, second)
    assert not torch.equal(first, third)


def test_denoise_zero_returns_the_input_latent():
    latent = torch.randn(1, 4, 8, 8)
    model = ToyModel()
    out = run(model, latent=latent, denoise=0.0)
    assert torch.equal(out, latent)
    assert model.calls == []


def test_start_step_at_the_end_returns_the_input_latent():
    latent = torch.randn(1, 4, 8, 8)
    assert torch.equal(run(latent=latent, start_step=6, last_step=10000, force_full_denoise=True), latent)


class RecordingToy(ToyModel):
    """Remembers the first UNet input (c_in * x of the first step)."""

    def apply(self, x_in, timesteps, context=None, y=None):
        if not hasattr(self, "first_input"):
            self.first_input = x_in[:1].clone()
        return super().apply(x_in, timesteps, context=context, y=y)


def test_first_model_input_uses_the_right_noise_scaling():
    latent = torch.randn(1, 4, 8, 8)
    noise = prepare_noise(latent, 5)
    model = RecordingToy()
    run(model, latent=latent, noise=noise, denoise=0.5, scheduler="normal", steps=4)
    sigma = float(denoise_sigmas(model.schedule, "normal", "euler", 4, 0.5)[0])
    expected = (latent * 0.5 + noise * sigma) / (sigma ** 2 + 1) ** 0.5  # img2img: noise x sigma
    assert torch.allclose(model.first_input, expected, atol=1e-5)

    model = RecordingToy()
    run(model, latent=EMPTY, noise=noise, steps=4)  # full denoise: noise x sqrt(1 + sigma^2), then c_in
    assert torch.allclose(model.first_input, noise, atol=1e-5)


def test_split_run_with_leftover_noise_equals_one_run():
    latent = EMPTY
    noise = prepare_noise(latent, 9)
    whole = sample(ToyModel(), noise, cond(0.8), cond(-0.5), cfg=1.0, sampler_name="euler", scheduler="karras",
                   steps=10, latent=latent, start_step=0, last_step=10000, force_full_denoise=True)
    first = sample(ToyModel(), noise, cond(0.8), cond(-0.5), cfg=1.0, sampler_name="euler", scheduler="karras",
                   steps=10, latent=latent, start_step=0, last_step=5, force_full_denoise=False)
    second = sample(ToyModel(), torch.zeros_like(noise), cond(0.8), cond(-0.5), cfg=1.0, sampler_name="euler",
                    scheduler="karras", steps=10, latent=first, start_step=5, last_step=10000, force_full_denoise=True)
    assert float((first - whole).abs().max()) > 0.1  # the first half still holds noise
    assert torch.allclose(second, whole, atol=1e-4)


@pytest.mark.parametrize("name", ["euler", "ddim", "euler_ancestral", "dpmpp_2m", "dpmpp_2m_sde", "uni_pc", "heun"])
def test_inpainting_keeps_the_unmasked_latent_bit_identical(name):
    latent = torch.randn(2, 4, 8, 8)
    mask = torch.zeros(64, 64)  # pixel-sized mask: repaint the left half
    mask[:, :32] = 1.0
    out = run(latent=latent, noise_mask=mask, sampler_name=name, seed=4)
    assert torch.equal(out[..., 4:], latent[..., 4:])
    assert not torch.allclose(out[..., :4], latent[..., :4])


def test_callback_every_step_and_interrupt_within_a_step():
    seen = []
    run(steps=5, callback=lambda i, x0, x, total: seen.append((i, total, tuple(x0.shape), tuple(x.shape))))
    assert seen == [(i, 5, (1, 4, 8, 8), (1, 4, 8, 8)) for i in range(5)]

    token = InterruptToken()
    model = ToyModel()

    def callback(i, x0, x, total):
        if i == 1:
            token.set()  # as if the user pressed Cancel during step 1

    with pytest.raises(Interrupted):
        run(model, steps=20, sampler_name="heun", callback=callback, interrupt_check=token.check)
    assert len(model.calls) <= 4  # two heun steps (2 calls each), nothing after the flag


def test_empty_latent_is_widened_and_other_mismatches_are_named():
    model = ToyModel(channels=4)
    widened = fit_latent_channels(model, torch.zeros(1, 1, 8, 8))
    assert widened.shape == (1, 4, 8, 8)
    with pytest.raises(ValueError, match="the latent has 16 channels but the sd15 model expects 4"):
        run(model, latent=torch.ones(1, 16, 8, 8))
    with pytest.raises(ValueError, match=r"\[batch, channels, height, width\]"):
        fit_latent_channels(model, torch.zeros(4, 8, 8))
    with pytest.raises(ValueError, match="empty dimension"):
        fit_latent_channels(model, torch.zeros(1, 0, 8, 8))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown sampler 'fast'"):
        run(sampler_name="fast")
    with pytest.raises(ValueError, match="unknown scheduler 'fancy'"):
        run(scheduler="fancy")
    with pytest.raises(ValueError, match="steps"):
        run(steps=0)
    with pytest.raises(ValueError, match="cfg"):
        run(cfg=float("inf"))
    with pytest.raises(ValueError, match="noise must have the latent's shape"):
        run(noise=torch.zeros(1, 4, 4, 4))
    with pytest.raises(ValueError, match="noise_mask"):
        run(noise_mask=torch.zeros(1, 1, 1, 8, 8))
    with pytest.raises(ValueError, match="seed"):
        run(sampler_name="euler_ancestral", seed=None, noise=torch.zeros(1, 4, 8, 8))


def test_noise_mask_shapes():
    shape = torch.Size((2, 4, 8, 8))
    assert prepare_noise_mask(torch.ones(64, 64), shape).shape == shape
    assert prepare_noise_mask(torch.ones(1, 1, 8, 8), shape).shape == shape
    three = prepare_noise_mask(torch.stack([torch.zeros(8, 8), torch.ones(8, 8)]), shape)
    assert float(three[0].max()) == 0.0 and float(three[1].min()) == 1.0


def test_sample_with_sigmas_returns_the_last_denoised():
    model = ToyModel()
    sigmas = torch.tensor([14.6, 2.0, 0.5, 0.0])
    noise = prepare_noise(EMPTY, 1)
    samples, denoised = sample_with_sigmas(model, noise, cond(0.8), cond(0.0), cfg=1.0, sampler_name="euler",
                                           sigmas=sigmas, latent=EMPTY)
    assert torch.allclose(samples, denoised, atol=1e-6)  # euler's last step to 0 lands on the denoised
    empty_samples, _ = sample_with_sigmas(model, noise, cond(0.8), cond(0.0), cfg=1.0, sampler_name="euler",
                                          sigmas=torch.zeros(0), latent=EMPTY)
    assert torch.equal(empty_samples, EMPTY)


def test_inpainting_model_gets_mask_and_image_channels():
    model = ToyModel(family="sd15-inpaint")
    latent = torch.randn(1, 4, 8, 8)
    mask = torch.zeros(8, 8)
    mask[:, :4] = 1
    seen = []
    original = model.apply

    def apply(x_in, timesteps, context=None, y=None):
        seen.append(x_in.clone())
        return original(x_in, timesteps, context=context, y=y)

    model.apply = apply
    run(model, latent=latent, noise_mask=mask, steps=2)
    first = seen[0]
    assert first.shape == (1, 9, 8, 8)  # cfg 1: the positive batch only; 4 latent + 1 mask + 4 image channels
    assert torch.equal(first[0, 4], mask)
    assert torch.allclose(first[0, 5:], latent[0] * 0.5)


def test_sdxl_model_gets_vector_conditioning():
    model = ToyModel(family="sdxl")
    positive = cond(0.8, pooled_output=torch.ones(1, 32))
    negative = cond(0.0, pooled_output=torch.zeros(1, 32))
    sample(model, prepare_noise(EMPTY, 0), positive, negative, cfg=2.0, sampler_name="euler", scheduler="normal",
           steps=2, latent=EMPTY)
    y = model.calls[0]["y"]
    assert y is not None and y.shape[0] == 2 and y.shape[1] > 32
