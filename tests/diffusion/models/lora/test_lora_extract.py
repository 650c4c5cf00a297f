"""LoRA extraction by truncated SVD (ComfyUI's LoraSave), its key layout, and the `.diff`/`.diff_b` keys it writes."""

from __future__ import annotations

import math

import pytest
import torch

from diffusion.memory.patcher import ModelPatcher, lora_delta
from diffusion.models.lora.extract import extract_lora, lora_state_dict
from diffusion.models.lora.lora import apply_lora, read_lora
from diffusion.models.text.clip_text import TextEncoderConfig, build_text_encoder
from diffusion.models.text.text_encode import CLIPHandle
from diffusion.models.unet.config import UNetConfig
from diffusion.models.unet.unet import UNetModel


def orthonormal(rows: int, cols: int, seed: int) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(rows, cols, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return q


def hand_built(singular_values: list[float], out_dim: int = 7, in_dim: int = 6):
    """diff = Q1 diag(s) Q2ᵀ with known singular values, and the factors it is made of."""
    s = torch.tensor(singular_values, dtype=torch.float64)
    q1, q2 = orthonormal(out_dim, len(s), 1), orthonormal(in_dim, len(s), 2)
    return (q1 * s) @ q2.T, q1, s, q2


def test_full_rank_reproduces_the_difference_exactly():
    diff = torch.randn(7, 5, generator=torch.Generator().manual_seed(0))
    up, down = extract_lora(diff, rank=64, clamp_quantile=None)  # rank is capped at min(out, in) = 5
    assert up.shape == (7, 5) and down.shape == (5, 5)
    torch.testing.assert_close(up @ down, diff, rtol=0, atol=1e-5)


def test_low_rank_is_the_best_rank_r_approximation():
    diff, q1, s, q2 = hand_built([5.0, 3.0, 2.0, 1.0, 0.5])
    up, down = extract_lora(diff.float(), rank=2, clamp_quantile=None)
    best = ((q1[:, :2] * s[:2]) @ q2[:, :2].T).float()
    torch.testing.assert_close(up @ down, best, rtol=0, atol=1e-5)
    # Eckart–Young: the error is the norm of the dropped singular values
    assert math.isclose(float(torch.linalg.norm(diff.float() - up @ down)), math.sqrt(2**2 + 1 + 0.25), rel_tol=1e-5)


def test_convolutions_come_back_as_locon_factors():
    diff = torch.randn(3, 4, 3, 3, generator=torch.Generator().manual_seed(1))
    up, down = extract_lora(diff, rank=64, clamp_quantile=None)
    assert up.shape == (3, 3, 1, 1) and down.shape == (3, 4, 3, 3)
    torch.testing.assert_close(lora_delta(up, down, None, None, diff.shape), diff, rtol=0, atol=1e-5)
    # as ComfyUI, the rank is capped by the channel counts, not by in·k·k
    wide, _ = extract_lora(torch.randn(5, 2, 3, 3), rank=64, clamp_quantile=None)
    assert wide.shape == (5, 2, 1, 1)
    up1, down1 = extract_lora(torch.randn(4, 3, 1, 1), rank=2, clamp_quantile=None)
    assert up1.shape == (4, 2, 1, 1) and down1.shape == (2, 3, 1, 1)


def test_factors_are_clamped_at_the_quantile_as_comfyui():
    diff = torch.randn(8, 6, generator=torch.Generator().manual_seed(2))
    raw_up, raw_down = extract_lora(diff, rank=3, clamp_quantile=None)
    up, down = extract_lora(diff, rank=3)
    everything = torch.cat([raw_up.flatten(), raw_down.flatten()])
    high = float(torch.quantile(everything, 0.99))
    torch.testing.assert_close(up, raw_up.clamp(-high, high))
    torch.testing.assert_close(down, raw_down.clamp(-high, high))
    assert float(everything.abs().max()) > high  # the clamp did cut something here


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="2-D or 4-D"):
        extract_lora(torch.ones(5), 2)
    with pytest.raises(ValueError, match="rank must be at least 1"):
        extract_lora(torch.ones(3, 3), 0)
    with pytest.raises(ValueError, match="unknown lora_type 'half'"):
        lora_state_dict({"a.weight": torch.ones(2, 2)}, 2, "half", True, prefix="")


