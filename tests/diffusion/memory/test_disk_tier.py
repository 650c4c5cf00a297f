"""The disk tier of the model manager: models evicted from the device that host memory would not hold move to
files on disk (least recently used first, only as many as needed), still run from there, and are dropped when
the caches let go of them. Decisions with real SDXL sizes on simulated hosts; moves with real small modules."""

from __future__ import annotations

import gc
import sys

import pytest
import torch
from torch import nn

from diffusion.memory.file_backed import file_backed_module_bytes, host_memory_bytes
from diffusion.memory.model_manager import ModelManager
from diffusion.memory.patcher import ModelPatcher
from diffusion.memory.planner import GB, Footprint, MemoryPolicy, plan_host
from tests.diffusion.file_pages import resident_kib
from tests.diffusion.memory.test_model_manager import RecordingMover
from tests.diffusion.memory.test_planner import sdxl  # noqa: F401  (fixture: the real SDXL footprints)

MIB = 1 << 20
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="file-backed weights are Linux only")


def _checkpoint(parts: dict, tag: str) -> list[Footprint]:
    return [Footprint(f"{tag}.{name}", parts[name].weight_bytes) for name in ("unet", "clip_g", "clip_l", "vae")]


def test_host_memory_keeps_what_fits_and_sends_the_oldest_to_disk(sdxl):  # noqa: F811
    # an 8 GB GPU computing checkpoint E; A..D evicted to the CPU in that order (6.5 GB each)
    evicted = [*_checkpoint(sdxl, "A"), *_checkpoint(sdxl, "B"), *_checkpoint(sdxl, "C"), *_checkpoint(sdxl, "D")]
    assert plan_host(MemoryPolicy().usable_bytes(64 * GB, gpu=False), evicted) == []  # 64 GB RAM holds all four
    on_16 = plan_host(MemoryPolicy().usable_bytes(16 * GB, gpu=False), evicted)
    # 26 GB held in 15.2: all of A, then B's 4.8 GB UNet go (14.7 GB left), not one part more
    assert on_16 == ["A.unet", "A.clip_g", "A.clip_l", "A.vae", "B.unet"]
    on_8 = plan_host(MemoryPolicy().usable_bytes(8 * GB, gpu=False), evicted)
    # 7.6 GB usable: A and B, then C's UNet and CLIP-G (6.9 GB left); the newest, D, stays whole
    assert on_8 == [f.name for f in evicted[:8]] + ["C.unet", "C.clip_g"]


def test_a_cpu_run_counts_its_computing_models_against_the_same_memory(sdxl):  # noqa: F811
    usable = MemoryPolicy().usable_bytes(16 * GB, gpu=False)
    computing = sum(f.weight_bytes for f in _checkpoint(sdxl, "E"))  # the loaded checkpoint lives in RAM too
    assert plan_host(usable, _checkpoint(sdxl, "A"), computing) == []  # 13 GB of 15.2
    # 19.5 GB: A's UNet goes (14.7 GB left)
    assert plan_host(usable, _checkpoint(sdxl, "A") + _checkpoint(sdxl, "B"), computing) == ["A.unet"]
    assert plan_host(usable, [], 20 * GB) == []  # nothing evicted: nothing to move


def _linear() -> ModelPatcher:
    return ModelPatcher(nn.Linear(512, 1024, bias=False).eval())  # 2 MiB of float32


def _output(patcher: ModelPatcher) -> torch.Tensor:
    torch.manual_seed(3)
    with torch.no_grad():
        return patcher.model(torch.randn(2, 512))




@linux_only
def test_a_cpu_run_evicts_to_disk_and_the_model_still_runs(disk):
    manager = ModelManager("cpu", budget_bytes=3 * MIB, file_dir=disk)
    a, b = _linear(), _linear()
    before = _output(a)
    manager.load_models([a])
    manager.load_models([b])  # A does not fit beside B: out of memory, into files
    assert manager.on_disk() == [a.model] and file_backed_module_bytes(a.model) == 2 * MIB
    assert host_memory_bytes(a.model) == 0 and resident_kib(a.model.weight) == 0
    assert {row["placement"] for row in manager.resident()} == {"device", "disk"}
    manager.load_models([a])  # used again: it runs from its files, and B goes
    assert torch.equal(_output(a), before)
    assert manager.on_disk() == [b.model]
    assert list(disk.iterdir()) == []  # unnamed files


@linux_only
def test_without_a_file_dir_evicted_models_stay_in_memory(disk):
    manager = ModelManager("cpu", budget_bytes=3 * MIB)
    a, b = _linear(), _linear()
    manager.load_models([a])
    manager.load_models([b])
    assert manager.on_disk() == [] and file_backed_module_bytes(a.model) == 0


@linux_only
def test_a_gpu_run_sends_only_the_oldest_offloaded_models_to_disk(disk):
    mover = RecordingMover()
    manager = ModelManager("cuda", budget_bytes=3 * MIB, host_budget_bytes=5 * MIB, mover=mover, file_dir=disk)
    models = [_linear() for _ in range(4)]
    for model in models:
        manager.load_models([model])  # each evicts the one before to the CPU
    assert [key for key, device in mover.moves if device == "cpu"] == [m.base_key() for m in models[:3]]
    assert manager.on_disk() == [models[0].model]  # 6 MiB held in 5: only the oldest goes
    manager.load_models([models[0]])  # back to the device; the one it evicts is held, the next oldest goes
    assert manager.on_disk() == [models[1].model]


