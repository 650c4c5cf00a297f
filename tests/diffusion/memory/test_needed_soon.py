"""Queue-aware eviction: the models the next queued prompts need go last. Planner decisions with the real
SD1.5 and SDXL sizes on simulated 24/8/4 GB GPUs and a 16 GB host; the manager with small real modules."""

from __future__ import annotations

import sys

import pytest
import torch
from torch import nn

from diffusion.memory.file_backed import file_backed_module_bytes
from diffusion.memory.model_manager import ModelManager
from diffusion.memory.patcher import ModelPatcher
from diffusion.memory.planner import GB, Footprint, MemoryPolicy, plan_host, plan_load, unet_step_bytes
from diffusion.models.text.clip_text import TextEncoderConfig, build_text_encoder
from diffusion.models.unet.unet import UNetConfig, UNetModel
from tests.diffusion.memory.test_model_manager import RecordingMover
from tests.diffusion.memory.test_planner import _fp16, _sdxl_step, sdxl  # noqa: F401  (sdxl: a fixture)

KB, MIB = 1024, 1 << 20


@pytest.fixture(scope="module")
def sd15():
    with torch.device("meta"):
        unet = _fp16(UNetModel(UNetConfig.preset("sd15", "full")), "unet")
        clip_l = _fp16(build_text_encoder(TextEncoderConfig.preset("clip_l", "full")), "clip_l")
    return {"unet": unet, "clip_l": clip_l}


def _tagged(parts: dict, tag: str, names: tuple[str, ...]) -> list[Footprint]:
    return [Footprint(f"{tag}.{n}", parts[n].weight_bytes, parts[n].block_bytes) for n in names]


def _sd15_step(batch: int, latent: int) -> int:  # cond + uncond per image, fp16
    return unet_step_bytes(2 * batch, latent, latent, model_channels=320, channel_mult=(1, 2, 4, 4),
                           num_res_blocks=2, dtype_bytes=2, attention_levels=(True, True, True, False))


def test_8_gb_keeps_the_checkpoint_the_next_prompt_uses(sd15):
    # SD1.5 UNets A (least recently used) and B resident; C samples 4 pictures at 1024x1024: one must go
    policy = MemoryPolicy()
    usable = policy.usable_bytes(8 * GB)
    a, b, c = (_tagged(sd15, tag, ("unet",))[0] for tag in "ABC")
    work = _sd15_step(4, 128)
    assert a.weight_bytes + b.weight_bytes > usable - c.weight_bytes - work  # the premise: both do not fit
    assert a.weight_bytes < usable - c.weight_bytes - work  # one does
    lru = plan_load(policy, usable, [a, b], [c], work)
    assert lru.evict == ["A.unet"] and lru.keep == ["B.unet"]
    aware = plan_load(policy, usable, [a, b], [c], work, needed_soon={"A.unet"})
    assert aware.evict == ["B.unet"] and aware.keep == ["A.unet"] and aware.load == ["C.unet"] and aware.fits


def test_24_gb_evicts_the_sdxl_checkpoint_nobody_queued(sdxl):  # noqa: F811
    policy = MemoryPolicy()
    usable = policy.usable_bytes(24 * GB)
    parts = ("unet", "clip_g", "clip_l")
    resident = [*_tagged(sdxl, "A", parts), *_tagged(sdxl, "B", parts), *_tagged(sdxl, "D", parts)]
    wanted = _tagged(sdxl, "C", ("unet",))
    assert plan_load(policy, usable, resident, wanted, _sdxl_step()).evict == ["A.unet"]  # 4.8 GB is enough
    queued = {f"A.{p}" for p in parts} | {"D.unet"}
    assert plan_load(policy, usable, resident, wanted, _sdxl_step(), needed_soon=queued).evict == ["B.unet"]


def test_4_gb_evicts_the_needed_soon_models_only_after_the_others_and_only_as_many(sd15):
    policy = MemoryPolicy()
    usable = policy.usable_bytes(4 * GB)
    resident = [*_tagged(sd15, "A", ("clip_l", "unet")), *_tagged(sd15, "B", ("clip_l",))]
    wanted = _tagged(sd15, "C", ("unet",))
    work = _sd15_step(1, 64)
    assert plan_load(policy, usable, resident, wanted, work).evict == ["A.clip_l", "A.unet"]
    aware = plan_load(policy, usable, resident, wanted, work, needed_soon={"A.clip_l", "A.unet"})
    assert aware.evict == ["B.clip_l", "A.clip_l"] and aware.keep == ["A.unet"]  # A's UNet still fits


