"""Sampler* nodes: their options reach the sampler functions (checked by sampling the tiny SD1.5 checkpoint)."""

# The fixtures imported from sd_fixtures are used as test arguments (pytest's by-name injection).
# ruff: noqa: F811

from __future__ import annotations

import inspect

import pytest
import torch

from diffusion.sampling import samplers_dpm_solver as dpm_solver
from diffusion.sampling.lcm_upscale import upscale_factors
from diffusion.sampling.sampler_options import SAMPLER_PARAMETERS, configured_sampler
from nodes.library.conditioning.clip_text import CLIPTextEncode
from nodes.library.sampling import sampler_nodes as nodes
from nodes.library.sampling.custom_sampling import BasicScheduler, KSamplerSelect, SamplerChoice, SamplerCustom
from tests.nodes.sd_fixtures import call, context, sd_runtime, tiny_files, tiny_models  # noqa: F401


@pytest.fixture
def run(sd_runtime, tiny_models):
    """run(sampler) -> the SamplerCustom output samples for a fixed seed, prompt and 4-step schedule."""
    model, clip = tiny_models["sd15"].model, tiny_models["sd15"].clip
    ctx = context(sd_runtime)
    pos = call(CLIPTextEncode, ctx, text="a lighthouse", clip=clip)[0]
    neg = call(CLIPTextEncode, ctx, text="", clip=clip)[0]
    (sigmas,) = call(BasicScheduler, ctx, model=model, scheduler="karras", steps=4, denoise=1.0)

    def sample(sampler):
        out, _ = call(SamplerCustom, context(sd_runtime), model=model, add_noise=True, noise_seed=8, cfg=5.0,
                      positive=pos, negative=neg, sampler=sampler, sigmas=sigmas,
                      latent_image={"samples": torch.zeros(1, 4, 8, 8)})
        return out["samples"]

    def select(name):
        return sample(call(KSamplerSelect, context(sd_runtime), sampler_name=name)[0])

    sample.select = select
    sample.ctx = ctx
    return sample


ORIGINAL_ADAPTIVE = dpm_solver.sample_dpm_adaptive


def node(cls, ctx, **inputs):
    return call(cls, ctx, **inputs)[0]


def close(a, b):
    """Equal up to float rounding (the tiny random model's latents reach magnitudes of 100s)."""
    return torch.allclose(a, b, rtol=1e-4, atol=1e-4)


def test_default_options_give_the_plain_sampler(run):
    ctx = run.ctx
    cases = [
        (node(nodes.SamplerEulerAncestral, ctx, eta=1.0, s_noise=1.0), "euler_ancestral"),
        (node(nodes.SamplerDPMPP_2S_Ancestral, ctx, eta=1.0, s_noise=1.0), "dpmpp_2s_ancestral"),
        (node(nodes.SamplerEulerAncestralCFGPP, ctx, eta=1.0, s_noise=1.0), "euler_ancestral_cfg_pp"),
        (node(nodes.SamplerLMS, ctx, order=4), "lms"),
        (node(nodes.SamplerDPMPP_SDE, ctx, eta=1.0, s_noise=1.0, r=0.5, noise_device="cpu"), "dpmpp_sde"),
        (node(nodes.SamplerDPMPP_2M_SDE, ctx, solver_type="midpoint", eta=1.0, s_noise=1.0, noise_device="gpu"),
         "dpmpp_2m_sde"),
        (node(nodes.SamplerDPMPP_3M_SDE, ctx, eta=1.0, s_noise=1.0, noise_device="cpu"), "dpmpp_3m_sde"),
    ]
    for choice, name in cases:
        assert choice.name == name and choice.options
        assert torch.equal(run(choice), run.select(name)), name


def test_dpm_adaptive_defaults_are_the_plain_samplers(run, monkeypatch):
    """What the solver is called with, recorded instead of run: on the random tiny model the adaptive
    solver takes hundreds of steps (a minute of CPU) to reach its tolerance."""
    calls = []

    def record(model, x, sigma_min, sigma_max, **kwargs):
        calls.append({"sigma_min": float(sigma_min), "sigma_max": float(sigma_max),
                      **{k: v for k, v in kwargs.items() if k not in ("extra_args", "callback")}})
        return x

    monkeypatch.setattr(dpm_solver, "sample_dpm_adaptive", record)
    choice = node(nodes.SamplerDPMAdaptative, run.ctx, order=3, rtol=0.05, atol=0.0078, h_init=0.05, pcoeff=0.0,
                  icoeff=1.0, dcoeff=0.0, accept_safety=0.81, eta=0.0, s_noise=1.0)
    assert choice.name == "dpm_adaptive" and choice.options
    run(choice)
    run.select("dpm_adaptive")
    configured, plain = calls
    defaults = inspect.signature(ORIGINAL_ADAPTIVE).parameters
    configured.pop("seed")  # the plain sampler's eta is 0: it draws no noise, so it is given no seed
    for key, value in configured.items():
        assert plain.get(key, defaults[key].default if key in defaults else None) == value, key


