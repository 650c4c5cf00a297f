"""On a GPU run a model leaving the device that host memory would not hold goes from the device straight into
files, tensor by tensor, instead of to the CPU whole first. The manager's decisions run on a simulated GPU
("cuda" with a recording mover: the models really stay on the CPU, which the move routine treats as any
device); the move routine itself, and its failure paths, run on real small modules."""

from __future__ import annotations

import sys

import pytest
import torch
from torch import nn

import diffusion.memory.file_backed as file_backed
from diffusion.memory.file_backed import file_backed_module_bytes, host_memory_bytes, offload_module_to_files
from diffusion.memory.model_manager import ModelManager
from diffusion.memory.patcher import ModelPatcher
from tests.diffusion.memory.test_model_manager import RecordingMover

MIB = 1 << 20
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="file-backed weights are Linux only")


def _linear(source: str | None = None) -> ModelPatcher:
    patcher = ModelPatcher(nn.Linear(512, 1024, bias=False).eval())  # 2 MiB of float32
    patcher.source = source
    return patcher


def _output(module: nn.Module) -> torch.Tensor:
    torch.manual_seed(3)
    with torch.no_grad():
        return module(torch.randn(2, 512))


def _gpu_manager(disk, host_mib: int, **extra) -> tuple[ModelManager, RecordingMover]:
    mover = RecordingMover()
    return ModelManager("cuda", budget_bytes=3 * MIB, host_budget_bytes=host_mib * MIB, mover=mover,
                        file_dir=disk, **extra), mover


def _to_cpu(mover: RecordingMover) -> list[int]:
    return [key for key, device in mover.moves if device == "cpu"]


def test_a_model_host_memory_would_not_hold_goes_straight_to_files(disk):
    manager, mover = _gpu_manager(disk, host_mib=1)
    a, b = _linear(), _linear()
    expected = _output(a.model)
    manager.load_models([a])
    manager.load_models([b])  # A leaves the device; 2 MiB would not fit in 1
    assert _to_cpu(mover) == []  # never moved whole to the CPU
    assert manager.on_disk() == [a.model] and file_backed_module_bytes(a.model) == 2 * MIB
    assert host_memory_bytes(a.model) == 0
    assert torch.equal(_output(a.model), expected)  # it runs from its files


def test_older_held_models_go_to_disk_first_when_that_leaves_room(disk):
    manager, mover = _gpu_manager(disk, host_mib=3)
    a, b, c = _linear(), _linear(), _linear()
    for model in (a, b, c):
        manager.load_models([model])  # B leaves the device: A (held) and B need 4 MiB of 3
    assert manager.on_disk() == [a.model]  # A went to disk before B arrived in RAM
    assert _to_cpu(mover) == [a.base_key(), b.base_key()] and host_memory_bytes(b.model) == 2 * MIB


def test_a_model_not_needed_soon_goes_to_disk_before_an_older_one_that_is(disk):
    manager, mover = _gpu_manager(disk, host_mib=3)
    a, b, c = _linear("a.safetensors"), _linear("b.safetensors"), _linear()
    manager.set_needed_soon(["a.safetensors"])
    for model in (a, b, c):
        manager.load_models([model])
    assert manager.on_disk() == [b.model]  # the next prompt's A stays in RAM; B goes straight to files
    assert _to_cpu(mover) == [a.base_key()] and host_memory_bytes(a.model) == 2 * MIB


def test_the_live_ram_reserve_decides_too(disk):
    manager, mover = _gpu_manager(disk, host_mib=1 << 20, host_free_bytes=lambda: 2 * MIB)
    manager.host_reserve_bytes = 1 * MIB  # 2 MiB available: one 2 MiB model would leave less than the reserve
    a, b = _linear(), _linear()
    manager.load_models([a])
    manager.load_models([b])
    assert _to_cpu(mover) == [] and manager.on_disk() == [a.model]


def test_room_in_host_memory_keeps_the_ordinary_move(disk):
    manager, mover = _gpu_manager(disk, host_mib=64)
    a, b = _linear(), _linear()
    manager.load_models([a])
    manager.load_models([b])
    assert _to_cpu(mover) == [a.base_key()] and manager.on_disk() == []


def test_files_refused_by_the_disk_reserve_send_the_model_to_the_cpu_tensor_by_tensor(disk, monkeypatch):
    monkeypatch.setattr(file_backed, "_leaves_room", lambda directory, nbytes: False)
    manager, mover = _gpu_manager(disk, host_mib=1)
    a, b = _linear(), _linear()
    expected = _output(a.model)
    manager.load_models([a])
    manager.load_models([b])
    # off the device all the same (each tensor on its own to the CPU), whole, and in RAM: nothing in files
    assert manager.on_disk() == [] and host_memory_bytes(a.model) == 2 * MIB
    assert a.model.weight.device.type == "cpu" and torch.equal(_output(a.model), expected)


def test_a_failing_copy_puts_everything_back_and_the_model_moves_whole(disk, monkeypatch):
    model = nn.Sequential(nn.Linear(512, 1024, bias=False), nn.Linear(1024, 512, bias=False)).eval()
    patcher = ModelPatcher(model)
    before = [layer.weight.data_ptr() for layer in model]
    expected = _output(model[0])
    real_copy, calls = file_backed._file_copy, []

    def fail_on_the_second(tensor, directory):
        calls.append(tensor)
        if len(calls) == 2:
            raise RuntimeError("out of memory")
        return real_copy(tensor, directory)

    monkeypatch.setattr(file_backed, "_file_copy", fail_on_the_second)
    with pytest.raises(RuntimeError, match="out of memory"):
        offload_module_to_files(model, disk)
    assert [layer.weight.data_ptr() for layer in model] == before  # the first tensor is back where it was
    assert file_backed_module_bytes(model) == 0

    calls.clear()
    manager, mover = _gpu_manager(disk, host_mib=1)
    manager.budget_bytes = 5 * MIB
    manager.load_models([patcher])
    manager.load_models([_linear(), _linear()])  # the 4 MiB model leaves the device; its files fail
    assert _to_cpu(mover) == [patcher.base_key()]  # so it moves whole, as without a disk tier
    assert torch.equal(_output(model[0]), expected)  # (then, held on the simulated CPU, trimmed to files)


def test_the_move_routine_goes_one_tensor_at_a_time_and_keeps_small_ones_in_memory(disk, monkeypatch):
    model = nn.Sequential(nn.Linear(512, 1024), nn.Linear(1024, 512)).eval()  # 2 MiB weights, small biases
    expected = _output(model)
    real_copy, in_files_before = file_backed._file_copy, []

    def recording(tensor, directory):
        in_files_before.append(file_backed_module_bytes(model))
        return real_copy(tensor, directory)

    monkeypatch.setattr(file_backed, "_file_copy", recording)
    assert offload_module_to_files(model, disk) == 4 * MIB
    # each weight is in its file before the next one is copied
    assert in_files_before == [0, 2 * MIB, 2 * MIB, 4 * MIB]  # before: weight, bias, weight, bias
    assert host_memory_bytes(model) == (1024 + 512) * 4  # the biases: too small for a file of their own
    assert torch.equal(_output(model), expected)
    assert offload_module_to_files(model, disk) == 4 * MIB  # again: already in files, nothing copied
    assert len(in_files_before) == 6
    assert list(disk.iterdir()) == []
