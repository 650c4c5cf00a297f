"""The merge example bakes half a LoRA into a checkpoint with CheckpointSave; that file then loads and samples."""

import shutil

import pytest
from safetensors.torch import load_file

from tests.workflows.test_workflows import OVERRIDES, WORKFLOWS, run_workflow


@pytest.mark.slow
def test_the_saved_merge_loads_again_and_samples(workflow_base, tmp_path):
    out = tmp_path / "out"
    result = run_workflow(WORKFLOWS / "model_merge_save_api.json", workflow_base, out, OVERRIDES["model_merge_save"])
    assert result.returncode == 0, result.stderr[-3000:]
    saved = out / "checkpoints" / "lora_baked_00001_.safetensors"
    assert saved.is_file()
    baked, original = load_file(saved), load_file(workflow_base / "models" / "checkpoints" / "sd15.safetensors")
    assert set(baked) >= {k for k in original if k.startswith("model.diffusion_model.")}
    assert any(not (baked[k] == original[k]).all() for k in original if k.startswith("model.diffusion_model."))
    # A new base whose only checkpoint is the baked one: txt2img runs on it.
    base = tmp_path / "base"
    (base / "models" / "checkpoints").mkdir(parents=True)
    shutil.copy(saved, base / "models" / "checkpoints" / "baked.safetensors")
    again = run_workflow(WORKFLOWS / "txt2img_sd15_api.json", base, tmp_path / "again",
                         [*OVERRIDES["txt2img_sd15"], "4.ckpt_name=baked.safetensors"])
    assert again.returncode == 0, again.stderr[-3000:]
    assert list((tmp_path / "again").glob("*.png"))
