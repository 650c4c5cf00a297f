"""Loader nodes on tiny checkpoints: outputs, file lists, fingerprints, caching, LoRA immutability, bad files."""

# The fixtures imported from sd_fixtures are used as test arguments (pytest's by-name injection).
# ruff: noqa: F811

from __future__ import annotations

import os

import pytest
import torch
from safetensors.torch import load_file, save_file

from diffusion.checkpoints.checkpoint import CheckpointError
from diffusion.models.lora.lora import LoraMismatchError
from nodes.api.declare import DeclaredNodeType
from nodes.api.model_services import resolve_device_choice
from nodes.api.runtime import DeviceRequest
from nodes.library.loaders.model_loaders import (
    CLIP_TYPES,
    CheckpointLoaderSimple,
    CLIPLoader,
    LoraLoader,
    LoraLoaderModelOnly,
    UNETLoader,
    VAELoader,
)
from tests.nodes.sd_fixtures import call, context, copy_checkpoint, sd_runtime, tiny_files  # noqa: F401


def load(runtime, name="sd15.safetensors"):
    return call(CheckpointLoaderSimple, context(runtime), ckpt_name=name)


def test_checkpoint_loader_schema_lists_the_checkpoints(sd_runtime):
    schema = DeclaredNodeType(CheckpointLoaderSimple, sd_runtime).schema()
    assert schema.output_types == ("MODEL", "CLIP", "VAE")
    assert set(schema.input("ckpt_name").choices) >= {"sd15.safetensors", "sdxl.safetensors"}
    (sd_runtime.folders.models_dir / "checkpoints" / "new.safetensors").write_bytes(b"x")
    assert "new.safetensors" in DeclaredNodeType(CheckpointLoaderSimple, sd_runtime).schema().input("ckpt_name").choices


def test_lora_and_clip_loader_inputs_match_comfyui(sd_runtime):
    lora = DeclaredNodeType(LoraLoader, sd_runtime).schema()
    assert [i.name for i in lora.inputs] == ["model", "clip", "lora_name", "strength_model", "strength_clip"]
    assert lora.input("strength_model").options == {"default": 1.0, "min": -100.0, "max": 100.0, "step": 0.01,
                                                    "tooltip": lora.input("strength_model").options["tooltip"]}
    assert lora.output_types == ("MODEL", "CLIP")
    clip = DeclaredNodeType(CLIPLoader, sd_runtime).schema()
    assert clip.input("type").choices == CLIP_TYPES and CLIP_TYPES[0] == "stable_diffusion"
    assert not clip.input("device").required
    unet = DeclaredNodeType(UNETLoader, sd_runtime).schema()
    assert unet.input("weight_dtype").choices[0] == "default"


def test_checkpoint_loader_gives_model_clip_vae(sd_runtime):
    model, clip, vae = load(sd_runtime)
    assert model.model_info.family == "sd15"
    assert clip.family == "sd1"
    assert vae.decode(torch.zeros(1, 4, 2, 2)).shape == (1, 16, 16, 3)
    assert next(model.model.parameters()).dtype == torch.float32  # the runtime asked for fp32


def test_default_precision_uses_the_device_choice(sd_runtime):
    sd_runtime.devices = DeviceRequest(cpu=True)
    model, _, _ = load(sd_runtime)
    expected = resolve_device_choice(True, "auto").unet_dtype
    assert next(model.model.parameters()).dtype == expected
    assert sd_runtime.models.choice.unet_dtype == expected


def test_same_file_loaded_twice_shares_the_handles(sd_runtime):
    first = load(sd_runtime)
    second = load(sd_runtime)
    assert all(a is b for a, b in zip(first, second, strict=True))


def test_fingerprint_follows_the_file(sd_runtime, tiny_files):
    path = copy_checkpoint(sd_runtime, tiny_files, "sd15", "mine.safetensors")
    before = CheckpointLoaderSimple.fingerprint(context(sd_runtime), ckpt_name="mine.safetensors")
    assert before == CheckpointLoaderSimple.fingerprint(context(sd_runtime), ckpt_name="mine.safetensors")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert CheckpointLoaderSimple.fingerprint(context(sd_runtime), ckpt_name="mine.safetensors") != before
    with pytest.raises(RuntimeError):
        CheckpointLoaderSimple.fingerprint(context(None), ckpt_name="mine.safetensors")  # no runtime: always re-run


