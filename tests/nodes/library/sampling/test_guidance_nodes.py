"""NOISE, GUIDER and SamplerCustomAdvanced on the tiny checkpoints, DualCFG's formulas, AddNoise, bad input."""

# The fixtures imported from sd_fixtures are used as test arguments (pytest's by-name injection).
# ruff: noqa: F811

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from diffusion.sampling.conds import prepare_conditioning
from diffusion.sampling.discrete import DiscreteSchedule
from diffusion.sampling.guiders import DualGuidedDenoiser
from diffusion.sampling.noise import prepare_noise
from nodes.library.conditioning.clip_text import CLIPTextEncode
from nodes.library.sampling.custom_sampling import BasicScheduler, KSamplerSelect, SamplerCustom
from nodes.library.sampling.guidance import (
    AddNoise,
    BasicGuider,
    CFGGuider,
    DisableNoise,
    DualCFGGuider,
    NoiseSource,
    RandomNoise,
    SamplerCustomAdvanced,
)
from tests.nodes.sd_fixtures import call, context, sd_runtime, tiny_files, tiny_models  # noqa: F401


@pytest.fixture
def sd15(tiny_models):
    return tiny_models["sd15"]


@pytest.fixture
def setup(sd_runtime, sd15):
    ctx = context(sd_runtime)
    pos = call(CLIPTextEncode, ctx, text="a red fox", clip=sd15.clip)[0]
    neg = call(CLIPTextEncode, ctx, text="", clip=sd15.clip)[0]
    (sigmas,) = call(BasicScheduler, ctx, model=sd15.model, scheduler="normal", steps=3, denoise=1.0)
    return SimpleNamespace(runtime=sd_runtime, model=sd15.model, clip=sd15.clip, pos=pos, neg=neg, sigmas=sigmas)


def advanced(s, noise, guider, sampler_name="euler", latent=None, sigmas=None, ctx=None):
    (sampler,) = call(KSamplerSelect, context(s.runtime), sampler_name=sampler_name)
    latent = latent if latent is not None else {"samples": torch.zeros(1, 4, 8, 8)}
    return call(SamplerCustomAdvanced, ctx or context(s.runtime), noise=noise, guider=guider, sampler=sampler,
                sigmas=s.sigmas if sigmas is None else sigmas, latent_image=latent)


def cfg_guider(s, cfg):
    return call(CFGGuider, context(s.runtime), model=s.model, positive=s.pos, negative=s.neg, cfg=cfg)[0]


@pytest.mark.parametrize("sampler_name", ["euler", "euler_ancestral", "dpmpp_2m_sde"])
def test_advanced_with_random_noise_and_cfg_equals_sampler_custom(setup, sampler_name):
    s = setup
    (noise,) = call(RandomNoise, context(s.runtime), noise_seed=4)
    ctx = context(s.runtime)
    output, denoised = advanced(s, noise, cfg_guider(s, 6.0), sampler_name, ctx=ctx)
    (sampler,) = call(KSamplerSelect, context(s.runtime), sampler_name=sampler_name)
    ref_out, ref_denoised = call(SamplerCustom, context(s.runtime), model=s.model, add_noise=True, noise_seed=4,
                                 cfg=6.0, positive=s.pos, negative=s.neg, sampler=sampler, sigmas=s.sigmas,
                                 latent_image={"samples": torch.zeros(1, 4, 8, 8)})
    assert torch.equal(output["samples"], ref_out["samples"])
    assert torch.equal(denoised["samples"], ref_denoised["samples"])
    assert [(v, t) for v, t, _ in ctx.on_progress.calls] == [(1, 3), (2, 3), (3, 3)]
    (other,) = call(RandomNoise, context(s.runtime), noise_seed=5)
    assert not torch.equal(advanced(s, other, cfg_guider(s, 6.0), sampler_name)[0]["samples"], output["samples"])


