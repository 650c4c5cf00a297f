"""The bf16 CPU UNet carries fp32 activations: matrix products in bf16, block outputs and residual sums in fp32."""

from __future__ import annotations

import copy

import pytest
import torch

from diffusion.memory.patcher import ModelPatcher
from diffusion.models.unet.blocks import CastingLinear, InputDtypeLayerNorm, TimestepEmbedSequential, WideInputConv2d
from diffusion.models.unet.hooks import UNetHooks
from diffusion.models.unet.prepacked import PackedConv2d, enable_weight_packing
from diffusion.models.unet.unet import UNetConfig, UNetModel


def _models(family: str = "sd15"):
    torch.manual_seed(0)
    fp32 = UNetModel(UNetConfig.preset(family, "tiny")).eval()
    bf16 = copy.deepcopy(fp32).to(torch.bfloat16).to(memory_format=torch.channels_last)  # as prepare_unet does
    enable_weight_packing(bf16)
    return fp32, bf16


def _inputs(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(1, 4, 8, 8, generator=g), torch.tensor([600.0]),
            torch.randn(1, 5, model.config.context_dim, generator=g))


def _output_dtypes(model, kinds, y=None) -> tuple[dict[type, set], torch.Tensor]:
    """({layer type: dtypes of its outputs}, the model output) over one forward."""
    seen: dict[type, set] = {kind: set() for kind in kinds}
    handles = [m.register_forward_hook(lambda m, i, o, k=kind: seen[k].add(o.dtype))
               for m in model.modules() for kind in kinds if type(m) is kind]
    with torch.no_grad():
        out = model(*_inputs(model), y=y)
    for handle in handles:
        handle.remove()
    return seen, out


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
def test_bf16_cpu_unet_runs_products_in_bf16_and_carries_fp32_between_them(family):
    _, bf16 = _models(family)
    y = torch.randn(1, bf16.config.adm_in_channels) if bf16.config.adm_in_channels else None
    kinds = (TimestepEmbedSequential, PackedConv2d, CastingLinear, InputDtypeLayerNorm, WideInputConv2d)
    seen, out = _output_dtypes(bf16, kinds, y)
    assert UNetModel.activation_dtype(bf16.input_blocks[0][0].weight) == torch.float32
    assert seen[PackedConv2d] == {torch.bfloat16} and seen[CastingLinear] == {torch.bfloat16}
    assert seen[TimestepEmbedSequential] == {torch.float32} and seen[InputDtypeLayerNorm] == {torch.float32}
    assert seen[WideInputConv2d] == {torch.float32}  # the out head's conv computes in fp32
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    assert all(p.dtype == torch.bfloat16 for p in bf16.parameters())  # the weights (the memory) stay bf16


def test_fp32_unet_stays_fp32_throughout():
    fp32, _ = _models()
    seen, _ = _output_dtypes(fp32, (TimestepEmbedSequential, PackedConv2d, CastingLinear, WideInputConv2d))
    assert all(dtypes == {torch.float32} for dtypes in seen.values())


def test_bf16_unet_output_is_close_to_the_fp32_one():
    fp32, bf16 = _models()
    with torch.no_grad():
        reference, got = fp32(*_inputs(fp32)), bf16(*_inputs(bf16))
    error = (got - reference).pow(2).mean() / reference.pow(2).mean()
    assert error < 1e-3, f"relative squared error {float(error):.2e}"


def test_bf16_hooks_path_gives_the_plain_paths_numbers():
    _, bf16 = _models()
    shapes = []
    handle = bf16.middle_block.register_forward_hook(lambda m, i, o: shapes.append(o.shape))
    with torch.no_grad():
        plain = bf16(*_inputs(bf16))
    handle.remove()
    identity = UNetHooks(
        input_block_patch=[lambda h, info: h], output_block_patch=[lambda h, skip, info: (h, skip)],
        attn1_patch=[lambda n, c, v, info: (n, c, v)], attn2_output_patch=[lambda out, info: out],
        control={"middle": [torch.zeros(shapes[0], dtype=torch.bfloat16)]})
    with torch.no_grad():
        hooked = bf16(*_inputs(bf16), hooks=identity)
    torch.testing.assert_close(hooked, plain, rtol=0, atol=0)


def test_weight_patches_and_compute_dtype_on_a_bf16_unet():
    _, bf16 = _models()
    patcher = ModelPatcher(bf16)
    plain = patcher(*_inputs(bf16))
    name = "input_blocks.1.1.transformer_blocks.0.attn2.to_q.weight"
    weight = dict(bf16.named_parameters())[name]
    patcher.add_patches({name: ("diff", (torch.randn(weight.shape) * 0.5,))})
    patched = patcher(*_inputs(bf16))
    assert dict(bf16.named_parameters())[name].dtype == torch.bfloat16  # the base is untouched
    assert not torch.equal(patched, plain) and torch.isfinite(patched).all()
    as_fp32 = patcher.clone()
    as_fp32.compute_dtype = torch.float32  # ModelComputeDtype fp32: weights cast per call, fp32 throughout
    assert as_fp32(*_inputs(bf16)).dtype == torch.float32
    assert torch.equal(ModelPatcher(bf16)(*_inputs(bf16)), plain)  # unpatched again: the original numbers
