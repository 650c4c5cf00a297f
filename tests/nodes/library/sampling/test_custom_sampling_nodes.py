"""The custom-sampling nodes: sampler choice, schedules, splitting, and SamplerCustom against KSampler."""

# The fixtures imported from sd_fixtures are used as test arguments (pytest's by-name injection).
# ruff: noqa: F811

from __future__ import annotations

import pytest
import torch

from diffusion.sampling.discrete import schedule_of
from diffusion.sampling.schedules import calculate_sigmas
from nodes.api.declare import DeclaredNodeType
from nodes.library.conditioning.clip_text import CLIPTextEncode
from nodes.library.sampling.custom_sampling import (
    BasicScheduler,
    KarrasScheduler,
    KSamplerSelect,
    SamplerChoice,
    SamplerCustom,
    SplitSigmas,
)
from nodes.library.sampling.ksampler import KSampler
from tests.nodes.sd_fixtures import call, context, sd_runtime, tiny_files, tiny_models  # noqa: F401


@pytest.fixture
def sd15(tiny_models):
    return tiny_models["sd15"]


def test_sampler_select_carries_the_name(sd_runtime):
    assert call(KSamplerSelect, context(sd_runtime), sampler_name="dpmpp_2m") == (SamplerChoice("dpmpp_2m"),)
    with pytest.raises(ValueError, match="KSamplerSelect"):
        call(KSamplerSelect, context(sd_runtime), sampler_name="nope")
    assert DeclaredNodeType(KSamplerSelect).schema().output_types == ("SAMPLER",)


def test_basic_scheduler_matches_the_schedule(sd_runtime, sd15):
    (sigmas,) = call(BasicScheduler, context(sd_runtime), model=sd15.model, scheduler="karras", steps=5, denoise=1.0)
    assert torch.allclose(sigmas, calculate_sigmas(schedule_of(sd15.model), "karras", 5))
    (partial,) = call(BasicScheduler, context(sd_runtime), model=sd15.model, scheduler="normal", steps=4, denoise=0.5)
    assert len(partial) == 5
    assert torch.allclose(partial, calculate_sigmas(schedule_of(sd15.model), "normal", 8)[-5:])
    (nothing,) = call(BasicScheduler, context(sd_runtime), model=sd15.model, scheduler="normal", steps=4, denoise=0.0)
    assert len(nothing) == 0


def test_karras_scheduler_and_its_defaults(sd_runtime):
    schema = DeclaredNodeType(KarrasScheduler).schema()
    assert [i.name for i in schema.inputs] == ["steps", "sigma_max", "sigma_min", "rho"]
    assert schema.input("sigma_max").options["default"] == 14.614642
    assert schema.input("sigma_min").options["default"] == 0.0291675
    (sigmas,) = call(KarrasScheduler, context(sd_runtime), steps=6, sigma_max=10.0, sigma_min=0.1, rho=7.0)
    assert len(sigmas) == 7 and sigmas[-1] == 0
    assert sigmas[0] == pytest.approx(10.0) and sigmas[-2] == pytest.approx(0.1)
    assert torch.all(sigmas[:-1] > sigmas[1:])
    with pytest.raises(ValueError, match="sigma_min"):
        call(KarrasScheduler, context(sd_runtime), steps=6, sigma_max=0.1, sigma_min=1.0, rho=7.0)


def test_split_sigmas(sd_runtime):
    sigmas = torch.tensor([5.0, 3.0, 2.0, 1.0, 0.0])
    high, low = call(SplitSigmas, context(sd_runtime), sigmas=sigmas, step=2)
    assert high.tolist() == [5.0, 3.0, 2.0] and low.tolist() == [2.0, 1.0, 0.0]
    assert [o.name for o in DeclaredNodeType(SplitSigmas).schema().outputs] == ["high_sigmas", "low_sigmas"]
    with pytest.raises(ValueError, match="SplitSigmas: input 'sigmas'"):
        call(SplitSigmas, context(sd_runtime), sigmas=torch.zeros(2, 2), step=1)