def test_state_dict_keys_follow_comfyui():
    diffs = {"conv.weight": torch.randn(4, 3, 3, 3), "conv.bias": torch.randn(4), "norm.weight": torch.randn(4)}
    standard = lora_state_dict(diffs, 2, "standard", True, prefix="diffusion_model.")
    assert set(standard) == {"diffusion_model.conv.lora_up.weight", "diffusion_model.conv.lora_down.weight",
                             "diffusion_model.conv.diff_b", "diffusion_model.norm.diff"}
    assert all(t.dtype == torch.float16 for t in standard.values())
    assert set(lora_state_dict(diffs, 2, "standard", False, prefix="")) == {"conv.lora_up.weight",
                                                                            "conv.lora_down.weight"}
    full = lora_state_dict(diffs, 2, "full_diff", False, prefix="")
    assert set(full) == {"conv.diff", "norm.diff"}
    torch.testing.assert_close(full["conv.diff"].float(), diffs["conv.weight"], rtol=1e-3, atol=1e-3)


def _unet():
    torch.manual_seed(0)
    return ModelPatcher(UNetModel(UNetConfig.preset("sd15", "tiny")), model_info={"family": "sd15"})


def test_diff_and_diff_b_keys_patch_weight_and_bias():
    model = _unet()
    weight, bias = model.model.get_parameter("out.2.weight"), model.model.get_parameter("out.2.bias")
    norm = model.model.get_parameter("out.0.weight")
    lora = {"diffusion_model.out.2.diff": torch.full_like(weight, 0.25),
            "diffusion_model.out.2.diff_b": torch.arange(bias.numel(), dtype=torch.float32),
            "diffusion_model.out.0.diff": torch.ones_like(norm)}
    patched, _, report = apply_lora(model, None, lora, 2.0, 0.0)
    got = patched.patched_weights()
    torch.testing.assert_close(got["out.2.weight"], weight + 0.5)
    torch.testing.assert_close(got["out.2.bias"], bias + 2.0 * torch.arange(bias.numel(), dtype=torch.float32))
    torch.testing.assert_close(got["out.0.weight"], norm + 2.0)
    assert report.not_loaded == 0 and not model.patches


def test_diff_of_the_wrong_shape_is_reported_not_applied():
    model = _unet()
    lora = {"diffusion_model.out.2.diff": torch.ones(3, 3), "diffusion_model.out.0.diff": torch.ones(1)}
    modules, unsupported = read_lora(lora)
    assert set(modules) == {"diffusion_model.out.2", "diffusion_model.out.0"} and not unsupported
    with pytest.raises(ValueError, match="none of the LoRA's 2 modules fit"):
        apply_lora(model, None, lora, 1.0, 0.0)


def test_comfyui_text_encoder_names_patch_the_clip():
    torch.manual_seed(1)
    clip = CLIPHandle("sd1", {"l": ModelPatcher(build_text_encoder(TextEncoderConfig.preset("clip_l", "tiny")))})
    name = "text_model.encoder.layers.0.mlp.fc1.weight"
    base = clip.encoders["l"].model.get_parameter(name)
    lora = {"text_encoders.clip_l.transformer.text_model.encoder.layers.0.mlp.fc1.diff": torch.ones_like(base)}
    _, patched, report = apply_lora(None, clip, lora, 0.0, 0.5)
    torch.testing.assert_close(patched.encoders["l"].patched_weights()[name], base + 0.5)
    assert report.clip_keys == {f"l:{name}"}