def test_cfg_guider_at_cfg_one_equals_basic_guider(setup):
    s = setup
    (noise,) = call(RandomNoise, context(s.runtime), noise_seed=11)
    (basic,) = call(BasicGuider, context(s.runtime), model=s.model, conditioning=s.pos)
    with_basic, _ = advanced(s, noise, basic)
    with_cfg_one, _ = advanced(s, noise, cfg_guider(s, 1.0))
    assert torch.equal(with_basic["samples"], with_cfg_one["samples"])
    assert not torch.equal(advanced(s, noise, cfg_guider(s, 6.0))[0]["samples"], with_basic["samples"])


def test_disable_noise_is_deterministic_and_matches_sampler_custom_without_noise(setup):
    s = setup
    latent = {"samples": torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(2))}
    sigmas = torch.tensor([1.5, 0.7, 0.0])
    (off,) = call(DisableNoise, context(s.runtime))
    assert off == NoiseSource(0, enabled=False)
    first, _ = advanced(s, off, cfg_guider(s, 5.0), latent=latent, sigmas=sigmas)
    again, _ = advanced(s, off, cfg_guider(s, 5.0), latent=latent, sigmas=sigmas)
    assert torch.equal(first["samples"], again["samples"])
    (sampler,) = call(KSamplerSelect, context(s.runtime), sampler_name="euler")
    ref, _ = call(SamplerCustom, context(s.runtime), model=s.model, add_noise=False, noise_seed=123, cfg=5.0,
                  positive=s.pos, negative=s.neg, sampler=sampler, sigmas=sigmas, latent_image=latent)
    assert torch.equal(first["samples"], ref["samples"])


def test_dual_cfg_regular_reduces_to_cfg_when_both_conditionings_agree(setup):
    s = setup
    (noise,) = call(RandomNoise, context(s.runtime), noise_seed=3)
    (dual,) = call(DualCFGGuider, context(s.runtime), model=s.model, cond1=s.pos, cond2=s.pos, negative=s.neg,
                   cfg_conds=1.0, cfg_cond2_negative=6.0, style="regular")
    with_dual, _ = advanced(s, noise, dual)
    with_cfg, _ = advanced(s, noise, cfg_guider(s, 6.0))
    # The dual guider runs three conditionings in one batch, plain CFG two: float32 matmuls of other batch
    # sizes round differently, so the samples (|x| up to ~200 after 3 steps) agree to 1e-5 of that scale, not
    # bitwise (measured: 3e-4 apart).
    difference = (with_dual["samples"] - with_cfg["samples"]).abs().max()
    assert difference <= 1e-5 * with_cfg["samples"].abs().max()


class MeanOfContext:
    """A fake denoiser whose prediction is the mean of each item's text context; records the batch sizes."""

    def __init__(self):
        self.batches = []

    def __call__(self, x, sigma, context=None, y=None, concat=None):
        self.batches.append(x.shape[0])
        return context.mean(dim=(1, 2)).reshape(-1, 1, 1, 1).expand_as(x).clone()


def _prepared(value):
    entry = [[torch.full((1, 4, 8), float(value)), {}]]
    return prepare_conditioning(entry, which="positive", latent_shape=(1, 4, 4, 4), schedule=DiscreteSchedule())


@pytest.mark.parametrize("cfg1, cfg2, nested, expected, evaluated", [
    (2.0, 3.0, False, 0.5 + (0.2 - 0.5) * 3.0 + (1.0 - 0.2) * 2.0, 3),
    (2.0, 1.0, False, 0.2 + (1.0 - 0.2) * 2.0, 2),  # cfg2 == 1: the negative is not evaluated
    (1.0, 1.0, False, 1.0, 1),  # both 1: only cond1
    (2.0, 3.0, True, 0.5 + 3.0 * ((0.2 + (1.0 - 0.2) * 2.0) - 0.5), 3),
    (1.0, 1.0, True, 1.0, 3),  # nested always evaluates every conditioning
])
def test_dual_cfg_formulas(cfg1, cfg2, nested, expected, evaluated):
    fake = MeanOfContext()
    model_fn = DualGuidedDenoiser(fake, [_prepared(1.0), _prepared(0.2), _prepared(0.5)], cfg1, cfg2, nested)
    out = model_fn(torch.zeros(1, 4, 4, 4), torch.tensor(2.0))
    assert torch.allclose(out, torch.full_like(out, expected), atol=1e-6)
    assert sum(fake.batches) == evaluated


