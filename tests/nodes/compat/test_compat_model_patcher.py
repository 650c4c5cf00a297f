"""comfy.model_patcher for packs: ModelPatcher is our MODEL handle class, and ComfyUI's patch methods change
sampling as a direct computation says, on a clone only."""

# ruff: noqa: F811

from __future__ import annotations

import pytest
import torch

from nodes.library.conditioning.clip_text import CLIPTextEncode
from nodes.library.sampling.ksampler import KSampler
from tests.nodes.compat.compat_packs import compat  # noqa: F401
from tests.nodes.sd_fixtures import call, context, sd_runtime, tiny_files, tiny_models  # noqa: F401


@pytest.fixture
def setup(compat, tiny_models):
    import comfy.model_patcher

    model = tiny_models["sd15"].model
    pos = call(CLIPTextEncode, context(compat), text="a red fox", clip=tiny_models["sd15"].clip)[0]
    neg = call(CLIPTextEncode, context(compat), text="", clip=tiny_models["sd15"].clip)[0]
    assert isinstance(model, comfy.model_patcher.ModelPatcher)
    return model, pos, neg


def sample(ctx, model, pos, neg, steps=1):
    return call(KSampler, ctx, model=model, seed=1, steps=steps, cfg=4.0, sampler_name="euler", scheduler="normal",
                positive=pos, negative=neg, latent_image={"samples": torch.zeros(1, 4, 8, 8)})[0]["samples"]


def test_cfg_function_result_is_what_sampling_returns(compat, setup):
    model, pos, neg = setup
    seen = []

    def guidance(args):  # x - guided: keep only the conditional prediction
        seen.append(args["cond_scale"])
        return args["cond"]

    patched = model.clone()
    patched.set_model_sampler_cfg_function(guidance)
    assert "sampler_cfg_function" not in model.model_options  # the input handle is unchanged
    with_patch = sample(context(compat), patched, pos, neg)
    # One euler step from sigma_max to 0 lands on the guided denoised: here the conditional one, which
    # cfg 1 (no negative evaluated) also gives.
    at_cfg_one = call(KSampler, context(compat), model=model, seed=1, steps=1, cfg=1.0, sampler_name="euler",
                      scheduler="normal", positive=pos, negative=neg,
                      latent_image={"samples": torch.zeros(1, 4, 8, 8)})[0]["samples"]
    assert seen == [4.0]
    torch.testing.assert_close(with_patch, at_cfg_one, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(sample(context(compat), model, pos, neg), with_patch, atol=1e-3)


def test_post_cfg_function_and_attn2_patch(compat, setup):
    model, pos, neg = setup
    zero = model.clone()
    zero.set_model_sampler_post_cfg_function(lambda args: torch.zeros_like(args["denoised"]))
    zeroed = sample(context(compat), zero, pos, neg)
    assert zeroed.abs().max() < 1e-4, zeroed.abs().max()

    calls = []

    def blank_context(n, context_, value, info):
        calls.append(info["block"])
        return n, torch.zeros_like(context_), value if value is None else torch.zeros_like(value)

    patched = model.clone()
    patched.set_model_attn2_patch(blank_context)
    blank = [[torch.zeros_like(pos[0][0]), pos[0][1]]]
    blank_neg = [[torch.zeros_like(neg[0][0]), neg[0][1]]]
    torch.testing.assert_close(sample(context(compat), patched, pos, neg, steps=2),
                               sample(context(compat), model, blank, blank_neg, steps=2), rtol=1e-5, atol=1e-6)
    assert calls and "attn2_patch" not in model.model_options


def test_replace_per_transformer_and_unsupported_calls(compat, setup):
    from nodes.compat.patcher_methods import default_attention

    model, pos, neg = setup
    used = []

    def replacement(q, k, v, info):
        used.append(info["transformer_index"])
        return default_attention(q, k, v, info)

    patched = model.clone()
    patched.set_model_attn1_replace(replacement, "input", 1, transformer_index=0)
    torch.testing.assert_close(sample(context(compat), patched, pos, neg), sample(context(compat), model, pos, neg),
                               rtol=1e-4, atol=1e-5)
    assert used and set(used) == {0}
    with pytest.raises(ValueError, match="set_model_patch: patch 'nope' is not supported"):
        patched.set_model_patch(lambda *a: a, "nope")
    with pytest.raises(AttributeError, match="get_model_object\\('latent_format'\\).*model_sampling"):
        model.get_model_object("latent_format")
    with pytest.raises(ValueError, match="transformer_options"):
        patched.model_options = {"transformer_options": {}}


def test_add_patches_in_comfyui_form(setup):
    model, _, _ = setup
    name = "out.2.bias"
    base = dict(model.model.named_parameters())[name].detach().clone()
    delta = torch.randn_like(base)
    patched = model.clone()
    applied = patched.add_patches({"diffusion_model." + name: (delta,), "diffusion_model.missing": (delta,)},
                                  0.5, strength_model=2.0)
    assert applied == ["diffusion_model." + name]
    torch.testing.assert_close(patched.patched_weights()[name], base * 2.0 + 0.5 * delta)
    assert model.patches == {} and patched.model_dtype() == torch.float32
    assert set(patched.model_state_dict("diffusion_model.out.")) >= {"diffusion_model." + name}
