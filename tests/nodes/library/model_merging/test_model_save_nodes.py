"""CheckpointSave, ModelSave, CLIPSave and VAESave: files in the output folder that load again unchanged."""

# The fixtures imported from sd_fixtures are used as test arguments (pytest's by-name injection).
# ruff: noqa: F811

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open

from nodes.library.loaders.config_dual_loaders import DualCLIPLoader
from nodes.library.loaders.model_loaders import CheckpointLoaderSimple, CLIPLoader, UNETLoader, VAELoader
from nodes.library.model_merging.merge_nodes import ModelMergeSimple
from nodes.library.model_merging.save_nodes import CheckpointSave, CLIPSave, ModelSave, VAESave
from tests.nodes.sd_fixtures import FAMILIES, call, context, sd_runtime, tiny_files  # noqa: F401

PROMPT = {"1": {"class_type": "CheckpointSave", "inputs": {}}}
EXTRA = {"workflow": {"nodes": [], "version": 0.4}}


def weights(patcher) -> dict[str, torch.Tensor]:
    with patcher.patched() as module:
        return {k: v.detach().clone() for k, v in module.named_parameters()}


def clip_weights(clip) -> dict[str, torch.Tensor]:
    return {f"{n}:{k}": v for n, p in clip.encoders.items() for k, v in weights(p).items()}


def vae_weights(vae) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in vae.model.state_dict().items()}


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def link_into(runtime, folder: str, path):
    target = runtime.folders.models_dir / folder
    target.mkdir(parents=True, exist_ok=True)
    (target / path.name).symlink_to(path)
    return path.name


def metadata(path) -> dict:
    with safe_open(str(path), "pt") as handle:
        return handle.metadata()


@pytest.mark.parametrize("family", FAMILIES)
def test_checkpoint_save_round_trip(sd_runtime, family):
    ctx = context(sd_runtime)
    model, clip, vae = call(CheckpointLoaderSimple, ctx, ckpt_name=f"{family}.safetensors")
    merged = call(ModelMergeSimple, ctx, model1=model, model2=model.clone(), ratio=0.5)[0]
    merged.add_patches({"out.2.bias": ("diff", (torch.full_like(model.model.get_parameter("out.2.bias"), 0.5),))})
    before = weights(merged)
    assert call(CheckpointSave, ctx, model=merged, clip=clip, vae=vae, filename_prefix="checkpoints/ComfyUI",
                prompt=PROMPT, extra_pnginfo=EXTRA) == ()
    path = sd_runtime.folders.output_dir / "checkpoints" / "ComfyUI_00001_.safetensors"
    assert path.is_file()
    name = link_into(sd_runtime, "checkpoints", path)
    model2, clip2, vae2 = call(CheckpointLoaderSimple, ctx, ckpt_name=name)
    assert model2.model_info.family == family
    assert model2.model_info.prediction == model.model_info.prediction
    assert same(weights(model2), weights(merged)) and not same(weights(model2), weights(model))
    assert same(clip_weights(clip2), clip_weights(clip))
    assert same(vae_weights(vae2), vae_weights(vae))
    assert same(weights(merged), before)  # saving leaves its input as it was


def test_checkpoint_save_metadata_and_counter(sd_runtime):
    ctx = context(sd_runtime)
    model, clip, vae = call(CheckpointLoaderSimple, ctx, ckpt_name="sdxl.safetensors")
    for _ in range(2):
        call(CheckpointSave, ctx, model=model, clip=clip, vae=vae, filename_prefix="checkpoints/merged",
             prompt=PROMPT, extra_pnginfo=EXTRA)
    second = sd_runtime.folders.output_dir / "checkpoints" / "merged_00002_.safetensors"
    meta = metadata(second)
    assert json.loads(meta["prompt"]) == PROMPT and json.loads(meta["workflow"]) == EXTRA["workflow"]
    assert meta["modelspec.architecture"] == "stable-diffusion-xl-v1-base"
    assert meta["modelspec.title"] == "merged 2" and meta["modelspec.predict_key"] == "epsilon"
    assert meta["modelspec.sai_model_spec"] == "1.0.0" and meta["modelspec.implementation"] == "sgm"