def test_add_noise_closed_form(make_ctx):
    ctx = make_ctx()
    model = SimpleNamespace(model_info=SimpleNamespace(latent_format=SimpleNamespace(scale_factor=0.5, channels=4)))
    (noise,) = call(RandomNoise, ctx, noise_seed=9)
    latent = {"samples": torch.ones(1, 4, 4, 4), "batch_index": [0]}
    sigmas = torch.tensor([3.0, 1.0, 0.5])
    (out,) = call(AddNoise, ctx, model=model, noise=noise, sigmas=sigmas, latent_image=latent)
    expected = (torch.ones(1, 4, 4, 4) * 0.5 + prepare_noise(latent["samples"], 9, [0]) * 2.5) / 0.5
    assert torch.allclose(out["samples"], expected) and out["batch_index"] == [0]
    empty = {"samples": torch.zeros(1, 4, 4, 4)}
    (one,) = call(AddNoise, ctx, model=model, noise=noise, sigmas=torch.tensor([2.0]), latent_image=empty)
    assert torch.allclose(one["samples"], prepare_noise(empty["samples"], 9) * 2.0 / 0.5)
    (off,) = call(DisableNoise, ctx)
    assert call(AddNoise, ctx, model=model, noise=off, sigmas=sigmas, latent_image=latent)[0]["samples"].equal(
        latent["samples"])
    assert call(AddNoise, ctx, model=model, noise=noise, sigmas=torch.zeros(0), latent_image=latent)[0] is latent
    with pytest.raises(TypeError, match="AddNoise: input 'noise'"):
        call(AddNoise, ctx, model=model, noise=5, sigmas=sigmas, latent_image=latent)


def test_guidance_bad_input(setup):
    s = setup
    ctx = context(s.runtime)
    (noise,) = call(RandomNoise, ctx, noise_seed=1)
    guider = cfg_guider(s, 6.0)
    with pytest.raises(TypeError, match="SamplerCustomAdvanced: input 'noise'"):
        advanced(s, 7, guider)
    with pytest.raises(TypeError, match="SamplerCustomAdvanced: input 'guider'"):
        advanced(s, noise, s.model)
    with pytest.raises(ValueError, match="SamplerCustomAdvanced: input 'sigmas'"):
        advanced(s, noise, guider, sigmas=torch.zeros(2, 2))
    with pytest.raises(ValueError, match="SamplerCustomAdvanced: input 'sampler'"):
        call(SamplerCustomAdvanced, ctx, noise=noise, guider=guider, sampler="warp", sigmas=s.sigmas,
             latent_image={"samples": torch.zeros(1, 4, 8, 8)})
    with pytest.raises(ValueError, match="SamplerCustomAdvanced: input 'latent_image'"):
        advanced(s, noise, guider, latent={"samples": torch.ones(1, 3, 8, 8)})
    with pytest.raises(TypeError, match="CFGGuider: input 'model'"):
        call(CFGGuider, ctx, model=None, positive=s.pos, negative=s.neg, cfg=6.0)
    with pytest.raises(TypeError, match="BasicGuider: input 'conditioning'"):
        call(BasicGuider, ctx, model=s.model, conditioning="a fox")
    with pytest.raises(ValueError, match="DualCFGGuider: input 'style'"):
        call(DualCFGGuider, ctx, model=s.model, cond1=s.pos, cond2=s.pos, negative=s.neg, cfg_conds=1.0,
             cfg_cond2_negative=6.0, style="sideways")
    with pytest.raises(ValueError, match="RandomNoise: input 'noise_seed'"):
        call(RandomNoise, ctx, noise_seed=-1)