def test_changed_file_is_loaded_afresh(sd_runtime, tiny_files):
    path = copy_checkpoint(sd_runtime, tiny_files, "sd15", "mine.safetensors")
    first, _, _ = load(sd_runtime, "mine.safetensors")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second, _, _ = load(sd_runtime, "mine.safetensors")
    assert first is not second


def test_file_deleted_after_validation_names_node_and_file(sd_runtime, tiny_files):
    path = copy_checkpoint(sd_runtime, tiny_files, "sd15", "gone.safetensors")
    assert "gone.safetensors" in DeclaredNodeType(CheckpointLoaderSimple, sd_runtime).schema().input("ckpt_name").choices
    path.unlink()
    with pytest.raises(FileNotFoundError, match=r"CheckpointLoaderSimple: input 'ckpt_name'.*gone\.safetensors"):
        load(sd_runtime, "gone.safetensors")


def test_name_leaving_the_folder_is_refused(sd_runtime):
    with pytest.raises(ValueError, match="ckpt_name"):
        load(sd_runtime, "../secret.safetensors")


def test_corrupt_checkpoint_names_the_file(sd_runtime):
    (sd_runtime.folders.models_dir / "checkpoints" / "broken.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(CheckpointError, match="broken.safetensors"):
        load(sd_runtime, "broken.safetensors")


def test_lora_loader_returns_new_handles_and_leaves_inputs_alone(sd_runtime):
    model, clip, _ = load(sd_runtime)
    new_model, new_clip = call(LoraLoader, context(sd_runtime), model=model, clip=clip,
                               lora_name="sd15_lora.safetensors", strength_model=0.8, strength_clip=0.5)
    assert new_model is not model and new_clip is not clip
    assert new_model.patches and not model.patches
    assert all(not p.patches for p in clip.patchers()) and any(p.patches for p in new_clip.patchers())
    x, t, ctx_tensor = torch.randn(1, 4, 8, 8), torch.tensor([500.0]), torch.randn(1, 77, 64)
    assert not torch.equal(new_model(x, t, context=ctx_tensor), model(x, t, context=ctx_tensor))


def test_lora_with_zero_strengths_passes_through(sd_runtime):
    model, clip, _ = load(sd_runtime)
    out = call(LoraLoader, context(sd_runtime), model=model, clip=clip, lora_name="sd15_lora.safetensors",
               strength_model=0.0, strength_clip=0.0)
    assert out[0] is model and out[1] is clip


def test_lora_model_only_patches_just_the_model(sd_runtime):
    model, _, _ = load(sd_runtime)
    (new_model,) = call(LoraLoaderModelOnly, context(sd_runtime), model=model, lora_name="sd15_lora.safetensors",
                        strength_model=1.0)
    assert new_model is not model and new_model.patches and not model.patches


def test_lora_that_fits_nothing_is_a_clear_error(sd_runtime):
    model, clip, _ = load(sd_runtime)
    foreign = {"lora_unet_no_such_block.lora_up.weight": torch.zeros(8, 4),
               "lora_unet_no_such_block.lora_down.weight": torch.zeros(4, 8)}
    save_file(foreign, str(sd_runtime.folders.models_dir / "loras" / "foreign.safetensors"))
    with pytest.raises(LoraMismatchError, match=r"LoraLoader: LoRA 'foreign.safetensors'"):
        call(LoraLoader, context(sd_runtime), model=model, clip=clip, lora_name="foreign.safetensors",
             strength_model=1.0, strength_clip=1.0)
    assert not model.patches


def _extract(source, prefix, target):
    tensors = load_file(str(source))
    save_file({k[len(prefix):]: v.contiguous() for k, v in tensors.items() if k.startswith(prefix)}, str(target))


def test_clip_loader_loads_a_text_encoder_file(sd_runtime, tiny_files):
    folder = sd_runtime.folders.models_dir / "text_encoders"
    folder.mkdir(parents=True, exist_ok=True)
    _extract(tiny_files["sd15"], "cond_stage_model.transformer.", folder / "clip_l.safetensors")
    (clip,) = call(CLIPLoader, context(sd_runtime), clip_name="clip_l.safetensors", type="stable_diffusion")
    _, checkpoint_clip, _ = load(sd_runtime)
    assert clip.family == "sd1"
    assert torch.allclose(clip.encode("a cat")[0], checkpoint_clip.encode("a cat")[0], atol=1e-5)


def test_clip_loader_refuses_unsupported_types(sd_runtime):
    with pytest.raises(ValueError, match=r"CLIPLoader: input 'type': 'sd3'.*not supported"):
        call(CLIPLoader, context(sd_runtime), clip_name="whatever.safetensors", type="sd3")


def test_unet_loader_loads_a_bare_unet(sd_runtime, tiny_files):
    folder = sd_runtime.folders.models_dir / "diffusion_models"
    folder.mkdir(parents=True, exist_ok=True)
    _extract(tiny_files["sd15"], "model.diffusion_model.", folder / "unet.safetensors")
    (model,) = call(UNETLoader, context(sd_runtime), unet_name="unet.safetensors", weight_dtype="default")
    assert model.model_info.family == "sd15"
    with pytest.raises(ValueError, match=r"UNETLoader: input 'weight_dtype': 'fp8_e4m3fn'"):
        call(UNETLoader, context(sd_runtime), unet_name="unet.safetensors", weight_dtype="fp8_e4m3fn")


def test_vae_loader_loads_a_vae_file(sd_runtime):
    from diffusion.checkpoints.make_checkpoint import write_vae

    folder = sd_runtime.folders.models_dir / "vae"
    folder.mkdir(parents=True, exist_ok=True)
    write_vae(folder / "vae.safetensors", "tiny", seed=1, dtype=torch.float32)
    (vae,) = call(VAELoader, context(sd_runtime), vae_name="vae.safetensors")
    assert vae.encode(torch.rand(1, 16, 16, 3)).shape == (1, 4, 2, 2)
    (sd_runtime.folders.models_dir / "vae" / "notvae.safetensors").symlink_to(
        sd_runtime.folders.models_dir / "checkpoints" / "sd15.safetensors")
    (from_checkpoint,) = call(VAELoader, context(sd_runtime), vae_name="notvae.safetensors")
    assert from_checkpoint is not vae


def test_checkpoint_deleted_between_validation_and_execution(sd_runtime, tiny_files):
    """Through the executor: the prompt fails with an error naming the file; the next valid prompt runs."""
    from graph.executor import Executor
    from graph.validate import validate_prompt
    from nodes.build import build_registry

    path = copy_checkpoint(sd_runtime, tiny_files, "sd15", "doomed.safetensors")
    registry, _ = build_registry(sd_runtime)
    prompt = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "doomed.safetensors"}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat", "clip": ["1", 1]}},
        "3": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}},
    }
    validation = validate_prompt(prompt, registry)
    assert validation.ok and not validation.node_errors
    path.unlink()
    executor = Executor(registry, runtime=sd_runtime)
    failed = executor.execute(validation.prompt, prompt_id="a", outputs=validation.outputs)
    assert failed.status == "error"
    assert failed.error["node_id"] == "1" and "doomed.safetensors" in failed.error["exception_message"]
    prompt["1"]["inputs"]["ckpt_name"] = "sd15.safetensors"
    validation = validate_prompt(prompt, registry)
    assert executor.execute(validation.prompt, prompt_id="b", outputs=validation.outputs).status == "success"


