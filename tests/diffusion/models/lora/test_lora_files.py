"""LoRA files written by `make_lora` applied to checkpoints loaded by `loader`: every key lands."""

from __future__ import annotations

import pytest
import torch

from diffusion.checkpoints.checkpoint import load_state_dict
from diffusion.models.lora.lora import LoraMismatchError, apply_lora

FAMILIES = ["sd15", "sd21", "sdxl", "sdxl-refiner"]


@pytest.mark.parametrize("family", FAMILIES)
def test_generated_lora_patches_every_module(family, tiny_checkpoints, tmp_path):
    from diffusion.checkpoints.loader import load_checkpoint
    from diffusion.models.lora.make_lora import write_lora

    loaded = load_checkpoint(tiny_checkpoints[family])
    lora_path = tmp_path / f"{family}-lora.safetensors"
    write_lora(lora_path, family, "tiny", dtype=torch.float32)
    lora = load_state_dict(lora_path)
    modules = {key.rsplit(".", 2)[0] for key in lora if key.endswith(".lora_up.weight")}
    model, clip, report = apply_lora(loaded.model, loaded.clip, lora, 0.8, 0.6, source=str(lora_path))
    assert report.not_loaded == 0, (report.unmatched, report.mismatched, report.unsupported)
    assert len(report.model_keys) + len(report.clip_keys) == len(modules)
    assert report.clip_keys and report.model_keys
    # the loaded base is untouched and encoding differs only through the patched clone
    base_cond, _ = loaded.clip.encode("a cat")
    patched_cond, _ = clip.encode("a cat")
    assert not torch.allclose(base_cond, patched_cond)
    assert torch.equal(loaded.clip.encode("a cat")[0], base_cond)
    assert loaded.model.patches == {} and model.model is loaded.model.model


def test_sd15_lora_on_sdxl_is_a_clear_error(tiny_checkpoints, tmp_path):
    from diffusion.checkpoints.loader import load_checkpoint
    from diffusion.models.lora.make_lora import write_lora

    loaded = load_checkpoint(tiny_checkpoints["sdxl"])
    write_lora(tmp_path / "sd15.safetensors", "sd15", "tiny", dtype=torch.float32)
    lora = load_state_dict(tmp_path / "sd15.safetensors")
    # tiny SD1.5 and SDXL share some module names and shapes: part fits, most does not
    _, _, report = apply_lora(loaded.model, loaded.clip, lora, 1.0, 1.0)
    assert report.looks_foreign and "another model family" in report.summary()
    assert report.mismatched and report.unmatched


def test_sdxl_clip_g_lora_on_sd15_is_refused(tiny_checkpoints, tmp_path):
    from diffusion.checkpoints.loader import load_checkpoint
    from diffusion.models.lora.make_lora import write_lora

    loaded = load_checkpoint(tiny_checkpoints["sd15"])
    write_lora(tmp_path / "xl.safetensors", "sdxl", "tiny", dtype=torch.float32)
    lora = {k: v for k, v in load_state_dict(tmp_path / "xl.safetensors").items() if k.startswith("lora_te2_")}
    with pytest.raises(LoraMismatchError, match="another model family"):
        apply_lora(None, loaded.clip, lora, 1.0, 1.0)
