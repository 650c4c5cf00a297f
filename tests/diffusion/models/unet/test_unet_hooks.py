"""UNetHooks: each patch point does what hooks.py says, checked against direct computations on a tiny UNet."""

from __future__ import annotations

import pytest
import torch

from diffusion.models.unet.hooks import UNetHooks
from diffusion.models.unet.unet import UNetConfig, UNetModel


@pytest.fixture(scope="module")
def unet():
    torch.manual_seed(0)
    return UNetModel(UNetConfig.preset("sd15", "tiny")).eval()


def _inputs(unet, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 4, 8, 8, generator=g)
    context = torch.randn(1, 3, unet.config.context_dim, generator=g)
    return x, torch.tensor([400.0]), context


def _run(unet, hooks=None, seed=0):
    x, t, context = _inputs(unet, seed)
    with torch.no_grad():
        return unet(x, t, context, hooks=hooks)


def test_empty_hooks_and_identity_patches_change_nothing(unet):
    plain = _run(unet)
    assert torch.equal(_run(unet, UNetHooks()), plain)
    identity = UNetHooks(
        input_block_patch=[lambda h, info: h], input_block_patch_after_skip=[lambda h, info: h],
        output_block_patch=[lambda h, skip, info: (h, skip)], attn1_patch=[lambda n, c, v, info: (n, c, v)],
        attn1_output_patch=[lambda out, info: out], middle_patch=[lambda x, info: x],
        attn2_patch=[lambda n, c, v, info: (n, c, v)], attn2_output_patch=[lambda out, info: out],
        control={"input": [None] * 12, "middle": [None], "output": [None] * 12})
    torch.testing.assert_close(_run(unet, identity), plain, rtol=1e-5, atol=1e-6)


def test_a_middle_control_residual_is_added_to_the_middle_block_output(unet):
    x, t, context = _inputs(unet)
    with torch.no_grad():
        middle = []
        handle = unet.middle_block.register_forward_hook(lambda m, i, out: middle.append(out.shape))
        unet(x, t, context)
        handle.remove()
        residual = torch.randn(middle[0])
        handle = unet.middle_block.register_forward_hook(lambda m, i, out: out + residual)
        expected = unet(x, t, context)
        handle.remove()
        control = {"middle": [residual]}
        got = unet(x, t, context, hooks=UNetHooks(control=control))
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    assert len(control["middle"]) == 1  # the caller's lists are not popped


def test_output_control_residuals_are_added_to_the_skips_in_input_block_order(unet):
    x, t, context = _inputs(unet)
    shapes = []
    hooks = [block.register_forward_hook(lambda m, i, out: shapes.append(out.shape)) for block in unet.input_blocks]
    with torch.no_grad():
        unet(x, t, context)
    for h in hooks:
        h.remove()
    residuals = [torch.randn(shape) for shape in shapes]
    seen = []

    def record(h, skip, info):
        seen.append((info["block"], skip.clone()))
        return h, skip

    with torch.no_grad():
        unet(x, t, context, hooks=UNetHooks(output_block_patch=[record]))
        plain_skips = [skip for _, skip in seen]
        seen.clear()
        unet(x, t, context, hooks=UNetHooks(output_block_patch=[record], control={"output": residuals}))
    # output block i joins the skip of input block (n - 1 - i)
    for i, (block, skip) in enumerate(seen):
        assert block == ("output", i)
        torch.testing.assert_close(skip, plain_skips[i] + residuals[len(residuals) - 1 - i])


def test_a_zero_self_attention_output_equals_a_model_without_self_attention(unet):
    import copy

    silent = copy.deepcopy(unet)
    for module in silent.modules():
        if hasattr(module, "attn1"):
            torch.nn.init.zeros_(module.attn1.to_out[0].weight)
            torch.nn.init.zeros_(module.attn1.to_out[0].bias)
    expected = _run(silent)
    got = _run(unet, UNetHooks(attn1_output_patch=[lambda out, info: out * 0]))
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_attn2_value_patch_changes_only_the_values(unet):
    """Cross-attention with the values replaced by zeros outputs to_out's bias alone: same as zeroing to_v."""
    import copy

    no_values = copy.deepcopy(unet)
    for module in no_values.modules():
        if hasattr(module, "attn2"):
            torch.nn.init.zeros_(module.attn2.to_v.weight)
    expected = _run(no_values)
    got = _run(unet, UNetHooks(attn2_patch=[lambda n, c, v, info: (n, c, torch.zeros_like(c))]))
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_patches_see_the_block_and_the_feature_map_shape(unet):
    seen = []

    def attn1(n, c, v, info):
        seen.append((info["block"], tuple(info["original_shape"]), info["n_heads"], n.shape[1]))
        return n, c, v

    _run(unet, UNetHooks(attn1_patch=[attn1], info={"sigmas": torch.tensor([1.0])}))
    assert seen, "no transformer saw the patch"
    for block, (b, _, h, w), heads, tokens in seen:
        assert block[0] in ("input", "middle", "output") and b == 1 and tokens == h * w and heads > 0


def test_a_control_residual_of_the_wrong_shape_is_a_clear_error(unet):
    with pytest.raises(ValueError, match="ControlNet residual of shape .* another model family"):
        _run(unet, UNetHooks(control={"middle": [torch.zeros(1, 3, 2, 2)]}))
