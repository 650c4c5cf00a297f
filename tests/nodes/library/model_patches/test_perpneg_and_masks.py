"""PerpNeg, PerpNegGuider, DifferentialDiffusion, SamplerEulerCFGpp, OptimalStepsScheduler, and DualCFGGuider
with a model's cfg hooks: formulas worked by hand, and reductions to plain CFG on the tiny SD1.5 checkpoint."""

# The fixtures imported from sd_fixtures are used as test arguments (pytest's by-name injection).
# ruff: noqa: F811

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from diffusion.sampling.denoise_masks import differential_diffusion
from diffusion.sampling.discrete import DiscreteSchedule
from diffusion.sampling.guiders import perp_neg
from diffusion.sampling.published_schedules import OPTIMAL_STEPS
from nodes.library.conditioning.clip_text import CLIPTextEncode
from nodes.library.model_patches.guidance_masks import DifferentialDiffusion
from nodes.library.model_patches.guidance_patches import RescaleCFG
from nodes.library.model_patches.guidance_perpneg import PerpNeg, PerpNegGuider
from nodes.library.sampling.custom_sampling import BasicScheduler, KSamplerSelect
from nodes.library.sampling.guidance import (
    BasicGuider,
    CFGGuider,
    DualCFGGuider,
    RandomNoise,
    SamplerCustomAdvanced,
)
from nodes.library.sampling.sampler_nodes import SamplerEulerCFGpp
from nodes.library.sampling.schedulers import OptimalStepsScheduler
from tests.nodes.sd_fixtures import call, context, sd_runtime, tiny_files, tiny_models  # noqa: F401


def close(a: torch.Tensor, b: torch.Tensor, rel: float = 1e-5) -> bool:
    """Equal up to float32 rounding relative to the latent's scale (|x| ~ 100 after these steps): a guider
    that batches three conditionings, or runs one apart, rounds differently from one that batches two."""
    return float((a - b).abs().max()) <= rel * float(b.abs().max())


@pytest.fixture
def s(sd_runtime, tiny_models):
    sd15 = tiny_models["sd15"]
    ctx = context(sd_runtime)

    def encode(text):
        return call(CLIPTextEncode, ctx, text=text, clip=sd15.clip)[0]

    (sigmas,) = call(BasicScheduler, ctx, model=sd15.model, scheduler="normal", steps=3, denoise=1.0)
    return SimpleNamespace(runtime=sd_runtime, model=sd15.model, pos=encode("a red fox"), neg=encode("blurry"),
                           empty=encode(""), sigmas=sigmas)


def run(s, guider, sampler_name="euler", sampler=None, latent=None, sigmas=None):
    ctx = context(s.runtime)
    (noise,) = call(RandomNoise, ctx, noise_seed=7)
    if sampler is None:
        (sampler,) = call(KSamplerSelect, ctx, sampler_name=sampler_name)
    latent = latent if latent is not None else {"samples": torch.zeros(1, 4, 8, 8)}
    out, _ = call(SamplerCustomAdvanced, ctx, noise=noise, guider=guider, sampler=sampler,
                  sigmas=s.sigmas if sigmas is None else sigmas,
                  latent_image=latent)
    return out["samples"]


def cfg(s, positive, negative, scale, model=None):
    return call(CFGGuider, context(s.runtime), model=model or s.model, positive=positive, negative=negative,
                cfg=scale)[0]


# --- Perp-Neg ---------------------------------------------------------------------------------------------

def test_perp_neg_hand_worked():
    empty = torch.zeros(1, 2, 1, 1)
    positive = torch.tensor([1.0, 0.0]).reshape(1, 2, 1, 1)
    negative = torch.tensor([1.0, 1.0]).reshape(1, 2, 1, 1)
    # n' = (1, 1) has (1, 0) along p' = (1, 0): its perpendicular part is (0, 1).
    out = perp_neg(positive, negative, empty, neg_scale=0.5, cfg=3.0)
    assert torch.allclose(out.flatten(), torch.tensor([3.0, -1.5]))
    # Measured from the empty prediction: shifting all three shifts the result.
    shift = torch.full_like(empty, 2.0)
    assert torch.allclose(perp_neg(positive + shift, negative + shift, shift, 0.5, 3.0), out + shift)


def test_perp_neg_guider_without_neg_scale_is_cfg_against_the_empty_prompt(s):
    (guider,) = call(PerpNegGuider, context(s.runtime), model=s.model, positive=s.pos, negative=s.neg,
                     empty_conditioning=s.empty, cfg=6.0, neg_scale=0.0)
    assert close(run(s, guider), run(s, cfg(s, s.pos, s.empty, 6.0)))


def test_perp_neg_guider_ignores_a_negative_parallel_to_the_positive(s):
    """negative == positive: nothing of it is perpendicular, so any neg_scale gives CFG against empty."""
    (guider,) = call(PerpNegGuider, context(s.runtime), model=s.model, positive=s.pos, negative=s.pos,
                     empty_conditioning=s.empty, cfg=6.0, neg_scale=5.0)
    assert close(run(s, guider), run(s, cfg(s, s.pos, s.empty, 6.0)), rel=1e-4)


