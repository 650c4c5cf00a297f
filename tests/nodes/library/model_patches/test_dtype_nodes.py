"""ModelComputeDtype and TorchCompileModel: the dtype the UNet computes in, the compile backend, bad input."""

from __future__ import annotations

import pytest
import torch

from diffusion.models.unet.blocks import ResBlock
from diffusion.models.unet.unet import UNetModel
from nodes.library.model_patches.dtype_patches import ModelComputeDtype, TorchCompileModel
from tests.nodes.library.model_patches.patch_fixtures import positive_only, table_sigma, tiny_unet_handle
from tests.nodes.sd_fakes import values


def _output_and_dtypes(handle, conv_dtypes=None):
    """The output, and the dtypes of the activations between input blocks; `conv_dtypes` (a list) gets the
    output dtype of each ResBlock convolution that ran."""
    seen = []
    spy = handle.clone()
    spy.options["input_block_patch"] = [lambda h, info: seen.append(h.dtype) or h]
    hooks = []
    if conv_dtypes is not None:
        for module in handle.model.modules():
            if isinstance(module, ResBlock):
                hooks.append(module.in_layers[2].register_forward_hook(lambda m, i, o: conv_dtypes.append(o.dtype)))
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    context = torch.randn(1, 3, handle.model.config.context_dim, generator=torch.Generator().manual_seed(9))
    try:
        with torch.no_grad():
            return positive_only(spy, x, table_sigma(500), context), set(seen)
    finally:
        for hook in hooks:
            hook.remove()


def test_the_unet_computes_in_the_chosen_dtype(make_ctx):
    handle = tiny_unet_handle()
    plain, plain_dtypes = _output_and_dtypes(handle)
    (bf16,) = values(ModelComputeDtype, make_ctx(), model=handle, dtype="bf16")
    conv_dtypes: list = []
    out, dtypes = _output_and_dtypes(bf16, conv_dtypes)
    # the convolutions compute in bf16; between blocks the activations are carried as the UNet carries them
    # for bf16 weights (fp32 on a CPU: UNetModel.activation_dtype)
    assert plain_dtypes == {torch.float32} and set(conv_dtypes) == {torch.bfloat16}
    assert dtypes == {UNetModel.activation_dtype(torch.empty(0, dtype=torch.bfloat16))}
    assert out.dtype == torch.float32  # the sampler's dtype
    torch.testing.assert_close(out, plain, rtol=0.1, atol=0.1)
    assert not torch.equal(out, plain)
    (default,) = values(ModelComputeDtype, make_ctx(), model=bf16, dtype="default")
    assert default.compute_dtype is None and torch.equal(_output_and_dtypes(default)[0], plain)
    assert handle.compute_dtype is None and handle.model.input_blocks[0][0].weight.dtype == torch.float32


def test_fp32_on_an_fp32_model_changes_nothing(make_ctx):
    handle = tiny_unet_handle()
    (fp32,) = values(ModelComputeDtype, make_ctx(), model=handle, dtype="fp32")
    assert fp32.compute_dtype == torch.float32
    assert torch.equal(_output_and_dtypes(fp32)[0], _output_and_dtypes(handle)[0])


def test_torch_compile_model_sets_the_backend_on_a_clone(make_ctx, monkeypatch):
    handle = tiny_unet_handle()
    (compiled,) = values(TorchCompileModel, make_ctx(), model=handle, backend="inductor")
    assert compiled.compile_backend == "inductor" and handle.compile_backend is None
    backends = []

    def fake_compile(module, backend):  # checks the wrapping without compiling
        backends.append(backend)
        return module

    monkeypatch.setattr(torch, "compile", fake_compile)
    torch.testing.assert_close(_output_and_dtypes(compiled)[0], _output_and_dtypes(handle)[0])
    assert backends == ["inductor"]


def test_unavailable_backends_and_bad_inputs_give_clear_errors(make_ctx):
    with pytest.raises(RuntimeError, match="TorchCompileModel: backend 'cudagraphs' needs a CUDA device"):
        values(TorchCompileModel, make_ctx(), model=tiny_unet_handle(), backend="cudagraphs")
    with pytest.raises(ValueError, match="TorchCompileModel: input 'backend' must be one of inductor, cudagraphs"):
        values(TorchCompileModel, make_ctx(), model=tiny_unet_handle(), backend="tvm")
    with pytest.raises(ValueError, match="ModelComputeDtype: input 'dtype' must be one of default, fp32"):
        values(ModelComputeDtype, make_ctx(), model=tiny_unet_handle(), dtype="fp8")
    with pytest.raises(TypeError, match="ModelComputeDtype: input 'model' must be a MODEL"):
        values(ModelComputeDtype, make_ctx(), model=object(), dtype="fp16")
