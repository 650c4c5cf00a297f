"""Checkpoint writer: exact layouts and parameter counts, determinism, VAE-only, LoRA, CLI."""

from __future__ import annotations

import math

import pytest
import torch

from app.cli import main as cli_main
from diffusion.checkpoints.checkpoint import load_state_dict
from diffusion.checkpoints.make_checkpoint import (
    checkpoint_shapes,
    iter_checkpoint_tensors,
    write_checkpoint,
    write_vae,
)
from diffusion.checkpoints.safetensors_writer import TensorSpec, write_safetensors_streaming
from diffusion.models.lora.make_lora import lora_shapes, write_lora
from diffusion.models.vae.vae import AutoencoderKL, vae_config_from_state_dict


def _count(shapes: dict, prefix: str) -> int:
    return sum(math.prod(v) for k, v in shapes.items() if k.startswith(prefix))


def test_full_sd15_has_the_exact_parameter_counts_without_allocating():
    shapes = checkpoint_shapes("sd15", "full")
    assert _count(shapes, "model.diffusion_model.") == 859_520_964
    assert _count(shapes, "first_stage_model.") == 83_653_863
    assert _count(shapes, "cond_stage_model.transformer.text_model.") == 123_060_480
    assert _count(shapes, "") == 859_520_964 + 83_653_863 + 123_060_480


@pytest.mark.parametrize(
    "family, present, absent",
    [
        ("sd15", ["cond_stage_model.transformer.text_model.encoder.layers.0.self_attn.q_proj.weight",
                  "model.diffusion_model.input_blocks.1.1.proj_in.weight"], ["conditioner.", "v_pred"]),
        ("sd21", ["cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight",
                  "cond_stage_model.model.text_projection", "cond_stage_model.model.logit_scale"],
         ["cond_stage_model.transformer.", "v_pred"]),
        ("sd21-v", ["v_pred", "cond_stage_model.model.ln_final.weight"], []),
        ("sdxl", ["conditioner.embedders.0.transformer.text_model.final_layer_norm.weight",
                  "conditioner.embedders.1.model.text_projection", "model.diffusion_model.label_emb.0.0.weight"],
         ["cond_stage_model."]),
        ("sdxl-refiner", ["conditioner.embedders.0.model.transformer.resblocks.0.ln_1.weight"],
         ["conditioner.embedders.1.", "conditioner.embedders.0.transformer."]),
    ],
)
def test_key_layout_per_family(family, present, absent):
    keys = set(checkpoint_shapes(family, "tiny"))
    for key in present:
        assert key in keys, key
    for prefix in absent:
        assert not any(k.startswith(prefix) for k in keys), prefix
    allowed = ("model.diffusion_model.", "first_stage_model.", "cond_stage_model.", "conditioner.embedders.", "v_pred")
    assert all(k.startswith(allowed) for k in keys)


def test_written_file_is_deterministic_and_typed(tmp_path):
    path = tmp_path / "a.safetensors"
    write_checkpoint(path, "sd15", "tiny", seed=3, dtype=torch.float16)
    sd = load_state_dict(path)
    expected = dict(iter_checkpoint_tensors("sd15", "tiny", seed=3, dtype=torch.float16))
    assert set(sd) == set(expected)
    for key in ("model.diffusion_model.input_blocks.0.0.weight", "first_stage_model.decoder.conv_out.weight",
                "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight"):
        assert sd[key].dtype == torch.float16
        assert torch.equal(sd[key], expected[key])
    assert torch.equal(sd["model.diffusion_model.out.0.weight"], torch.ones(32, dtype=torch.float16))
    other = dict(iter_checkpoint_tensors("sd15", "tiny", seed=4, dtype=torch.float16))
    assert not torch.equal(other["model.diffusion_model.input_blocks.0.0.weight"],
                           expected["model.diffusion_model.input_blocks.0.0.weight"])
    assert sd.metadata["latentgraph.family"] == "sd15"


def test_v_model_marks_the_comfyui_bias_rule():
    tensors = dict(iter_checkpoint_tensors("sd21-v", "tiny", seed=1))
    bias = tensors["model.diffusion_model.output_blocks.5.1.transformer_blocks.0.norm1.bias"]
    assert torch.std(bias, unbiased=False) > 0.09
    eps = dict(iter_checkpoint_tensors("sd21", "tiny", seed=1))
    assert eps["model.diffusion_model.output_blocks.5.1.transformer_blocks.0.norm1.bias"].abs().max() == 0


