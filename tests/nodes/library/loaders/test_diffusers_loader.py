"""DiffusersLoader: a diffusers folder written with diffusers' own converters from a tiny checkpoint loads to
the same weights, family and prediction as the checkpoint itself."""

# The fixtures imported from sd_fixtures are used as test arguments (pytest's by-name injection).
# ruff: noqa: F811

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from diffusion.checkpoints.checkpoint import load_state_dict
from diffusion.models.text.clip_text import openclip_to_hf
from diffusion.models.unet.config import UNetConfig
from diffusion.models.vae.vae import VAEConfig
from nodes.library.loaders.diffusers_loader import DiffusersLoader, diffusers_folders
from nodes.library.loaders.model_loaders import CheckpointLoaderSimple
from tests.diffusion.models.unet.test_unet import _diffusers_config
from tests.nodes.sd_fixtures import FAMILIES, call, context, sd_runtime, tiny_files  # noqa: F401

UNET, VAE = "model.diffusion_model.", "first_stage_model."
# family -> (diffusers part, checkpoint prefix, layout) of each text encoder
TEXT_ENCODERS = {
    "sd15": [("text_encoder", "cond_stage_model.transformer.", "hf")],
    "sd21-v": [("text_encoder", "cond_stage_model.model.", "openclip")],
    "sdxl": [("text_encoder", "conditioner.embedders.0.transformer.", "hf"),
             ("text_encoder_2", "conditioner.embedders.1.model.", "openclip")],
    "sdxl-refiner": [("text_encoder_2", "conditioner.embedders.0.model.", "openclip")],
}


def _part(sd, prefix):
    return {k[len(prefix):]: sd[k].contiguous() for k in sd if k.startswith(prefix)}


def write_diffusers_folder(folder, checkpoint, family):
    from diffusers.loaders.single_file_utils import convert_ldm_unet_checkpoint, convert_ldm_vae_checkpoint

    sd = dict(load_state_dict(checkpoint))
    for part in ("unet", "vae", "scheduler", *(p for p, _, _ in TEXT_ENCODERS[family])):
        (folder / part).mkdir(parents=True, exist_ok=True)
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    unet = convert_ldm_unet_checkpoint({k: v for k, v in sd.items() if k.startswith(UNET)},
                                       _diffusers_config(UNetConfig.preset(family, "tiny")))
    save_file({k: v.contiguous() for k, v in unet.items()}, str(folder / "unet" / "diffusion_pytorch_model.safetensors"))
    vae_config = VAEConfig.preset("tiny")
    levels = len(vae_config.ch_mult)
    vae = convert_ldm_vae_checkpoint({k: v for k, v in sd.items() if k.startswith(VAE)},
                                     {"down_block_types": ["DownEncoderBlock2D"] * levels,
                                      "up_block_types": ["UpDecoderBlock2D"] * levels,
                                      "layers_per_block": vae_config.num_res_blocks})
    save_file({k: v.contiguous() for k, v in vae.items()}, str(folder / "vae" / "diffusion_pytorch_model.safetensors"))
    for part, prefix, layout in TEXT_ENCODERS[family]:
        tensors = _part(sd, prefix)
        if layout == "openclip":
            tensors = {k: v for k, v in openclip_to_hf(tensors).items() if k != "logit_scale"}
        save_file(tensors, str(folder / part / "model.safetensors"))
    prediction = "v_prediction" if family == "sd21-v" else "epsilon"
    (folder / "scheduler" / "scheduler_config.json").write_text(json.dumps({"prediction_type": prediction}))
    return unet


def weights(patcher):
    with patcher.patched() as module:
        return {k: v.detach().clone() for k, v in module.named_parameters()}


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("family", FAMILIES)
def test_diffusers_folder_loads_like_the_checkpoint(sd_runtime, tiny_files, family):
    folder = sd_runtime.folders.models_dir / "diffusers" / "tiny" / family
    converted = write_diffusers_folder(folder, tiny_files[family], family)
    assert any(k.startswith("down_blocks.") for k in converted)
    assert f"tiny/{family}" in diffusers_folders(sd_runtime)
    ctx = context(sd_runtime)
    model, clip, vae = call(DiffusersLoader, ctx, model_path=f"tiny/{family}")
    ref_model, ref_clip, ref_vae = call(CheckpointLoaderSimple, ctx, ckpt_name=f"{family}.safetensors")
    assert model.model_info.family == family
    assert model.model_info.prediction == ref_model.model_info.prediction
    assert same(weights(model), weights(ref_model))
    assert clip.family == ref_clip.family
    for name, patcher in clip.encoders.items():
        assert same(weights(patcher), weights(ref_clip.encoders[name]))
    assert same(dict(vae.model.state_dict()), dict(ref_vae.model.state_dict()))


def test_diffusers_loader_errors_name_the_input(sd_runtime, tiny_files):
    ctx = context(sd_runtime)
    with pytest.raises(FileNotFoundError, match="DiffusersLoader: input 'model_path': 'nothing'"):
        call(DiffusersLoader, ctx, model_path="nothing")
    with pytest.raises(ValueError, match="DiffusersLoader: input 'model_path'"):
        call(DiffusersLoader, ctx, model_path="../outside")
    folder = sd_runtime.folders.models_dir / "diffusers" / "broken"
    write_diffusers_folder(folder, tiny_files["sd15"], "sd15")
    (folder / "scheduler" / "scheduler_config.json").write_text(json.dumps({"prediction_type": "sample"}))
    with pytest.raises(ValueError, match="DiffusersLoader: .*unsupported prediction_type 'sample'"):
        call(DiffusersLoader, ctx, model_path="broken")


def test_a_cut_sd2_text_encoder_gets_an_identity_layer_back(tiny_files):
    from diffusion.checkpoints.diffusers_folder import pad_layers
    from diffusion.models.text.text_encode import build_encoder_patcher

    hf = openclip_to_hf(_part(dict(load_state_dict(tiny_files["sd21-v"])), "cond_stage_model.model."))
    layers = 1 + max(int(k.split(".")[3]) for k in hf if k.startswith("text_model.encoder.layers."))
    cut = {k: v for k, v in hf.items() if not k.startswith(f"text_model.encoder.layers.{layers - 1}.")}
    padded = pad_layers(cut, layers)
    assert padded.keys() == hf.keys() and pad_layers(hf, layers) is hf
    ids = torch.tensor([[49406, 320, 1125, 49407] + [0] * 73])
    with torch.inference_mode():
        cut_out = build_encoder_patcher(cut, kind="clip_h").model(ids)
        padded_out = build_encoder_patcher(padded, kind="clip_h").model(ids)
    assert len(padded_out.hidden_states) == layers + 1
    torch.testing.assert_close(padded_out.hidden_states[-2], cut_out.hidden_states[-1])
    torch.testing.assert_close(padded_out.hidden_states[-1], padded_out.hidden_states[-2])
