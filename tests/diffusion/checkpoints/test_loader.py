"""Loader: whole checkpoints to ModelPatcher / CLIPHandle / VAEHandle, standalone files, errors; inspect."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from app.cli import main as cli_main
from diffusion.checkpoints.checkpoint import (
    CheckpointError,
    SafetensorsStateDict,
    load_state_dict,
    read_safetensors_header,
)
from diffusion.checkpoints.detect import ModelDetectionError
from diffusion.checkpoints.loader import load_checkpoint, load_text_encoder, load_unet, load_vae
from diffusion.checkpoints.make_checkpoint import write_vae
from diffusion.checkpoints.summary import describe_model_file
from diffusion.memory.patcher import ModelPatcher
from diffusion.models.latent_formats import SDXL_FORMAT
from diffusion.models.lora.make_lora import write_lora
from diffusion.models.unet.sdxl_conditioning import adm_vector
from diffusion.models.unet.unet import UNetModel


def _subset(path, prefix, out, add=""):
    sd = load_state_dict(path)
    save_file({add + k[len(prefix):]: sd[k].contiguous() for k in sd if k.startswith(prefix)}, str(out))
    return out


@pytest.mark.parametrize("family", ["sd15", "sd21-v", "sdxl", "sdxl-refiner"])
def test_whole_checkpoint_loads_and_runs(tiny_checkpoints, family):
    loaded = load_checkpoint(tiny_checkpoints[family])
    assert isinstance(loaded.model, ModelPatcher)
    assert loaded.model.model_info.family == family == loaded.info.family
    cond, pooled = loaded.clip.encode("a photo of a cat")
    unet = loaded.model.model
    assert cond.shape == (1, 77, unet.config.context_dim)
    y = adm_vector(family, pooled, 64, 64) if unet.config.adm_in_channels else None
    with torch.no_grad():
        out = loaded.model(torch.randn(1, 4, 8, 8), torch.tensor([999.0]), cond, y)
    assert out.shape == (1, 4, 8, 8) and torch.isfinite(out).all()
    image = loaded.vae.decode(torch.randn(1, 4, 4, 5))
    assert image.shape == (1, 32, 40, 3) and 0 <= image.min() and image.max() <= 1
    assert loaded.vae.latent_format is loaded.info.latent_format


def test_unet_parameters_are_the_mapped_file_not_copies(tiny_checkpoints):
    loaded = load_checkpoint(tiny_checkpoints["sd15"], output_clip=False, output_vae=False)
    unet = loaded.model.model
    weight = unet.input_blocks[0][0].weight
    # Parameters are views into the one memory-mapped file: their addresses differ exactly
    # as their offsets in the file do (copies would land anywhere).
    header = read_safetensors_header(tiny_checkpoints["sd15"])
    names = ["input_blocks.0.0.weight", "out.2.bias", "middle_block.1.proj_in.weight"]
    params = dict(unet.named_parameters())
    base_offset = header["model.diffusion_model." + names[0]]["data_offsets"][0]
    for name in names[1:]:
        offset = header["model.diffusion_model." + name]["data_offsets"][0]
        assert params[name].data_ptr() - weight.data_ptr() == offset - base_offset
    assert loaded.clip is None and loaded.vae is None
    sd = load_state_dict(tiny_checkpoints["sd15"])
    assert torch.equal(weight, sd["model.diffusion_model.input_blocks.0.0.weight"])


def test_loaded_unet_matches_a_directly_built_one(tiny_checkpoints):
    loaded = load_checkpoint(tiny_checkpoints["sd15"], output_clip=False, output_vae=False)
    sd = load_state_dict(tiny_checkpoints["sd15"])
    direct = UNetModel(loaded.info.unet_config)
    direct.load_state_dict({k[len("model.diffusion_model."):]: v for k, v in sd.items()
                            if k.startswith("model.diffusion_model.")})
    x, t, c = torch.randn(1, 4, 8, 8), torch.tensor([10.0]), torch.randn(1, 5, 64)
    with torch.no_grad():
        assert torch.allclose(loaded.model(x, t, c), direct.eval()(x, t, c), atol=1e-5)


def test_dtype_conversion(tiny_checkpoints):
    loaded = load_checkpoint(tiny_checkpoints["sd15"], dtype=torch.bfloat16, vae_dtype=torch.float32)
    assert loaded.model.model.out[2].weight.dtype == torch.bfloat16
    assert loaded.vae.model.decoder.conv_out.weight.dtype == torch.float32
    with torch.no_grad():
        out = loaded.model(torch.randn(1, 4, 8, 8), torch.tensor([10.0]), torch.randn(1, 3, 64))
    assert out.dtype == torch.float32


def test_prediction_override_reaches_model_info(tiny_checkpoints):
    loaded = load_checkpoint(tiny_checkpoints["sd21-v"], prediction_override="eps", output_clip=False)
    assert (loaded.model.model_info.family, loaded.model.model_info.prediction) == ("sd21", "eps")


def test_vae_handle_crops_and_tiles(tiny_checkpoints):
    vae = load_checkpoint(tiny_checkpoints["sd15"], output_clip=False).vae
    image = torch.rand(2, 70, 67, 4)
    latent = vae.encode(image)
    assert latent.shape == (2, 4, 8, 8) and latent.dtype == torch.float32
    assert vae.encode_tiled(image, tile_size=32, overlap=8).shape == latent.shape
    assert vae.decode_tiled(latent, tile_size=32, overlap=8).shape == (2, 64, 64, 3)
    assert torch.allclose(vae.decode_tiled(latent, tile_size=512), vae.decode(latent), atol=1e-5)
    with pytest.raises(ValueError, match="IMAGE must be"):
        vae.encode(torch.rand(64, 64, 3))
    with pytest.raises(ValueError, match="latent must be"):
        vae.decode(torch.rand(1, 3, 8, 8))
    with pytest.raises(ValueError, match="smaller than"):
        vae.encode(torch.rand(1, 5, 5, 3))


def test_load_standalone_vae(tmp_path, tiny_checkpoints):
    path = tmp_path / "vae.safetensors"
    write_vae(path, "tiny", seed=1, dtype=torch.float32)
    vae = load_vae(path, latent_format=SDXL_FORMAT)
    assert vae.latent_format is SDXL_FORMAT
    assert vae.decode(torch.zeros(1, 4, 2, 2)).shape == (1, 16, 16, 3)
    from_checkpoint = load_vae(tiny_checkpoints["sdxl"])
    assert from_checkpoint.latent_format is SDXL_FORMAT


def test_load_vae_refuses_other_files(tmp_path, tiny_checkpoints):
    lora = tmp_path / "lora.safetensors"
    write_lora(lora, "sd15", "tiny")
    with pytest.raises(CheckpointError, match=r"lora\.safetensors: not a VAE file \(it looks like: lora\)"):
        load_vae(lora)
    broken = tmp_path / "dvae.safetensors"
    save_file({"encoder.conv_in.weight": torch.ones(4), "decoder.conv_in.weight": torch.ones(4),
               "decoder.up_blocks.0.resnets.0.norm1.weight": torch.ones(4),
               "decoder.mid_block.attentions.0.weird.weight": torch.ones(4)}, str(broken))
    with pytest.raises(CheckpointError, match=r"dvae\.safetensors: diffusers-layout VAE could not be converted"):
        load_vae(broken)


def test_load_diffusers_layout_vae(tmp_path):
    from diffusers.loaders.single_file_utils import convert_ldm_vae_checkpoint

    original = tmp_path / "vae.safetensors"
    write_vae(original, "tiny", seed=5, dtype=torch.float32)
    ldm = {k: v.clone() for k, v in load_state_dict(original).items()}
    levels = 4
    config = {"down_block_types": ["DownEncoderBlock2D"] * levels, "up_block_types": ["UpDecoderBlock2D"] * levels}
    diffusers_sd = convert_ldm_vae_checkpoint({"first_stage_model." + k: v for k, v in ldm.items()}, config)
    path = tmp_path / "diffusion_pytorch_model.safetensors"
    save_file({k: v.contiguous() for k, v in diffusers_sd.items()}, str(path))
    from_diffusers, from_ldm = load_vae(path), load_vae(original)
    for key, value in from_ldm.model.state_dict().items():
        assert torch.equal(from_diffusers.model.state_dict()[key], value), key
    summary = describe_model_file(path)
    assert summary["kind"] == "vae" and summary["layout"] == "diffusers" and summary["vae_config"]["ch"] == 32


def test_load_bare_unet(tmp_path, tiny_checkpoints):
    path = _subset(tiny_checkpoints["sdxl"], "model.diffusion_model.", tmp_path / "unet.safetensors")
    patcher = load_unet(path)
    assert patcher.model_info.family == "sdxl" and patcher.model_info.vae_config is None
    assert load_unet(tiny_checkpoints["sd15"]).model_info.family == "sd15"
    with pytest.raises(ModelDetectionError, match="not a UNet"):
        load_unet(_subset(tiny_checkpoints["sd15"], "first_stage_model.", tmp_path / "v.safetensors"))


def test_load_text_encoders(tmp_path, tiny_checkpoints):
    clip_l = _subset(tiny_checkpoints["sdxl"], "conditioner.embedders.0.transformer.", tmp_path / "l.safetensors")
    clip_g = _subset(tiny_checkpoints["sdxl"], "conditioner.embedders.1.model.", tmp_path / "g.safetensors")
    sd1 = load_text_encoder([clip_l])
    assert sd1.family == "sd1"
    sdxl = load_text_encoder([clip_g, clip_l])
    assert sdxl.family == "sdxl"
    cond, pooled = sdxl.encode("a cat")
    assert cond.shape == (1, 77, 64 + 128) and pooled.shape == (1, 128)
    assert load_text_encoder([clip_g]).family == "sdxl-refiner"
    with pytest.raises(CheckpointError, match="second clip_l"):
        load_text_encoder([clip_l, clip_l])
    with pytest.raises(CheckpointError, match="not a text encoder file"):
        load_text_encoder([tiny_checkpoints["sd15"]])


def test_missing_tensor_is_reported(tmp_path, tiny_checkpoints):
    sd = load_state_dict(tiny_checkpoints["sd15"])
    broken = {k: v.contiguous() for k, v in sd.items() if k != "model.diffusion_model.out.2.bias"}
    path = tmp_path / "broken.safetensors"
    save_file(broken, str(path))
    with pytest.raises(CheckpointError, match=r"broken\.safetensors: UNet weights incomplete.*out\.2\.bias"):
        load_checkpoint(path)


def test_wrong_shape_is_reported(tmp_path, tiny_checkpoints):
    sd = {k: v.contiguous() for k, v in load_state_dict(tiny_checkpoints["sd15"]).items()}
    sd["first_stage_model.decoder.conv_out.bias"] = torch.zeros(5)
    path = tmp_path / "shape.safetensors"
    save_file(sd, str(path))
    with pytest.raises(CheckpointError, match=r"shape\.safetensors: VAE weight decoder\.conv_out\.bias has shape \(5,\)"):
        load_checkpoint(path)


def test_truncated_checkpoint_is_reported(tmp_path, tiny_checkpoints):
    data = tiny_checkpoints["sd15"].read_bytes()
    path = tmp_path / "cut.safetensors"
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(CheckpointError, match=r"cut\.safetensors: incomplete/truncated"):
        load_checkpoint(path)


def test_lora_chosen_as_checkpoint(tmp_path):
    path = tmp_path / "style.safetensors"
    write_lora(path, "sd15", "tiny")
    with pytest.raises(ModelDetectionError, match=r"style\.safetensors: not a Stable Diffusion checkpoint.*LoRA"):
        load_checkpoint(path)


def test_describe_checkpoint(tiny_checkpoints):
    summary = describe_model_file(tiny_checkpoints["sdxl"])
    assert summary["kind"] == "checkpoint" and summary["family"] == "sdxl" and summary["prediction"] == "eps"
    assert set(summary["components"]) == {"unet", "vae", "clip_l", "clip_g"}
    assert summary["components"]["unet"]["dtype"] == "fp32"
    assert summary["components"]["unet"]["parameters"] == sum(
        p.numel() for p in UNetModel(load_checkpoint(tiny_checkpoints["sdxl"], output_clip=False).info.unet_config).parameters()
    )


def test_describe_lora_vae_embedding(tmp_path):
    lora, vae, emb = tmp_path / "l.safetensors", tmp_path / "v.safetensors", tmp_path / "cat.safetensors"
    write_lora(lora, "sdxl", "tiny")
    write_vae(vae, "tiny")
    save_file({"emb_params": torch.zeros(3, 768)}, str(emb))
    lora_summary = describe_model_file(lora)
    assert set(lora_summary["applies_to"]) == {"unet", "text encoder 1 (CLIP-L)", "text encoder 2 (CLIP-G)"}
    assert lora_summary["ranks"] == [4] and lora_summary["unet_context_width"] == 192
    assert describe_model_file(vae)["kind"] == "vae"
    emb_summary = describe_model_file(emb)
    assert emb_summary["applies_to"] == "SD1.x (CLIP-L)" and emb_summary["usage"] == "embedding:cat"


def test_inspect_cli(tiny_checkpoints, tmp_path, capsys):
    assert cli_main(["inspect", str(tiny_checkpoints["sd21-v"])]) == 0
    out = capsys.readouterr().out
    assert "family: sd21-v, prediction: v" in out and "clip_h:" in out
    assert cli_main(["inspect", str(tiny_checkpoints["sd15"]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["family"] == "sd15"


@pytest.mark.parametrize("content", [b"", b"garbage" * 10])
def test_inspect_cli_unreadable(tmp_path, capsys, content):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    assert cli_main(["inspect", str(path)]) == 1
    assert "bad.safetensors" in capsys.readouterr().err
    assert cli_main(["inspect", str(tmp_path / "missing.ckpt")]) == 1
    assert "file not found" in capsys.readouterr().err


def test_inspect_cli_unknown_layout(tmp_path, capsys):
    path = tmp_path / "odd.safetensors"
    save_file({"something": torch.zeros(2)}, str(path))
    assert cli_main(["inspect", str(path)]) == 1
    assert "unknown layout" in capsys.readouterr().out


def test_ckpt_file_with_state_dict_loads(tmp_path, tiny_checkpoints):
    sd = load_state_dict(tiny_checkpoints["sd15"])
    path = tmp_path / "old.ckpt"
    torch.save({"state_dict": {k: v.clone() for k, v in sd.items()}, "global_step": 1}, path)
    loaded = load_checkpoint(path)
    assert loaded.info.family == "sd15" and loaded.clip.encode("cat")[0].shape == (1, 77, 64)


def test_older_sd1_text_encoder_keys_without_text_model(tmp_path, tiny_checkpoints):
    sd = load_state_dict(tiny_checkpoints["sd15"])
    old = "cond_stage_model.transformer.text_model."
    renamed = {("cond_stage_model.transformer." + k[len(old):] if k.startswith(old) else k): v.contiguous()
               for k, v in sd.items()}
    path = tmp_path / "older.safetensors"
    save_file(renamed, str(path))
    loaded = load_checkpoint(path)
    assert loaded.info.text_encoder_sources[0].layout == "hf-old"
    new = load_checkpoint(tiny_checkpoints["sd15"]).clip.encode("a dog")[0]
    assert torch.allclose(loaded.clip.encode("a dog")[0], new)


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
def test_written_lora_applies_completely(tmp_path, tiny_checkpoints, family):
    from diffusion.models.lora.lora import apply_lora

    path = tmp_path / "lora.safetensors"
    write_lora(path, family, "tiny")
    loaded = load_checkpoint(tiny_checkpoints[family])
    model, clip, report = apply_lora(loaded.model, loaded.clip, load_state_dict(path), 1.0, 1.0)
    assert not report.unmatched and not report.mismatched and not report.unsupported
    assert report.model_keys and report.clip_keys
    before = loaded.model.model.input_blocks[0][0].weight.clone()
    cond, pooled = loaded.clip.encode("cat")
    y = adm_vector(family, pooled, 64, 64) if family == "sdxl" else None
    x, t = torch.randn(1, 4, 8, 8), torch.tensor([10.0])
    with torch.no_grad():
        assert not torch.allclose(model(x, t, cond, y), loaded.model(x, t, cond, y))
    assert torch.equal(loaded.model.model.input_blocks[0][0].weight, before)


def _record_releases(monkeypatch) -> list[str]:
    released: list[str] = []
    monkeypatch.setattr(SafetensorsStateDict, "release", lambda self, key: released.append(key))
    return released


def test_text_encoder_in_the_file_dtype_is_the_mapped_file(tiny_checkpoints, monkeypatch):
    released = _record_releases(monkeypatch)
    loaded = load_checkpoint(tiny_checkpoints["sd15"], output_vae=False)
    header = read_safetensors_header(tiny_checkpoints["sd15"])
    params = dict(loaded.clip.encoders["l"].model.named_parameters())
    first = next(iter(params))

    def offset(name):
        return header["cond_stage_model.transformer." + name]["data_offsets"][0]

    for name, param in params.items():  # views into the one mapped file: addresses differ as file offsets do
        assert param.data_ptr() - params[first].data_ptr() == offset(name) - offset(first), name
    assert not [key for key in released if key.startswith("cond_stage_model.")]


def test_converted_text_encoders_release_their_file_pages(tiny_checkpoints, monkeypatch, tmp_path):
    released = _record_releases(monkeypatch)
    path = tiny_checkpoints["sdxl"]
    loaded = load_checkpoint(path, dtype=torch.bfloat16, output_vae=False)
    assert loaded.clip.encoders["g"].model.get_parameter("text_projection.weight").dtype == torch.bfloat16
    clip_keys = {k for k in load_state_dict(path) if k.startswith("conditioner.") and not k.endswith("logit_scale")}
    assert clip_keys <= set(released)  # both layouts, OpenCLIP's in_proj included, under the file's own keys
    assert len(released) == len(set(released))


def test_release_keys_follow_older_layouts_and_standalone_files(tiny_checkpoints, monkeypatch, tmp_path):
    sd = load_state_dict(tiny_checkpoints["sd15"])
    old = "cond_stage_model.transformer.text_model."
    older = tmp_path / "older.safetensors"
    save_file({("cond_stage_model.transformer." + k[len(old):] if k.startswith(old) else k): v.contiguous()
               for k, v in sd.items()}, str(older))
    clip_g = _subset(tiny_checkpoints["sdxl"], "conditioner.embedders.1.model.", tmp_path / "g.safetensors")
    released = _record_releases(monkeypatch)
    load_checkpoint(older, dtype=torch.bfloat16, output_vae=False)
    older_keys = {k for k in load_state_dict(older) if k.startswith("cond_stage_model.")}
    assert {k for k in released if k.startswith("cond_stage_model.")} == older_keys
    released.clear()
    load_text_encoder([clip_g], dtype=torch.bfloat16)
    assert set(released) == {k for k in load_state_dict(clip_g) if k != "logit_scale"}
