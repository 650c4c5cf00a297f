"""APG, TCFG, RenormCFG, FreSca and LatentApplyOperationCFG: what the guided denoiser computes with them."""

from __future__ import annotations

import pytest
import torch

from diffusion.sampling import guidance_rules
from nodes.library.model_patches.guidance_rules import APG, TCFG, FreSca, LatentApplyOperationCFG, RenormCFG
from tests.nodes.library.model_patches.patch_fixtures import SHAPE, fixed_handle, guided, table_sigma
from tests.nodes.sd_fakes import values


def _outputs(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(SHAPE, generator=g), torch.randn(SHAPE, generator=g), torch.randn(SHAPE, generator=g)


def _denoised(x, s, cond_out, uncond_out):
    return x - s * cond_out, x - s * uncond_out  # an eps model: D = x - sigma * F


def _vec(*values_):
    return torch.tensor(values_).reshape(1, len(values_), 1, 1)


def _pre_args(cond, uncond, cfg, sigma=1.0, x=None, conds=("pos", "neg")):
    return {"conds_out": [cond, uncond], "conds": list(conds), "cond_scale": cfg, "sigma": torch.tensor([sigma]),
            "timestep": torch.tensor([sigma]), "input": torch.zeros_like(cond) if x is None else x}


def test_apg_hand_worked():
    rule = guidance_rules.adaptive_projected_guidance(eta=2.0, norm_threshold=0.0, momentum=0.0)
    cond, uncond = _vec(1.0, 0.0), _vec(0.0, 1.0)
    # g = (1, -1): along cond (1, 0), orthogonal (0, -1); modified guidance (2, -1)
    modified, kept = rule(_pre_args(cond, uncond, 2.0))
    torch.testing.assert_close(modified, _vec(2.5, -0.5))
    torch.testing.assert_close(kept, uncond)
    torch.testing.assert_close(uncond + (modified - uncond) * 2.0, _vec(5.0, -2.0))  # cond + cfg * (2, -1)
    capped = guidance_rules.adaptive_projected_guidance(1.0, 1.0, 0.0)
    (modified, _) = capped(_pre_args(cond, uncond, 1.0))
    half = 2 ** -0.5
    torch.testing.assert_close(modified, uncond + _vec(half, -half) + (cond - uncond))  # |g| capped at 1


def test_apg_momentum_accumulates_and_restarts_when_sigma_rises():
    rule = guidance_rules.adaptive_projected_guidance(1.0, 0.0, 0.5)
    cond, uncond = _vec(1.0, 0.0), _vec(0.0, 1.0)
    g = cond - uncond
    first = rule(_pre_args(cond, uncond, 1.0, sigma=2.0))[0]
    torch.testing.assert_close(first, uncond + g + g)
    second = rule(_pre_args(cond, uncond, 1.0, sigma=1.0))[0]
    torch.testing.assert_close(second, uncond + 1.5 * g + g)
    restarted = rule(_pre_args(cond, uncond, 1.0, sigma=3.0))[0]
    torch.testing.assert_close(restarted, first)


def test_apg_node_in_the_guided_denoiser(make_ctx):
    cond_out, uncond_out, x = _outputs()
    (patched,) = values(APG, make_ctx(), model=fixed_handle(cond_out, uncond_out), eta=0.5, norm_threshold=0.0,
                        momentum=0.0)
    s = table_sigma()
    d_c, d_u = _denoised(x, s, cond_out, uncond_out)
    g = d_c - d_u
    unit = d_c / torch.linalg.vector_norm(d_c, dim=(1, 2, 3), keepdim=True)
    parallel = (g * unit).sum(dim=(1, 2, 3), keepdim=True) * unit
    expected = d_c + 4.0 * ((g - parallel) + 0.5 * parallel)
    torch.testing.assert_close(guided(patched, 4.0)(x, s), expected, rtol=1e-4, atol=1e-4)
    # cfg 0: the result is the unconditional prediction (no division by zero)
    torch.testing.assert_close(guided(patched, 0.0)(x, s), d_u, rtol=1e-5, atol=1e-5)


def test_tcfg_hand_worked():
    rule = guidance_rules.tangential_damping()
    x = torch.zeros(1, 2, 1, 1)
    # scores x - D: s_c = (0, -3), s_u = (-1, 0): orthogonal, s_c the larger, so s_u's part along v1 is 0
    cond, uncond = _vec(0.0, 3.0), _vec(1.0, 0.0)
    kept, damped = rule(_pre_args(cond, uncond, 5.0, x=x))
    torch.testing.assert_close(kept, cond)
    torch.testing.assert_close(damped, x)
    # parallel scores: nothing to damp
    _, same = rule(_pre_args(cond, cond * 2, 5.0, x=x))
    torch.testing.assert_close(same, cond * 2, rtol=1e-5, atol=1e-5)
    # a side not evaluated: unchanged
    outs = rule(_pre_args(cond, uncond, 1.0, x=x, conds=("pos", None)))
    assert outs[1] is uncond


def test_tcfg_node_in_the_guided_denoiser(make_ctx):
    cond_out = torch.zeros(SHAPE)
    cond_out[:, 0] = 2.0
    uncond_out = torch.zeros(SHAPE)
    uncond_out[:, 1] = 1.0  # scores orthogonal to the (larger) conditional one's
    x = torch.randn(SHAPE, generator=torch.Generator().manual_seed(1))
    (patched,) = values(TCFG, make_ctx(), model=fixed_handle(cond_out, uncond_out))
    s = table_sigma()
    d_c, _ = _denoised(x, s, cond_out, uncond_out)
    torch.testing.assert_close(guided(patched, 3.0)(x, s), x + (d_c - x) * 3.0, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(guided(patched, 1.0)(x, s), d_c)  # cfg 1: no negative, nothing damped


def test_renorm_cfg_closed_form(make_ctx):
    cond_out, uncond_out, x = _outputs(2)
    handle = fixed_handle(cond_out, uncond_out)
    s = table_sigma()
    d_c, d_u = _denoised(x, s, cond_out, uncond_out)
    plain = d_u + 6.0 * (d_c - d_u)
    (uncapped,) = values(RenormCFG, make_ctx(), model=handle, cfg_trunc=100.0, renorm_cfg=0.0)
    torch.testing.assert_close(guided(uncapped, 6.0)(x, s), plain, rtol=1e-5, atol=1e-5)
    (capped,) = values(RenormCFG, make_ctx(), model=handle, cfg_trunc=100.0, renorm_cfg=1.0)
    cap = torch.linalg.vector_norm(d_c, dim=(1, 2, 3), keepdim=True)
    norm = torch.linalg.vector_norm(plain, dim=(1, 2, 3), keepdim=True)
    expected = torch.where(norm >= cap, plain * cap / norm, plain)
    result = guided(capped, 6.0)(x, s)
    torch.testing.assert_close(result, expected, rtol=1e-4, atol=1e-4)
    assert (torch.linalg.vector_norm(result, dim=(1, 2, 3)) <= cap.flatten() * (1 + 1e-5)).all()
    (truncated,) = values(RenormCFG, make_ctx(), model=handle, cfg_trunc=0.0, renorm_cfg=1.0)
    torch.testing.assert_close(guided(truncated, 6.0)(x, s), d_c, rtol=1e-5, atol=1e-5)  # sigma >= trunc: cond


def test_fourier_filter_scales_dc_and_nyquist_apart():
    constant = torch.full((1, 1, 4, 4), 2.0)
    torch.testing.assert_close(guidance_rules.fourier_filter(constant, 0.5, 3.0, 1), constant * 0.5)
    rows, cols = torch.meshgrid(torch.arange(4), torch.arange(4), indexing="ij")
    checker = ((-1.0) ** (rows + cols)).reshape(1, 1, 4, 4)
    torch.testing.assert_close(guidance_rules.fourier_filter(checker, 0.5, 3.0, 1), checker * 3.0,
                               rtol=1e-5, atol=1e-5)
    # a cutoff of half the size covers the whole spectrum
    torch.testing.assert_close(guidance_rules.fourier_filter(checker, 0.5, 3.0, 2), checker * 0.5,
                               rtol=1e-5, atol=1e-5)


def test_fresca_node_scales_a_constant_guidance_by_scale_low(make_ctx):
    x = torch.randn(SHAPE, generator=torch.Generator().manual_seed(3))
    cond_out, uncond_out = torch.full(SHAPE, 0.3), torch.full(SHAPE, -0.2)
    (patched,) = values(FreSca, make_ctx(), model=fixed_handle(cond_out, uncond_out), scale_low=0.5,
                        scale_high=2.0, freq_cutoff=1)
    s = table_sigma()
    d_c, d_u = _denoised(x, s, cond_out, uncond_out)
    torch.testing.assert_close(guided(patched, 5.0)(x, s), d_u + 5.0 * 0.5 * (d_c - d_u), rtol=1e-4, atol=1e-4)


def test_latent_apply_operation_cfg(make_ctx):
    cond_out, uncond_out, x = _outputs(4)

    def double(latent, **_):
        return latent * 2.0

    (patched,) = values(LatentApplyOperationCFG, make_ctx(), model=fixed_handle(cond_out, uncond_out),
                        operation=double)
    s = table_sigma()
    d_c, d_u = _denoised(x, s, cond_out, uncond_out)
    torch.testing.assert_close(guided(patched, 3.0)(x, s), d_u + 3.0 * 2.0 * (d_c - d_u), rtol=1e-5, atol=1e-5)
    three = guidance_rules.latent_operation_cfg(double)({"conds_out": [d_c, d_u, d_u]})
    torch.testing.assert_close(three[0], d_c * 2.0)


@pytest.mark.parametrize("node, inputs", [
    (APG, {"eta": 1.0, "norm_threshold": 5.0, "momentum": 0.0}), (TCFG, {}),
    (RenormCFG, {"cfg_trunc": 100.0, "renorm_cfg": 1.0}),
    (FreSca, {"scale_low": 1.0, "scale_high": 1.25, "freq_cutoff": 20}),
    (LatentApplyOperationCFG, {"operation": lambda latent, **_: latent}),
])
def test_nodes_return_a_clone(make_ctx, node, inputs):
    handle = fixed_handle(torch.zeros(SHAPE), torch.zeros(SHAPE))
    (patched,) = values(node, make_ctx(), model=handle, **inputs)
    assert patched is not handle and patched.is_clone(handle)
    assert handle.options == {}


@pytest.mark.parametrize("node, inputs, message", [
    (APG, {"eta": 11.0, "norm_threshold": 5.0, "momentum": 0.0}, "'eta' must be between"),
    (APG, {"eta": 1.0, "norm_threshold": 5.0, "momentum": 2.0}, "'momentum' must be between"),
    (RenormCFG, {"cfg_trunc": -1.0, "renorm_cfg": 1.0}, "'cfg_trunc' must be between"),
    (FreSca, {"scale_low": 1.0, "scale_high": 1.25, "freq_cutoff": 0}, "'freq_cutoff' must be an integer"),
    (FreSca, {"scale_low": "x", "scale_high": 1.25, "freq_cutoff": 2}, "'scale_low' must be a number"),
    (LatentApplyOperationCFG, {"operation": 3}, "'operation' must be a LATENT_OPERATION"),
])
def test_bad_inputs_are_refused(make_ctx, node, inputs, message):
    with pytest.raises((ValueError, TypeError), match=message) as info:
        values(node, make_ctx(), model=fixed_handle(torch.zeros(SHAPE), torch.zeros(SHAPE)), **inputs)
    assert node.node_id in str(info.value)
    with pytest.raises(TypeError, match="must be a MODEL"):
        values(TCFG, make_ctx(), model=object())
