"""Family and file-kind detection, prediction type rules, and clear errors for wrong files."""

from __future__ import annotations

import pytest
import torch

from diffusion.checkpoints.checkpoint import CheckpointError, load_state_dict
from diffusion.checkpoints.detect import ModelDetectionError, detect_file_kind, detect_model
from diffusion.checkpoints.make_checkpoint import checkpoint_shapes, iter_checkpoint_tensors, write_vae
from diffusion.models.latent_formats import SD15_FORMAT, SDXL_FORMAT
from diffusion.models.lora.make_lora import write_lora
from diffusion.models.unet.config import UNetConfig

EXPECTED = {
    "sd15": ("sd15", "eps", ("clip_l",), SD15_FORMAT),
    "sd15-inpaint": ("sd15-inpaint", "eps", ("clip_l",), SD15_FORMAT),
    "sd21": ("sd21", "eps", ("clip_h",), SD15_FORMAT),
    "sd21-v": ("sd21-v", "v", ("clip_h",), SD15_FORMAT),
    "sdxl": ("sdxl", "eps", ("clip_l", "clip_g"), SDXL_FORMAT),
    "sdxl-refiner": ("sdxl-refiner", "eps", ("clip_g",), SDXL_FORMAT),
}


@pytest.mark.parametrize("family", list(EXPECTED))
def test_tiny_files_are_detected(tiny_checkpoints, family):
    path = tiny_checkpoints[family]
    sd = load_state_dict(path)
    assert detect_file_kind(sd) == "checkpoint"
    info = detect_model(sd, path)
    want_family, prediction, encoders, latent_format = EXPECTED[family]
    assert (info.family, info.prediction, info.text_encoders) == (want_family, prediction, encoders)
    assert info.latent_format is latent_format
    assert info.unet_config == UNetConfig.preset(family, "tiny")
    assert info.vae_config is not None and info.vae_config.ch == 32
    assert tuple(s.kind for s in info.text_encoder_sources) == encoders
    assert info.is_inpaint == (family == "sd15-inpaint")


@pytest.mark.parametrize("family", list(EXPECTED))
def test_full_size_layouts_are_detected_from_shapes_only(family):
    shapes = {k: torch.empty(v, device="meta") for k, v in checkpoint_shapes(family, "full").items()}
    info = detect_model(shapes)
    assert info.family == family
    assert info.unet_config == UNetConfig.preset(family, "full")


def _tensors(family):
    return dict(iter_checkpoint_tensors(family, "tiny", seed=0))


def test_comfyui_bias_std_rule_decides_sd2_v_without_marker_key():
    sd = _tensors("sd21-v")
    del sd["v_pred"]
    info = detect_model(sd)
    assert (info.family, info.prediction, info.prediction_source) == ("sd21-v", "v", "norm1.bias std")
    assert detect_model(_tensors("sd21")).prediction == "eps"


def test_bias_std_rule_applies_to_sd2_only():
    sd = _tensors("sd15")
    sd["model.diffusion_model.output_blocks.5.1.transformer_blocks.0.norm1.bias"] = torch.randn(64)
    assert detect_model(sd).prediction == "eps"


def test_override_wins(tiny_checkpoints):
    sd = load_state_dict(tiny_checkpoints["sd21-v"])
    info = detect_model(sd, tiny_checkpoints["sd21-v"], prediction_override="eps")
    assert (info.family, info.prediction, info.prediction_source) == ("sd21", "eps", "override")
    assert detect_model(_tensors("sd21"), prediction_override="v").family == "sd21-v"
    with pytest.raises(ValueError, match="prediction_override"):
        detect_model(sd, prediction_override="x0")


