"""Loaded models know the file they came from, and the runtime hands the queued prompts' files to the manager."""

# The fixtures imported from sd_fixtures are used as test arguments (pytest's by-name injection).
# ruff: noqa: F811

from __future__ import annotations

from pathlib import Path

from torch.nn import Linear

from nodes.api.runtime import DeviceRequest, NodeRuntime
from nodes.library.loaders.model_loaders import CheckpointLoaderSimple, LoraLoader
from tests.nodes.sd_fixtures import call, context, sd_runtime, tiny_files  # noqa: F401


def test_a_checkpoint_load_marks_its_models_and_every_clone_with_the_file(sd_runtime):
    ctx = context(sd_runtime)
    model, clip, _ = call(CheckpointLoaderSimple, ctx, ckpt_name="sd15.safetensors")
    path = str((sd_runtime.folders.models_dir / "checkpoints" / "sd15.safetensors").resolve())
    assert model.source == path
    assert clip.patchers() and all(patcher.source == path for patcher in clip.patchers())
    patched, patched_clip = call(LoraLoader, ctx, model=model, clip=clip, lora_name="sd15_lora.safetensors",
                                 strength_model=0.5, strength_clip=0.5)
    assert patched is not model and patched.source == path  # the LoRA's clone is still that checkpoint
    assert all(patcher.source == path for patcher in patched_clip.patchers())


def test_the_runtime_tells_the_manager_which_loaded_models_the_queue_needs(sd_runtime):
    ctx = context(sd_runtime)
    sd15_model = call(CheckpointLoaderSimple, ctx, ckpt_name="sd15.safetensors")[0]
    sdxl_model = call(CheckpointLoaderSimple, ctx, ckpt_name="sdxl.safetensors")[0]
    manager = sd_runtime.models.manager
    manager.load_models([sd15_model])
    manager.load_models([sdxl_model])
    sd_runtime.models_needed_soon([sdxl_model.source, str(Path("/no/such/file.safetensors"))])
    assert [p.base_key() for p in manager.needed_soon()] == [sdxl_model.base_key()]
    sd_runtime.models_needed_soon([])
    assert manager.needed_soon() == []


def test_files_named_before_any_model_node_ran_reach_the_manager_when_it_is_built(tmp_path):
    runtime = NodeRuntime.for_directory(tmp_path, devices=DeviceRequest(cpu=True, precision="fp32"))
    runtime.models_needed_soon(["/models/checkpoints/a.safetensors"])
    assert not runtime.models_loaded  # no torch set up for a hint
    from diffusion.memory.patcher import ModelPatcher

    queued = ModelPatcher(Linear(4, 4))
    queued.source = "/models/checkpoints/a.safetensors"
    runtime.models.manager.load_models([queued, ModelPatcher(Linear(4, 4))])
    assert runtime.models.manager.needed_soon() == [queued]