def test_v_prediction_is_written_and_metadata_can_be_disabled(sd_runtime):
    ctx = context(sd_runtime)
    model, clip, vae = call(CheckpointLoaderSimple, ctx, ckpt_name="sd21-v.safetensors")
    sd_runtime.disable_metadata = True
    call(CheckpointSave, ctx, model=model, clip=clip, vae=vae, filename_prefix="checkpoints/v", prompt=PROMPT)
    path = sd_runtime.folders.output_dir / "checkpoints" / "v_00001_.safetensors"
    meta = metadata(path)
    assert meta == {"modelspec.predict_key": "v"}
    with safe_open(str(path), "pt") as handle:
        assert "v_pred" in handle.keys()


def test_checkpoint_save_refuses_a_clip_of_another_family(sd_runtime):
    ctx = context(sd_runtime)
    model, _, vae = call(CheckpointLoaderSimple, ctx, ckpt_name="sd15.safetensors")
    _, sdxl_clip, _ = call(CheckpointLoaderSimple, ctx, ckpt_name="sdxl.safetensors")
    with pytest.raises(ValueError, match="CheckpointSave: the CLIP is a sdxl text encoder, the model a sd15"):
        call(CheckpointSave, ctx, model=model, clip=sdxl_clip, vae=vae, filename_prefix="checkpoints/x")
    with pytest.raises(ValueError, match="CheckpointSave: input 'filename_prefix'"):
        call(CheckpointSave, ctx, model=model, clip=sdxl_clip, vae=vae, filename_prefix="../outside")


def test_model_save_loads_with_unet_loader(sd_runtime):
    ctx = context(sd_runtime)
    model, _, _ = call(CheckpointLoaderSimple, ctx, ckpt_name="sdxl-refiner.safetensors")
    patched = model.clone()
    patched.add_patches({"out.2.bias": ("diff", (torch.ones_like(model.model.get_parameter("out.2.bias")),))})
    call(ModelSave, ctx, model=patched, filename_prefix="diffusion_models/ComfyUI", prompt=PROMPT)
    path = sd_runtime.folders.output_dir / "diffusion_models" / "ComfyUI_00001_.safetensors"
    with safe_open(str(path), "pt") as handle:
        assert all(k.startswith("model.diffusion_model.") for k in handle.keys())
    (loaded,) = call(UNETLoader, ctx, unet_name=link_into(sd_runtime, "diffusion_models", path))
    assert loaded.model_info.family == "sdxl-refiner"
    assert same(weights(loaded), weights(patched))


def test_clip_save_loads_with_clip_loader(sd_runtime):
    ctx = context(sd_runtime)
    _, clip, _ = call(CheckpointLoaderSimple, ctx, ckpt_name="sd15.safetensors")
    call(CLIPSave, ctx, clip=clip, filename_prefix="clip/ComfyUI", prompt=PROMPT, extra_pnginfo=EXTRA)
    path = sd_runtime.folders.output_dir / "clip" / "ComfyUI_clip_l_00001_.safetensors"
    assert json.loads(metadata(path)["prompt"]) == PROMPT
    (loaded,) = call(CLIPLoader, ctx, clip_name=link_into(sd_runtime, "text_encoders", path),
                     type="stable_diffusion")
    assert loaded.family == clip.family
    assert same(clip_weights(loaded), clip_weights(clip))


def test_clip_save_writes_one_file_per_encoder(sd_runtime):
    ctx = context(sd_runtime)
    _, clip, _ = call(CheckpointLoaderSimple, ctx, ckpt_name="sdxl.safetensors")
    call(CLIPSave, ctx, clip=clip, filename_prefix="clip/ComfyUI")
    names = sorted(p.name for p in (sd_runtime.folders.output_dir / "clip").iterdir())
    assert names == ["ComfyUI_clip_g_00001_.safetensors", "ComfyUI_clip_l_00001_.safetensors"]
    linked = [link_into(sd_runtime, "text_encoders", sd_runtime.folders.output_dir / "clip" / n) for n in names]
    (loaded,) = call(DualCLIPLoader, ctx, clip_name1=linked[0], clip_name2=linked[1], type="sdxl")
    assert loaded.family == "sdxl" and same(clip_weights(loaded), clip_weights(clip))


def test_vae_save_loads_with_vae_loader(sd_runtime):
    ctx = context(sd_runtime)
    _, _, vae = call(CheckpointLoaderSimple, ctx, ckpt_name="sd15.safetensors")
    call(VAESave, ctx, vae=vae, filename_prefix="vae/ComfyUI_vae")
    path = sd_runtime.folders.output_dir / "vae" / "ComfyUI_vae_00001_.safetensors"
    (loaded,) = call(VAELoader, ctx, vae_name=link_into(sd_runtime, "vae", path))
    assert same(vae_weights(loaded), vae_weights(vae))