def _conds(runtime, clip):
    pos = call(CLIPTextEncode, context(runtime), text="a red fox", clip=clip)[0]
    neg = call(CLIPTextEncode, context(runtime), text="", clip=clip)[0]
    return pos, neg


def custom(runtime, model, pos, neg, sampler, sigmas, latent, *, add_noise=True, seed=4, ctx=None):
    return call(SamplerCustom, ctx or context(runtime), model=model, add_noise=add_noise, noise_seed=seed, cfg=6.0,
                positive=pos, negative=neg, sampler=sampler, sigmas=sigmas, latent_image=latent)


def test_sampler_custom_equals_ksampler(sd_runtime, sd15):
    pos, neg = _conds(sd_runtime, sd15.clip)
    latent = {"samples": torch.zeros(1, 4, 8, 8)}
    (sigmas,) = call(BasicScheduler, context(sd_runtime), model=sd15.model, scheduler="normal", steps=3, denoise=1.0)
    ctx = context(sd_runtime)
    output, denoised = custom(sd_runtime, sd15.model, pos, neg, SamplerChoice("euler"), sigmas, latent, ctx=ctx)
    (reference,) = call(KSampler, context(sd_runtime), model=sd15.model, seed=4, steps=3, cfg=6.0,
                        sampler_name="euler", scheduler="normal", positive=pos, negative=neg, latent_image=latent,
                        denoise=1.0)
    assert torch.equal(output["samples"], reference["samples"])
    assert denoised["samples"].shape == output["samples"].shape
    assert [(v, t) for v, t, _ in ctx.on_progress.calls] == [(1, 3), (2, 3), (3, 3)]
    names = [o.name for o in DeclaredNodeType(SamplerCustom).schema().outputs]
    assert names == ["output", "denoised_output"]


def test_sampler_custom_without_noise_and_with_a_plain_name(sd_runtime, sd15):
    pos, neg = _conds(sd_runtime, sd15.clip)
    latent = {"samples": torch.randn(1, 4, 8, 8)}
    sigmas = torch.tensor([1.0, 0.5, 0.0])
    a, _ = custom(sd_runtime, sd15.model, pos, neg, "euler", sigmas, latent, add_noise=False, seed=1)
    b, _ = custom(sd_runtime, sd15.model, pos, neg, SamplerChoice("euler"), sigmas, latent, add_noise=False, seed=99)
    assert torch.equal(a["samples"], b["samples"])  # no noise: the seed does not matter


def test_sampler_custom_with_no_sigmas_returns_the_input(sd_runtime, sd15):
    pos, neg = _conds(sd_runtime, sd15.clip)
    latent = {"samples": torch.randn(1, 4, 8, 8)}
    output, denoised = custom(sd_runtime, sd15.model, pos, neg, "euler", torch.zeros(0), latent)
    assert torch.equal(output["samples"], latent["samples"]) and denoised is output


def test_sampler_custom_bad_input(sd_runtime, sd15):
    pos, neg = _conds(sd_runtime, sd15.clip)
    latent = {"samples": torch.zeros(1, 4, 8, 8)}
    with pytest.raises(ValueError, match="SamplerCustom: input 'sampler'"):
        custom(sd_runtime, sd15.model, pos, neg, object(), torch.tensor([1.0, 0.0]), latent)
    with pytest.raises(ValueError, match="SamplerCustom: input 'sigmas'"):
        custom(sd_runtime, sd15.model, pos, neg, "euler", torch.tensor([1.0, float("nan")]), latent)
    with pytest.raises(ValueError, match="SamplerCustom: input 'latent_image'"):
        custom(sd_runtime, sd15.model, pos, neg, "euler", torch.tensor([1.0, 0.0]),
               {"samples": torch.ones(1, 3, 8, 8)})
