"""RescaleCFG, CFGZeroStar and CFGNorm: what the guided denoiser computes with them, clones, bad input."""

from __future__ import annotations

import pytest
import torch

from diffusion.sampling import cfg_patches, model_hooks
from nodes.library.model_patches.guidance_patches import CFGNorm, CFGZeroStar, RescaleCFG
from tests.nodes.library.model_patches.patch_fixtures import SHAPE, fixed_handle, guided, table_sigma
from tests.nodes.sd_fakes import values


def _outputs(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(SHAPE, generator=g), torch.randn(SHAPE, generator=g), torch.randn(SHAPE, generator=g)


def _plain(x, sigma, cond_out, uncond_out, cfg):
    """eps model: D = x - sigma * F; plain CFG."""
    d_c, d_u = x - sigma * cond_out, x - sigma * uncond_out
    return d_c, d_u, d_u + (d_c - d_u) * cfg


def test_rescale_cfg_multiplier_zero_is_plain_cfg(make_ctx):
    cond_out, uncond_out, x = _outputs()
    handle = fixed_handle(cond_out, uncond_out)
    (patched,) = values(RescaleCFG, make_ctx(), model=handle, multiplier=0.0)
    sigma = table_sigma()
    _, _, expected = _plain(x, sigma, cond_out, uncond_out, 5.0)
    torch.testing.assert_close(guided(patched, 5.0)(x, sigma), expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(guided(handle, 5.0)(x, sigma), expected, rtol=1e-5, atol=1e-5)


def test_rescale_cfg_multiplier_one_closed_form(make_ctx):
    cond_out, uncond_out, x = _outputs(1)
    (patched,) = values(RescaleCFG, make_ctx(), model=fixed_handle(cond_out, uncond_out), multiplier=1.0)
    s = table_sigma()
    d_c, d_u, _ = _plain(x, s, cond_out, uncond_out, 7.0)
    root = (s ** 2 + 1) ** 0.5
    v_c = (x / (s ** 2 + 1) - d_c) * root / s
    v_u = (x / (s ** 2 + 1) - d_u) * root / s
    v_cfg = v_u + 7.0 * (v_c - v_u)
    v_final = v_cfg * v_c.std(dim=(1, 2, 3), keepdim=True) / v_cfg.std(dim=(1, 2, 3), keepdim=True)
    expected = x / (s ** 2 + 1) - v_final * s / root
    result = guided(patched, 7.0)(x, s)
    torch.testing.assert_close(result, expected, rtol=1e-4, atol=1e-4)
    # the rescaled v has the conditional v's spread
    v_result = (x / (s ** 2 + 1) - result) * root / s
    torch.testing.assert_close(v_result.std(dim=(1, 2, 3)), v_c.std(dim=(1, 2, 3)), rtol=1e-4, atol=1e-4)


def test_cfg_zero_star_closed_form(make_ctx):
    cond_out, uncond_out, x = _outputs(2)
    (patched,) = values(CFGZeroStar, make_ctx(), model=fixed_handle(cond_out, uncond_out))
    s = table_sigma(300)
    d_c, d_u, plain = _plain(x, s, cond_out, uncond_out, 4.0)
    a, b = (x - d_c).reshape(2, -1), (x - d_u).reshape(2, -1)
    alpha = ((a * b).sum(1) / ((b * b).sum(1) + 1e-8)).reshape(2, 1, 1, 1)
    expected = plain + d_u * (alpha - 1) + 4.0 * d_u * (1 - alpha)
    torch.testing.assert_close(guided(patched, 4.0)(x, s), expected, rtol=1e-5, atol=1e-5)


def test_optimized_scale_hand_worked():
    pos = torch.tensor([[1.0, 2.0], [3.0, 0.0]]).reshape(2, 2, 1, 1)
    neg = torch.tensor([[1.0, 0.0], [1.0, 1.0]]).reshape(2, 2, 1, 1)
    alpha = cfg_patches.optimized_scale(pos, neg).flatten()
    torch.testing.assert_close(alpha, torch.tensor([1.0, 1.5]), rtol=1e-6, atol=1e-6)


def test_cfg_norm_closed_form(make_ctx):
    cond_out, uncond_out, x = _outputs(3)
    (patched,) = values(CFGNorm, make_ctx(), model=fixed_handle(cond_out, uncond_out), strength=0.8)
    s = table_sigma(700)
    d_c, _, plain = _plain(x, s, cond_out, uncond_out, 6.0)
    scale = (d_c.norm(dim=1, keepdim=True) / (plain.norm(dim=1, keepdim=True) + 1e-8)).clamp(0, 1)
    torch.testing.assert_close(guided(patched, 6.0)(x, s), plain * scale * 0.8, rtol=1e-5, atol=1e-5)


def test_cfg_norm_hand_worked():
    guided_pred = torch.tensor([3.0, 4.0]).reshape(1, 2, 1, 1)  # norm 5
    cond = torch.tensor([0.0, 2.0]).reshape(1, 2, 1, 1)  # norm 2
    args = {"denoised": guided_pred, "cond_denoised": cond}
    torch.testing.assert_close(cfg_patches.cfg_norm(1.0)(args), guided_pred * 0.4)
    args["cond_denoised"] = cond * 10  # norm 20: the scale is capped at 1
    torch.testing.assert_close(cfg_patches.cfg_norm(2.0)(args), guided_pred * 2.0)


def test_post_cfg_functions_chain_in_order(make_ctx):
    cond_out, uncond_out, x = _outputs(4)
    handle = fixed_handle(cond_out, uncond_out)
    (once,) = values(CFGNorm, make_ctx(), model=handle, strength=0.5)
    (twice,) = values(CFGNorm, make_ctx(), model=once, strength=0.5)
    assert len(once.options["sampler_post_cfg_function"]) == 1
    assert len(twice.options["sampler_post_cfg_function"]) == 2
    s = table_sigma()
    first = guided(once, 3.0)(x, s)
    expected = cfg_patches.cfg_norm(0.5)({"denoised": first, "cond_denoised": x - s * cond_out})
    torch.testing.assert_close(guided(twice, 3.0)(x, s), expected, rtol=1e-5, atol=1e-5)


def test_cfg_one_skips_the_negative_and_hooks_see_zero_uncond(make_ctx):
    cond_out, uncond_out, x = _outputs(5)
    handle = fixed_handle(cond_out, uncond_out)
    seen = {}

    def spy(args):
        seen.update(args)
        return args["denoised"]

    patched = model_hooks.with_listed_option(handle, model_hooks.SAMPLER_POST_CFG_FUNCTION, spy)
    s = table_sigma()
    result = guided(patched, 1.0)(x, s)
    torch.testing.assert_close(result, x - s * cond_out)
    assert torch.count_nonzero(seen["uncond_denoised"]) == 0
    assert seen["sigma"].shape == (SHAPE[0],) and seen["cond_scale"] == 1.0
    assert len(handle.model.calls) == 1 and handle.model.calls[0]["x"].shape[0] == SHAPE[0]


def test_disable_cfg1_optimization_evaluates_the_negative():
    cond_out, uncond_out, x = _outputs(6)
    handle = fixed_handle(cond_out, uncond_out)
    patched = model_hooks.with_option(handle, model_hooks.DISABLE_CFG1_OPTIMIZATION, True)
    guided(patched, 1.0)(x, table_sigma())
    assert sum(call["x"].shape[0] for call in handle.model.calls) == 2 * SHAPE[0]


@pytest.mark.parametrize("node, inputs", [(RescaleCFG, {"multiplier": 0.5}), (CFGZeroStar, {}),
                                          (CFGNorm, {"strength": 1.0})])
def test_patch_nodes_return_a_clone_and_leave_the_input_untouched(make_ctx, node, inputs):
    cond_out, uncond_out, x = _outputs(7)
    handle = fixed_handle(cond_out, uncond_out)
    handle.options["marker"] = 1
    before = guided(handle, 5.0)(x, table_sigma())
    (patched,) = values(node, make_ctx(), model=handle, **inputs)
    assert patched is not handle and patched.is_clone(handle)
    assert handle.options == {"marker": 1}
    assert patched.options["marker"] == 1
    torch.testing.assert_close(guided(handle, 5.0)(x, table_sigma()), before)


@pytest.mark.parametrize("node, inputs, message", [
    (RescaleCFG, {"multiplier": 1.5}, "'multiplier' must be between"),
    (RescaleCFG, {"multiplier": "a"}, "'multiplier' must be a number"),
    (CFGNorm, {"strength": -1.0}, "'strength' must be between"),
    (CFGNorm, {"strength": float("nan")}, "'strength' must be between"),
])
def test_out_of_range_inputs_are_refused(make_ctx, node, inputs, message):
    with pytest.raises((ValueError, TypeError), match=message) as info:
        values(node, make_ctx(), model=fixed_handle(torch.zeros(SHAPE), torch.zeros(SHAPE)), **inputs)
    assert node.node_id in str(info.value)


@pytest.mark.parametrize("node", [RescaleCFG, CFGZeroStar, CFGNorm])
def test_a_non_model_is_refused(make_ctx, node):
    with pytest.raises(TypeError, match=f"{node.node_id}: input 'model' must be a MODEL"):
        values(node, make_ctx(), model="not a model")


def test_explicit_model_options_are_honoured_for_any_denoiser():
    from diffusion.sampling.cfg import GuidedDenoiser
    from diffusion.sampling.conds import prepare_conditioning
    from diffusion.sampling.discrete import DiscreteSchedule

    def denoiser(x, sigma, context=None, **_):
        return x * context.mean(dim=(1, 2)).reshape(-1, 1, 1, 1)  # cond (context 1) -> x, uncond -> 0

    schedule = DiscreteSchedule()
    pos = prepare_conditioning([[torch.ones(1, 3, 8), {}]], which="positive", latent_shape=(1, 4, 2, 2),
                               schedule=schedule)
    neg = prepare_conditioning([[torch.zeros(1, 3, 8), {}]], which="negative", latent_shape=(1, 4, 2, 2),
                               schedule=schedule)
    x = torch.arange(16.0).reshape(1, 4, 2, 2)
    options = {model_hooks.SAMPLER_CFG_FUNCTION: lambda args: args["cond"] * 0 + args["uncond"]}
    result = GuidedDenoiser(denoiser, pos, neg, 5.0, model_options=options)(x, torch.tensor([1.0]))
    torch.testing.assert_close(result, torch.zeros_like(x))  # x - (x - uncond_denoised) = uncond = 0
    torch.testing.assert_close(GuidedDenoiser(denoiser, pos, neg, 5.0)(x, torch.tensor([1.0])), 5.0 * x)
