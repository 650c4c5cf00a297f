"""Model manager: budget, least-recently-used eviction, moves only when needed, unload_all."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from diffusion.memory.model_manager import ModelManager
from diffusion.memory.patcher import ModelPatcher

KB = 1024


def _model(kilobytes):
    return ModelPatcher(nn.Linear(kilobytes * 256, 1, bias=False))  # 256 float32 = 1 KiB


class RecordingMover:
    """Stands in for `.to(device)`: records every move and where each model is."""

    def __init__(self):
        self.moves = []
        self.where = {}

    def __call__(self, patcher, device):
        self.moves.append((patcher.base_key(), str(device)))
        self.where[patcher.base_key()] = str(device)


def _manager(budget_kb):
    mover = RecordingMover()
    return ModelManager("cuda", budget_bytes=budget_kb * KB, mover=mover), mover


def test_loads_only_when_needed():
    manager, mover = _manager(100)
    a = _model(10)
    manager.load_models([a])
    manager.load_models([a, a.clone()])  # a clone is the same base: no new move
    assert mover.moves == [(a.base_key(), "cuda")]
    assert manager.memory_in_use() == 10 * KB and manager.is_loaded(a.clone())


def test_least_recently_used_is_evicted_first():
    manager, mover = _manager(25)
    a, b, c = _model(10), _model(10), _model(10)
    manager.load_models([a])
    manager.load_models([b])
    manager.load_models([a])  # a is now the most recently used
    manager.load_models([c])
    assert mover.where[b.base_key()] == "cpu" and mover.where[a.base_key()] == "cuda"
    assert manager.loaded() == [a, c]
    assert manager.memory_in_use() == 20 * KB


def test_models_of_one_call_are_not_evicted_for_each_other():
    manager, mover = _manager(15)
    a, b = _model(10), _model(10)
    manager.load_models([a, b])  # over budget together: both load, with a warning
    assert manager.loaded() == [a, b]
    assert all(where == "cuda" for where in mover.where.values())


def test_oversized_model_loads_alone():
    manager, mover = _manager(15)
    small, big = _model(5), _model(40)
    manager.load_models([small])
    manager.load_models([big])
    assert manager.loaded() == [big] and mover.where[small.base_key()] == "cpu"


def test_unload_all_and_free_memory():
    manager, mover = _manager(100)
    a, b = _model(10), _model(20)
    manager.load_models([a, b])
    manager.free_memory(75 * KB, keep=[b])
    assert manager.loaded() == [b]
    manager.unload(b)
    assert manager.loaded() == [] and mover.where == {a.base_key(): "cpu", b.base_key(): "cpu"}
    manager.load_models([a])
    manager.unload_all()
    assert manager.memory_in_use() == 0 and mover.where[a.base_key()] == "cpu"


def test_cpu_only_run_never_moves_real_modules():
    manager = ModelManager("cpu", budget_bytes=1 * KB)
    a = _model(4)
    weight = a.model.weight
    manager.load_models([a])
    assert manager.loaded() == [a] and a.model.weight is weight
    assert a.current_device() == torch.device("cpu")


def test_default_mover_really_moves_the_base_module():
    # the compute device is the CPU and models rest on "meta": eviction must really move them
    manager = ModelManager("cpu", offload_device="meta", budget_bytes=100 * KB)
    a = ModelPatcher(nn.Linear(256, 1, bias=False), offload_device="meta")
    before = a.model.weight.detach().clone()
    manager.load_models([a])
    assert torch.equal(a.model.weight, before)
    manager.unload_all()
    assert a.current_device() == torch.device("meta") and a.clone().current_device() == torch.device("meta")


def test_budget_must_be_positive():
    with pytest.raises(ValueError, match="budget must be positive"):
        ModelManager("cpu", budget_bytes=0)
    assert ModelManager("cpu").budget_bytes > 0


def test_a_model_that_cannot_run_inside_the_streamer_is_loaded_whole_even_under_novram():
    from diffusion.memory.planner import MemoryPolicy

    mover = RecordingMover()
    manager = ModelManager("cuda", budget_bytes=64 * KB, policy=MemoryPolicy("none"), mover=mover,
                           block_mover=lambda block, device: None)
    blocks = nn.Sequential(nn.Linear(16 * 256, 1, bias=False), nn.Linear(16 * 256, 1, bias=False))  # 2 x 16 KiB
    upscaler, controlnet = ModelPatcher(blocks), ModelPatcher(nn.Sequential(*(nn.Linear(4096, 1) for _ in range(2))))
    upscaler.streamable = False  # its code reads the device from its weights (an upscale model, CLIP vision)
    assert upscaler.clone().streamable is False  # a property of the base, as every clone shares it
    manager.load_models([upscaler, controlnet])
    assert manager.is_loaded(upscaler) and (upscaler.base_key(), "cuda") in mover.moves
    assert manager.streamed() == [controlnet]  # --novram streams what can be streamed
