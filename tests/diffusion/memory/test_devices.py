"""Device and precision choice."""

from __future__ import annotations

import pytest
import torch

from diffusion.memory import devices


def test_cpu_flag_forces_cpu_and_fp32(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    choice = devices.choose_devices(cpu=True)
    assert choice.device == torch.device("cpu")
    assert choice.unet_dtype == choice.text_encoder_dtype == choice.vae_dtype == torch.float32
    assert "cpu: unet fp32" in choice.describe()


def test_cpu_bf16_by_option_but_never_fp16():
    choice = devices.choose_devices(cpu=True, precision="bf16")
    assert choice.unet_dtype == torch.bfloat16 and choice.text_encoder_dtype == torch.bfloat16
    assert choice.vae_dtype == torch.float32
    with pytest.raises(ValueError, match="fp16 is not supported on the CPU"):
        devices.choose_devices(cpu=True, precision="fp16")
    with pytest.raises(ValueError, match="unknown precision 'fp8'"):
        devices.choose_devices(cpu=True, precision="fp8")


def test_cuda_preferred_with_bf16_or_fp16(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert devices.choose_device() == torch.device("cuda", 0)
    choice = devices.choose_devices()
    assert choice.unet_dtype == torch.bfloat16 and choice.vae_dtype == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    choice = devices.choose_devices()
    assert choice.unet_dtype == torch.float16 and choice.vae_dtype == torch.float32
    assert devices.choose_devices(precision="fp32").unet_dtype == torch.float32
    with pytest.raises(ValueError, match="bf16 is not supported"):
        devices.choose_dtype(torch.device("cuda", 0), "bf16")


def test_mps_when_no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(devices, "mps_available", lambda: True)
    assert devices.choose_device() == torch.device("mps")
    assert devices.choose_dtype(torch.device("mps")) == torch.float16


def test_cpu_when_nothing_else(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(devices, "mps_available", lambda: False)
    assert devices.choose_device() == torch.device("cpu")


def test_memory_queries_on_cpu():
    cpu = torch.device("cpu")
    assert devices.total_memory(cpu) >= devices.free_memory(cpu) > 0
    devices.empty_cache(cpu)  # a no-op that must not fail


def test_emptying_the_cpu_cache_gives_the_c_heap_back(monkeypatch):
    calls = []
    found = {"malloc_trim": lambda pad: calls.append(pad) or 1}
    monkeypatch.setattr(devices, "libc_function", lambda name, *signature: found.get(name))
    devices.empty_cache(torch.device("cpu"))
    assert calls == [0]
    found.clear()  # no glibc (musl): nothing to call, no error
    devices.empty_cache(torch.device("cpu"))
    assert calls == [0]


def test_free_and_eviction_on_a_cpu_trim_the_heap(monkeypatch):
    import diffusion.memory.model_manager as model_manager
    from diffusion.memory.model_manager import ModelManager
    from diffusion.memory.patcher import ModelPatcher

    emptied = []
    monkeypatch.setattr(model_manager, "empty_cache", lambda device: emptied.append(str(device)))
    manager = ModelManager("cpu", budget_bytes=6 * 1024)
    a, b = (ModelPatcher(torch.nn.Linear(1024, 1, bias=False)) for _ in range(2))  # 4 KiB each
    manager.load_models([a])
    manager.load_models([b])  # evicts A
    assert emptied == ["cpu"]
    manager.unload_all()
    assert emptied[1:] == ["cpu", "cpu"]  # B's eviction, then once for the whole /free