def test_sidecar_yaml_decides(tmp_path, tiny_checkpoints):
    import shutil

    path = tmp_path / "model.safetensors"
    shutil.copy(tiny_checkpoints["sd21"], path)
    path.with_suffix(".yaml").write_text("model:\n  params:\n    parameterization: \"v\"\n")
    info = detect_model(load_state_dict(path), path)
    assert (info.family, info.prediction_source) == ("sd21-v", "sidecar yaml")
    path.with_suffix(".yaml").write_text("model:\n  params:\n    linear_start: 0.00085\n")
    assert detect_model(load_state_dict(path), path).family == "sd21"
    path.with_suffix(".yaml").write_text("model: [unclosed\n")
    with pytest.raises(ModelDetectionError, match=r"model\.yaml: not a readable YAML"):
        detect_model(load_state_dict(path), path)


class _WithMetadata(dict):
    metadata = {"modelspec.prediction_type": "v"}


def test_safetensors_metadata_prediction_type():
    sd = _WithMetadata(_tensors("sd21"))
    assert detect_model(sd).prediction == "v"


def test_file_kinds(tmp_path):
    vae, lora = tmp_path / "vae.safetensors", tmp_path / "lora.safetensors"
    write_vae(vae, "tiny")
    write_lora(lora, "sd15", "tiny")
    assert detect_file_kind(load_state_dict(vae)) == "vae"
    assert detect_file_kind(load_state_dict(lora)) == "lora"
    unet = {k[len("model.diffusion_model."):]: v for k, v in _tensors("sd15").items() if k.startswith("model.diff")}
    assert detect_file_kind(unet) == "unet"
    assert detect_file_kind({"text_model.encoder.layers.0.mlp.fc1.weight": torch.zeros(1)}) == "text_encoder"
    assert detect_file_kind({"transformer.resblocks.0.ln_1.weight": torch.zeros(1)}) == "text_encoder"
    assert detect_file_kind({"emb_params": torch.zeros(2, 768)}) == "embedding"
    assert detect_file_kind({"clip_l": torch.zeros(2, 768), "clip_g": torch.zeros(2, 1280)}) == "embedding"
    assert detect_file_kind({"string_to_param": torch.zeros(1)}) == "embedding"
    assert detect_file_kind({"weird": torch.zeros(1)}) == "unknown"
    assert detect_file_kind({"lora_unet_x.lora_down.weight": torch.zeros(1)}) == "lora"


@pytest.mark.parametrize("kind, message", [("vae", "standalone VAE"), ("lora", "is a LoRA")])
def test_wrong_file_chosen_as_checkpoint(tmp_path, kind, message):
    path = tmp_path / f"my-{kind}.safetensors"
    if kind == "vae":
        write_vae(path, "tiny")
    else:
        write_lora(path, "sdxl", "tiny")
    with pytest.raises(ModelDetectionError, match=rf"my-{kind}\.safetensors: not a Stable Diffusion checkpoint.*{message}"):
        detect_model(load_state_dict(path), path)


def test_detection_error_is_a_checkpoint_error():
    assert issubclass(ModelDetectionError, CheckpointError)


def test_unknown_layout():
    with pytest.raises(ModelDetectionError, match="<state dict>: not a Stable Diffusion checkpoint: unknown layout"):
        detect_model({"foo.weight": torch.zeros(1)})


def test_unet_layout_that_is_not_a_unet():
    sd = {f"model.diffusion_model.thing{i}.weight": torch.zeros(1) for i in range(10)}
    with pytest.raises(ModelDetectionError, match="unknown UNet layout"):
        detect_model(sd, "x.safetensors")


def test_unsupported_input_channels():
    sd = _tensors("sd15")
    sd["model.diffusion_model.input_blocks.0.0.weight"] = torch.zeros(32, 8, 3, 3)
    with pytest.raises(ModelDetectionError, match="8 input channels"):
        detect_model(sd, "ip2p.safetensors")


def test_sd2_vector_conditioning_is_unclip_by_its_width():
    sd = _tensors("sd21")
    sd["model.diffusion_model.label_emb.0.0.weight"] = torch.zeros(128, 1536)
    info = detect_model(sd)
    assert info.family == "sd21-unclip-l" and info.clip_vision_source is None  # the width alone tells it
    sd["model.diffusion_model.label_emb.0.0.weight"] = torch.zeros(128, 1000)
    with pytest.raises(ModelDetectionError, match="vector conditioning of 1000"):
        detect_model(sd)