def test_perp_neg_guider_neg_scale_changes_the_image(s):
    def with_scale(neg_scale):
        (guider,) = call(PerpNegGuider, context(s.runtime), model=s.model, positive=s.pos, negative=s.neg,
                         empty_conditioning=s.empty, cfg=6.0, neg_scale=neg_scale)
        return run(s, guider)

    assert not torch.allclose(with_scale(0.0), with_scale(2.0), atol=1e-2)


def test_perp_neg_model_patch_without_neg_scale_is_cfg_against_the_empty_prompt(s):
    (patched,) = call(PerpNeg, context(s.runtime), model=s.model, empty_conditioning=s.empty, neg_scale=0.0)
    assert patched is not s.model
    with_patch = run(s, cfg(s, s.pos, s.neg, 6.0, model=patched))
    assert close(with_patch, run(s, cfg(s, s.pos, s.empty, 6.0)))
    # The input model is untouched: plain CFG against the real negative differs.
    assert not torch.allclose(run(s, cfg(s, s.pos, s.neg, 6.0)), with_patch, atol=1e-2)


@pytest.mark.parametrize("node, inputs, message", [
    (PerpNegGuider, {"cfg": 6.0, "neg_scale": -1.0}, "neg_scale"),
    (PerpNegGuider, {"cfg": float("nan"), "neg_scale": 1.0}, "cfg"),
    (PerpNegGuider, {"cfg": 6.0, "neg_scale": 1.0, "empty_conditioning": "text"}, "empty_conditioning"),
])
def test_perp_neg_guider_bad_inputs(s, node, inputs, message):
    full = {"model": s.model, "positive": s.pos, "negative": s.neg, "empty_conditioning": s.empty, **inputs}
    with pytest.raises((TypeError, ValueError), match=message):
        call(node, context(s.runtime), **full)


# --- DualCFGGuider with the model's cfg hooks -------------------------------------------------------------

def test_dual_cfg_runs_the_models_cfg_function(s):
    """Regular style with cond1 == cond2 is cfg_function(cond2, negative, cfg2): RescaleCFG must act in it."""
    (rescaled,) = call(RescaleCFG, context(s.runtime), model=s.model, multiplier=1.0)
    (dual,) = call(DualCFGGuider, context(s.runtime), model=rescaled, cond1=s.pos, cond2=s.pos, negative=s.neg,
                   cfg_conds=1.0, cfg_cond2_negative=6.0, style="regular")
    with_dual = run(s, dual)
    assert close(with_dual, run(s, cfg(s, s.pos, s.neg, 6.0, model=rescaled)))
    assert not torch.allclose(with_dual, run(s, cfg(s, s.pos, s.neg, 6.0)), atol=1e-2)


# --- DifferentialDiffusion --------------------------------------------------------------------------------

def test_differential_diffusion_threshold_falls_from_one_to_zero():
    schedule = DiscreteSchedule()
    sigmas = torch.tensor([float(schedule.sigma_max), 5.0, 1.0, 0.0])
    mask = torch.tensor([0.0, 0.3, 0.6, 1.0]).reshape(1, 1, 1, 4)
    function = differential_diffusion(1.0)
    extra = {"sigmas": sigmas, "model_sampling": schedule}

    first = function(sigmas[0], mask, extra)
    assert first.flatten().tolist() == [0.0, 0.0, 0.0, 1.0]  # threshold 1: only a full mask is repainted
    t = [float(schedule.timestep(torch.tensor([v]))) for v in (float(sigmas[0]), 5.0, 1.0)]
    t_to = float(schedule.timestep(torch.tensor([float(schedule.sigma_min)])))
    threshold = (t[1] - t_to) / (t[0] - t_to)
    middle = function(torch.tensor(5.0), mask, extra)
    assert middle.flatten().tolist() == [float(v >= threshold) for v in (0.0, 0.3, 0.6, 1.0)]
    late = function(torch.tensor(0.1), mask, extra)
    assert late.flatten().tolist() == [0.0, 1.0, 1.0, 1.0]  # near the end every masked pixel is repainted
    # At sigma_min the threshold is 0 and even mask 0 passes (mask >= 0), as in ComfyUI.
    assert function(torch.tensor(float(schedule.sigma_min)), mask, extra).flatten().tolist() == [1.0] * 4


def test_differential_diffusion_strength_blends_in_the_soft_mask():
    schedule = DiscreteSchedule()
    sigmas = torch.tensor([float(schedule.sigma_max), 1.0, 0.0])
    mask = torch.tensor([0.2, 0.9]).reshape(1, 1, 1, 2)
    extra = {"sigmas": sigmas, "model_sampling": schedule}
    binary = differential_diffusion(1.0)(sigmas[0], mask, extra)
    blended = differential_diffusion(0.25)(sigmas[0], mask, extra)
    assert torch.allclose(blended, 0.25 * binary + 0.75 * mask)
    assert torch.equal(differential_diffusion(0.0)(sigmas[0], mask, extra), binary)  # 0 is taken as 1