def test_needed_soon_never_evicts_a_wanted_model_and_lowvram_keeps_only_the_call(sd15):
    a, b = _tagged(sd15, "A", ("unet",))[0], _tagged(sd15, "B", ("unet",))[0]
    normal = plan_load(MemoryPolicy(), 2 * GB, [a, b], [b], needed_soon={"A.unet"})
    assert normal.evict == ["A.unet"] and normal.keep == ["B.unet"]  # B computes now: A must go anyway
    low = plan_load(MemoryPolicy("low"), 24 * GB, [a], [b], needed_soon={"A.unet"})
    assert low.evict == ["A.unet"]  # --lowvram keeps nothing resident this call does not use


def test_host_memory_sends_the_unqueued_checkpoints_to_disk_first(sdxl):  # noqa: F811
    parts = ("unet", "clip_g", "clip_l", "vae")
    evicted = [f for tag in "ABCD" for f in _tagged(sdxl, tag, parts)]
    usable = MemoryPolicy().usable_bytes(16 * GB, gpu=False)
    assert plan_host(usable, evicted) == ["A.unet", "A.clip_g", "A.clip_l", "A.vae", "B.unet"]
    queued = {f"A.{p}" for p in parts}
    # 26 GB held in 15.2: B (6.5 GB) then C's UNet go, and A, the next prompt's, stays in memory
    assert plan_host(usable, evicted, needed_soon=queued) == ["B.unet", "B.clip_g", "B.clip_l", "B.vae", "C.unet"]


def _model(kilobytes: int, source: str | None = None) -> ModelPatcher:
    patcher = ModelPatcher(nn.Linear(kilobytes * 256, 1, bias=False))  # 256 float32 = 1 KiB
    patcher.source = source
    return patcher


def test_the_source_belongs_to_the_base_and_every_clone_reports_it():
    a = _model(1, "/models/checkpoints/a.safetensors")
    clone = a.clone()
    assert clone.source == "/models/checkpoints/a.safetensors"
    clone.source = "/elsewhere.safetensors"
    assert a.source == "/elsewhere.safetensors" and _model(1).source is None


def test_set_needed_soon_changes_which_model_the_manager_evicts():
    mover = RecordingMover()
    manager = ModelManager("cuda", budget_bytes=25 * KB, mover=mover)
    a, b, c = _model(10, "/m/a.ckpt"), _model(10, "/m/b.ckpt"), _model(10, "/m/c.ckpt")
    manager.load_models([a])
    manager.load_models([b])
    manager.set_needed_soon(["/m/a.ckpt", "/m/elsewhere.ckpt"])
    assert manager.needed_soon() == [a]
    manager.load_models([c.clone()])  # A is the least recently used, but the next prompt loads it
    assert [m.base_key() for m in manager.loaded()] == [a.base_key(), c.base_key()]
    assert mover.where[b.base_key()] == "cpu"
    manager.set_needed_soon([])  # nothing queued: plain least recently used again
    manager.load_models([b])
    assert [m.base_key() for m in manager.loaded()] == [c.base_key(), b.base_key()]
    assert mover.where[a.base_key()] == "cpu"


def test_free_memory_also_evicts_the_needed_soon_models_last():
    manager = ModelManager("cuda", budget_bytes=25 * KB, mover=RecordingMover())
    a, b = _model(10, "/m/a.ckpt"), _model(10, "/m/b.ckpt")
    manager.load_models([a])
    manager.load_models([b])
    manager.set_needed_soon(["/m/a.ckpt"])
    manager.free_memory(10 * KB)
    assert manager.loaded() == [a]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="file-backed weights are Linux only")
def test_a_cpu_run_sends_the_unqueued_model_to_disk_first(disk):
    def linear(source):
        patcher = ModelPatcher(nn.Linear(512, 1024, bias=False).eval())  # 2 MiB of float32
        patcher.source = source
        return patcher

    manager = ModelManager("cpu", budget_bytes=3 * MIB, host_budget_bytes=5 * MIB, file_dir=disk)
    a, b, c = linear("/m/a.ckpt"), linear("/m/b.ckpt"), linear("/m/c.ckpt")
    manager.set_needed_soon(["/m/a.ckpt"])
    for model in (a, b, c):
        manager.load_models([model])  # each evicts the one before; 6 MiB held in 5: one goes to disk
    assert manager.on_disk() == [b.model] and file_backed_module_bytes(a.model) == 0