def test_options_change_what_is_computed(run):
    ctx = run.ctx
    deterministic = node(nodes.SamplerEulerAncestral, ctx, eta=0.0, s_noise=1.0)
    assert close(run(deterministic), run.select("euler"))  # eta 0: plain Euler steps
    quiet = node(nodes.SamplerEulerAncestral, ctx, eta=1.0, s_noise=0.0)
    assert not close(run(quiet), run.select("euler_ancestral"))
    assert close(run(node(nodes.SamplerLMS, ctx, order=1)), run.select("euler"))
    ode_2m = node(nodes.SamplerDPMPP_2M_SDE, ctx, solver_type="midpoint", eta=0.0, s_noise=1.0, noise_device="cpu")
    assert close(run(ode_2m), run.select("dpmpp_2m"))  # eta 0: DPM-Solver++(2M)
    heun = node(nodes.SamplerDPMPP_2M_SDE, ctx, solver_type="heun", eta=0.0, s_noise=1.0, noise_device="cpu")
    assert not close(run(heun), run(ode_2m))
    stage = node(nodes.SamplerDPMPP_SDE, ctx, eta=1.0, s_noise=1.0, r=0.3, noise_device="cpu")
    assert not close(run(stage), run.select("dpmpp_sde"))
    loose = node(nodes.SamplerDPMAdaptative, ctx, order=2, rtol=0.5, atol=0.1, h_init=0.05, pcoeff=0.0, icoeff=1.0,
                 dcoeff=0.0, accept_safety=0.81, eta=0.0, s_noise=1.0)
    assert not close(run(loose), run.select("dpm_adaptive"))


def test_lcm_upscale_grows_the_latent_and_without_resizing_is_lcm(run):
    ctx = run.ctx
    same = node(nodes.SamplerLCMUpscale, ctx, scale_ratio=1.0, scale_steps=-1, upscale_method="nearest-exact")
    assert torch.equal(run(same), run.select("lcm"))
    double = run(node(nodes.SamplerLCMUpscale, ctx, scale_ratio=2.0, scale_steps=-1, upscale_method="bislerp"))
    assert double.shape == (1, 4, 16, 16) and torch.isfinite(double).all()
    once = run(node(nodes.SamplerLCMUpscale, ctx, scale_ratio=1.5, scale_steps=1, upscale_method="bilinear"))
    assert once.shape == (1, 4, 12, 12)
    assert upscale_factors(5, 2.0, None).tolist() == [1.5, 2.0]  # 4 steps: the first two resize
    assert upscale_factors(5, 3.0, 1).tolist() == [3.0] and upscale_factors(3, 2.0, 50).tolist() == pytest.approx([4 / 3, 5 / 3, 2])
    with pytest.raises(ValueError, match="SamplerLCMUpscale: input 'upscale_method'"):
        nodes.SamplerLCMUpscale.run(ctx, scale_ratio=2.0, scale_steps=-1, upscale_method="lanczos")


def test_noise_device_does_not_change_the_result(run):
    ctx = run.ctx
    on_gpu = node(nodes.SamplerDPMPP_3M_SDE, ctx, eta=1.0, s_noise=1.0, noise_device="gpu")
    on_cpu = node(nodes.SamplerDPMPP_3M_SDE, ctx, eta=1.0, s_noise=1.0, noise_device="cpu")
    assert on_gpu == on_cpu


def test_sampler_nodes_bad_input(run):
    ctx = run.ctx
    with pytest.raises(ValueError, match="SamplerDPMAdaptative: input 'order'"):
        nodes.SamplerDPMAdaptative.run(ctx, order=4, rtol=0.05, atol=0.0078, h_init=0.05, pcoeff=0.0, icoeff=1.0,
                                       dcoeff=0.0, accept_safety=0.81, eta=0.0, s_noise=1.0)
    with pytest.raises(ValueError, match="SamplerEulerAncestral: input 'eta'"):
        nodes.SamplerEulerAncestral.run(ctx, eta=float("nan"), s_noise=1.0)
    with pytest.raises(ValueError, match="SamplerDPMPP_2M_SDE: input 'solver_type'"):
        nodes.SamplerDPMPP_2M_SDE.run(ctx, solver_type="rk4", eta=1.0, s_noise=1.0, noise_device="cpu")
    with pytest.raises(ValueError, match="SamplerDPMPP_SDE: input 'r'"):
        nodes.SamplerDPMPP_SDE.run(ctx, eta=1.0, s_noise=1.0, r=0.0, noise_device="cpu")
    with pytest.raises(ValueError, match="SamplerCustom: input 'sampler'.*no option"):
        run(SamplerChoice("lms", (("eta", 1.0),)))
    with pytest.raises(ValueError, match="takes no options"):
        configured_sampler("heun", {"eta": 1.0})
    assert set(SAMPLER_PARAMETERS) == {"euler_ancestral", "euler_ancestral_cfg_pp", "lms", "dpmpp_2s_ancestral", "dpmpp_sde", "dpmpp_2m_sde",
                                       "dpmpp_3m_sde", "dpm_adaptive", "lcm", "euler_cfg_pp"}