@linux_only
def test_a_model_the_caches_let_go_of_is_dropped_files_and_all(disk):
    manager = ModelManager("cpu", budget_bytes=3 * MIB, file_dir=disk)
    a, b = _linear(), _linear()
    manager.load_models([a])
    manager.load_models([b])
    assert len(manager.on_disk()) == 1
    del a
    gc.collect()
    assert manager.on_disk() == []
    manager.load_models([_linear()])  # trimming skips the dead entry
    assert manager.on_disk() == [b.model]


@linux_only
def test_free_on_a_cpu_run_moves_every_model_to_disk_and_they_run_after(disk):
    manager = ModelManager("cpu", budget_bytes=64 * MIB, file_dir=disk)
    a, b = _linear(), _linear()
    expected = _output(a), _output(b)
    manager.load_models([a, b])
    assert manager.on_disk() == []  # both fit: nothing moves
    manager.unload_all()
    assert sorted(map(id, manager.on_disk())) == sorted(map(id, (a.model, b.model)))
    manager.load_models([a, b])
    assert torch.equal(_output(a), expected[0]) and torch.equal(_output(b), expected[1])
    manager.unload_all()  # a second /free drops the pages read back in, without writing the files again
    assert resident_kib(a.model.weight) == 0 and resident_kib(b.model.weight) == 0


def test_the_services_give_the_manager_the_file_dir(tmp_path):
    from nodes.api.model_services import ModelServices
    from nodes.api.runtime import DeviceRequest

    services = ModelServices.create(DeviceRequest(cpu=True, weight_file_dir=str(tmp_path / "weights")))
    expected = (tmp_path / "weights") if sys.platform.startswith("linux") else None
    assert services.manager.file_dir == expected
    assert ModelServices.create(DeviceRequest(cpu=True)).manager.file_dir is None


@linux_only
def test_a_cpu_run_keeps_room_for_the_steps_activations(disk):
    manager = ModelManager("cpu", budget_bytes=5 * MIB, file_dir=disk)
    a, b = _linear(), _linear()
    manager.load_models([a])
    manager.load_models([b])  # 2 + 2 MiB fit in 5: A stays in memory
    assert manager.on_disk() == []
    manager.load_models([_linear()], work_bytes=2 * MIB)  # C and its 2 MiB step leave 1 MiB: A and B go,
    # and neither stays in RAM beside them (counting models only, B would: 2 + 2 + 2 <= 5 + 1)
    assert sorted(map(id, manager.on_disk())) == sorted(map(id, (a.model, b.model)))


@linux_only
def test_evicting_on_a_cpu_drops_the_lora_patched_copies(disk):
    manager = ModelManager("cpu", budget_bytes=3 * MIB, file_dir=disk)
    a = _linear()
    a.add_patches({"weight": ("diff", (torch.ones(1024, 512),))}, 0.5)
    with a.patched():
        pass
    assert a._cache  # the patched weight is kept for the next call
    manager.load_models([a])
    manager.load_models([_linear()])  # A evicted: its patched copy (as big as the weight) goes too
    assert not a._cache and manager.on_disk() == [a.model]
    with torch.no_grad():  # and it comes back when A runs again
        assert torch.equal(a(torch.ones(1, 512)), torch.ones(1, 512) @ (a.model.weight + 0.5).t())


@linux_only
def test_a_streamed_model_lets_go_of_its_files(disk):
    import diffusion.memory.file_backed as file_backed

    manager = ModelManager("cpu", budget_bytes=5 * MIB, file_dir=disk)
    a = ModelPatcher(nn.Sequential(*(nn.Linear(512, 1024, bias=False) for _ in range(2))).eval())  # 4 MiB, 2 blocks
    manager.load_models([a])
    manager.load_models([_linear()])
    assert len(file_backed._HOLDERS.get(a.model, [])) == 2  # A's weights in files
    manager._start_streaming(a)  # A streams now: its blocks come back from the device as new tensors
    for layer in a.model:
        layer.weight.data = layer.weight.data.clone()
    manager.load_models([_linear()])
    assert not file_backed._HOLDERS.get(a.model)  # the unused files are let go of


@linux_only
def test_little_available_ram_sends_the_oldest_to_disk_even_within_the_budget(disk):
    mover = RecordingMover()
    state = {"manager": None, "plenty": False}

    def available() -> int:  # the system is short of RAM until one model has gone to disk
        return 1 << 40 if state["plenty"] or (state["manager"] and state["manager"].on_disk()) else 0

    manager = ModelManager("cuda", budget_bytes=3 * MIB, host_budget_bytes=1 << 40, mover=mover, file_dir=disk,
                           host_free_bytes=available)
    state["manager"] = manager
    models = [_linear() for _ in range(3)]
    for model in models:
        manager.load_models([model])
    assert manager.on_disk() == [models[0].model]  # the budget alone would keep both evicted models in RAM
    state["plenty"] = True
    manager.load_models([models[0]])  # plenty available now: the next eviction stays in RAM
    assert manager.on_disk() == [] and file_backed_module_bytes(models[2].model) == 0