def test_loaded_files_share_while_alive_and_reload_after():
    import gc

    from nodes.api.model_services import LoadedFiles

    class Handle:
        pass

    files, loads = LoadedFiles(keep_raw=1), []

    def load():
        loads.append(1)
        return Handle(), None

    first = files.handles("k", load)
    assert files.handles("k", load)[0] is first[0] and first[1] is None and len(loads) == 1
    del first
    gc.collect()
    files.handles("k", load)
    assert len(loads) == 2
    assert files.raw("a", lambda: [1]) is files.raw("a", lambda: [2])
    files.raw("b", lambda: [3])
    assert files.raw("a", lambda: [4]) == [4]  # only the last one is kept


def test_precision_option(monkeypatch):
    import nodes.api.model_services as services

    monkeypatch.setattr(services, "cpu_has_fast_bf16", lambda: True)
    assert resolve_device_choice("cpu", "auto").unet_dtype == torch.bfloat16
    assert resolve_device_choice("cpu", "fp32").unet_dtype == torch.float32
    monkeypatch.setattr(services, "cpu_has_fast_bf16", lambda: False)
    assert resolve_device_choice("cpu", "auto").unet_dtype == torch.float32
    with pytest.raises(ValueError, match="precision"):
        resolve_device_choice("cpu", "fp8")