def test_differential_diffusion_with_a_binary_mask_is_plain_masked_sampling(s):
    """A 0/1 mask passes every threshold above 0 unchanged, so the patch changes nothing while the last
    model call's sigma is above sigma_min; a last call at sigma_min repaints everything (threshold 0)."""
    (patched,) = call(DifferentialDiffusion, context(s.runtime), model=s.model, strength=1.0)
    latent = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    mask = torch.zeros(1, 8, 8)
    mask[:, 2:6, 2:6] = 1.0
    masked = {"samples": latent, "noise_mask": mask}
    above_min = torch.tensor([14.6146, 1.6156, 0.5, 0.0])
    plain = run(s, cfg(s, s.pos, s.neg, 6.0), latent=masked, sigmas=above_min)
    assert torch.equal(run(s, cfg(s, s.pos, s.neg, 6.0, model=patched), latent=masked, sigmas=above_min), plain)
    assert torch.equal(plain[..., 0, 0], latent[..., 0, 0])  # unmasked stays the input

    ends_at_min = run(s, cfg(s, s.pos, s.neg, 6.0, model=patched), latent=masked)  # "normal": last sigma_min
    assert not torch.equal(ends_at_min[..., 0, 0], latent[..., 0, 0])


def test_differential_diffusion_repaints_a_soft_mask_by_its_strength(s):
    (patched,) = call(DifferentialDiffusion, context(s.runtime), model=s.model, strength=1.0)
    latent = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    mask = torch.full((1, 8, 8), 0.5)
    out = run(s, cfg(s, s.pos, s.neg, 6.0, model=patched), latent={"samples": latent, "noise_mask": mask})
    plain = run(s, cfg(s, s.pos, s.neg, 6.0), latent={"samples": latent, "noise_mask": mask})
    # Plain sampling blends half of the input into every step; differential diffusion repaints fully once
    # the threshold drops to 0.5, so the final latent is no longer half the input.
    assert not torch.allclose(out, plain, atol=1e-2)
    assert torch.isfinite(out).all()


# --- SamplerEulerCFGpp ------------------------------------------------------------------------------------

def test_sampler_euler_cfgpp_regular_is_euler_cfg_pp(s):
    (choice,) = call(SamplerEulerCFGpp, context(s.runtime), version="regular")
    guider = cfg(s, s.pos, s.neg, 2.0)
    assert torch.equal(run(s, guider, sampler=choice), run(s, guider, sampler_name="euler_cfg_pp"))


def test_sampler_euler_cfgpp_alternative_without_a_negative_is_euler(s):
    """With BasicGuider U = D, so (x - 2D + U) / sigma is Euler's (x - D) / sigma."""
    (choice,) = call(SamplerEulerCFGpp, context(s.runtime), version="alternative")
    (basic,) = call(BasicGuider, context(s.runtime), model=s.model, conditioning=s.pos)
    assert close(run(s, basic, sampler=choice), run(s, basic, sampler_name="euler"))
    guided = cfg(s, s.pos, s.neg, 2.0)
    assert not torch.allclose(run(s, guided, sampler=choice), run(s, guided, sampler_name="euler_cfg_pp"),
                              atol=1e-3)


def test_sampler_euler_cfgpp_refuses_an_unknown_version(s):
    with pytest.raises(ValueError, match="version"):
        call(SamplerEulerCFGpp, context(s.runtime), version="sideways")


# --- OptimalStepsScheduler --------------------------------------------------------------------------------

def test_optimal_steps_at_the_tables_length_is_the_table_ending_in_zero(s):
    (sigmas,) = call(OptimalStepsScheduler, context(s.runtime), model_type="FLUX", steps=10, denoise=1.0)
    expected = list(OPTIMAL_STEPS["FLUX"][:-1]) + [0.0]
    assert torch.allclose(sigmas, torch.tensor(expected))


def test_optimal_steps_interpolates_other_step_counts_and_cuts_for_denoise(s):
    ctx = context(s.runtime)
    (full,) = call(OptimalStepsScheduler, ctx, model_type="Wan", steps=30, denoise=1.0)
    assert len(full) == 31 and full[-1] == 0.0
    assert float(full[0]) == pytest.approx(OPTIMAL_STEPS["Wan"][0])
    assert (full[1:-1] < full[:-2]).all()  # strictly falling
    (half,) = call(OptimalStepsScheduler, ctx, model_type="Wan", steps=30, denoise=0.5)
    assert torch.allclose(half[:-1], full[-16:-1]) and half[-1] == 0.0 and len(half) == 16


@pytest.mark.parametrize("inputs, message", [
    ({"model_type": "SD1", "steps": 10, "denoise": 1.0}, "model_type"),
    ({"model_type": "FLUX", "steps": 2, "denoise": 1.0}, "steps"),
])
def test_optimal_steps_bad_inputs(s, inputs, message):
    with pytest.raises(ValueError, match=message):
        call(OptimalStepsScheduler, context(s.runtime), **inputs)
