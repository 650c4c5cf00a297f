"""ModelPatcher: "scale" weight patches, the compute dtype and the torch.compile backend of a handle."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from diffusion.memory.patcher import ModelPatcher, PatchError


class Probe(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 2)
        self.seen: list[torch.dtype] = []

    def forward(self, x):
        self.seen.append(self.linear.weight.dtype)
        return self.linear(x.to(self.linear.weight.dtype))


def _handle() -> ModelPatcher:
    torch.manual_seed(0)
    return ModelPatcher(Probe())


def test_a_scale_patch_multiplies_the_weight_and_keeps_the_base():
    handle = _handle()
    base = handle.model.linear.weight.detach().clone()
    clone = handle.clone()
    assert clone.add_patches({"linear.weight": ("scale", ())}, 3.0) == {"linear.weight"}
    torch.testing.assert_close(clone.patched_weights()["linear.weight"], 3 * base)
    clone.add_patches({"linear.weight": ("diff", (torch.ones_like(base),))}, 0.5)
    clone.add_patches({"linear.weight": ("scale", ())}, 0.0)  # in order: (3w + 0.5) * 0
    assert torch.equal(clone.patched_weights()["linear.weight"], torch.zeros_like(base))
    assert torch.equal(handle.model.linear.weight, base) and handle.patches == {}


def test_a_scale_patch_with_tensors_is_refused():
    with pytest.raises(PatchError, match="a scale patch takes no tensors"):
        _handle().add_patches({"linear.weight": ("scale", (torch.ones(1),))}, 2.0)


def test_the_compute_dtype_casts_the_weights_for_the_call_only():
    handle = _handle()
    x = torch.randn(4, 3)
    plain = handle(x)
    clone = handle.clone()
    clone.compute_dtype = torch.bfloat16
    out = clone(x)
    assert handle.model.seen == [torch.float32, torch.bfloat16] and out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), plain, rtol=2e-2, atol=2e-2)
    assert handle.model.linear.weight.dtype == torch.float32 and handle.compute_dtype is None
    assert clone.clone().compute_dtype == torch.bfloat16 and clone.fingerprint() != handle.fingerprint()


def test_a_compile_backend_runs_the_model_through_torch_compile(monkeypatch):
    compiled_with = []

    def fake_compile(module, backend):
        compiled_with.append(backend)
        return lambda *args, **kwargs: module(*args, **kwargs) * 0 + 7

    monkeypatch.setattr(torch, "compile", fake_compile)
    handle = _handle()
    clone = handle.clone()
    clone.compile_backend = "inductor"
    x = torch.randn(1, 3)
    assert torch.equal(clone(x), torch.full((1, 2), 7.0))
    clone(x)
    assert compiled_with == ["inductor"]  # compiled once per base and backend
    assert not torch.equal(handle(x), torch.full((1, 2), 7.0))


def test_the_eager_backend_really_compiles_and_matches():
    handle = _handle()
    clone = handle.clone()
    clone.compile_backend = "eager"
    x = torch.randn(2, 3)
    torch.testing.assert_close(clone(x), handle(x))