def test_vae_only_file_loads_into_the_vae(tmp_path):
    path = tmp_path / "vae.safetensors"
    write_vae(path, "tiny", seed=2, dtype=torch.float32)
    sd = load_state_dict(path)
    assert "encoder.conv_in.weight" in sd and not any(k.startswith("first_stage_model.") for k in sd)
    vae = AutoencoderKL(vae_config_from_state_dict(sd))
    vae.load_state_dict(dict(sd), strict=True)


def test_lora_keys_follow_kohya_and_fit_the_model(tmp_path):
    shapes = lora_shapes("sd15", "tiny", rank=4)
    assert shapes["lora_unet_input_blocks_1_1_proj_in.lora_down.weight"] == (4, 32, 1, 1)
    assert shapes["lora_unet_input_blocks_1_1_transformer_blocks_0_attn2_to_k.lora_down.weight"] == (4, 64)
    assert shapes["lora_unet_input_blocks_1_0_in_layers_2.lora_down.weight"] == (4, 32, 3, 3)
    assert shapes["lora_unet_input_blocks_1_0_in_layers_2.lora_up.weight"] == (32, 4, 1, 1)
    assert shapes["lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight"] == (64, 4)
    assert shapes["lora_te_text_model_encoder_layers_0_self_attn_q_proj.alpha"] == ()
    sdxl = lora_shapes("sdxl", "tiny")
    assert any(k.startswith("lora_te1_") for k in sdxl) and any(k.startswith("lora_te2_") for k in sdxl)
    path = tmp_path / "l.safetensors"
    write_lora(path, "sd15", "tiny", rank=4, dtype=torch.float32)
    sd = load_state_dict(path)
    assert sd["lora_te_text_model_encoder_layers_1_mlp_fc2.alpha"].item() == 2.0


def test_unknown_family_and_size_are_refused():
    with pytest.raises(ValueError, match="unknown family 'sd3'"):
        checkpoint_shapes("sd3", "tiny")
    with pytest.raises(ValueError, match="unknown size"):
        write_vae("/nonexistent/x.safetensors", "huge")
    with pytest.raises(ValueError, match="rank"):
        lora_shapes("sd15", "tiny", rank=0)


def test_streaming_writer_refuses_a_mismatch_and_leaves_nothing(tmp_path):
    path = tmp_path / "bad.safetensors"
    specs = [TensorSpec("a", (2,), torch.float32), TensorSpec("b", (3,), torch.float32)]
    with pytest.raises(ValueError, match="b: produced"):
        write_safetensors_streaming(path, specs, lambda spec: torch.zeros(2))
    assert list(tmp_path.iterdir()) == []


def test_streaming_writer_output_is_a_valid_safetensors_file(tmp_path):
    from safetensors.torch import load_file

    path = tmp_path / "ok.safetensors"
    specs = [TensorSpec("a", (2, 3), torch.bfloat16), TensorSpec("empty", (0,), torch.float32),
             TensorSpec("s", (), torch.float16)]
    values = {"a": torch.randn(2, 3).bfloat16(), "empty": torch.zeros(0), "s": torch.tensor(1.5).half()}
    write_safetensors_streaming(path, specs, lambda spec: values[spec.key], {"k": "v"})
    loaded = load_file(str(path))
    assert all(torch.equal(loaded[k], values[k]) for k in values)


def test_cli_writes_each_kind(tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    assert cli_main(["make-checkpoint", "--family", "sd15-inpaint", "--out", str(out), "--dtype", "fp32"]) == 0
    assert load_state_dict(out)["model.diffusion_model.input_blocks.0.0.weight"].shape[1] == 9
    assert cli_main(["make-checkpoint", "--family", "sd21", "--lora", "--out", str(tmp_path / "l.safetensors")]) == 0
    assert cli_main(["make-checkpoint", "--family", "sd15", "--vae-only", "--out", str(tmp_path / "v.safetensors")]) == 0
    assert "wrote" in capsys.readouterr().out


def test_cli_bad_arguments(tmp_path, capsys):
    assert cli_main(["make-checkpoint", "--family", "sd15", "--out", str(tmp_path / "m.ckpt")]) == 2
    assert "must end with .safetensors" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main(["make-checkpoint", "--family", "sd9", "--out", str(tmp_path / "m.safetensors")])
    with pytest.raises(SystemExit):
        cli_main(["make-checkpoint", "--family", "sd15", "--lora", "--vae-only", "--out", str(tmp_path / "x.safetensors")])
