"""LoraSave: a model / text-encoder difference written as a LoRA that LoraLoader reads back into the difference."""

# The fixtures imported from sd_fixtures are used as test arguments (pytest's by-name injection).
# ruff: noqa: F811

from __future__ import annotations

import pytest
import torch

from diffusion.checkpoints.checkpoint import load_state_dict
from diffusion.models.lora.extract import extract_lora
from nodes.library.loaders.model_loaders import CheckpointLoaderSimple, LoraLoader
from nodes.library.model_merging.lora_extract import LoraSave
from nodes.library.model_merging.merge_nodes import CLIPMergeSubtract, ModelMergeSubtract
from tests.nodes.sd_fixtures import call, context, sd_runtime, tiny_files  # noqa: F401


@pytest.fixture(scope="module")
def other_sd15(tmp_path_factory):
    """A tiny SD1.5 checkpoint with other random weights (seed 8)."""
    from diffusion.checkpoints.make_checkpoint import write_checkpoint

    path = tmp_path_factory.mktemp("other_sd15") / "other.safetensors"
    write_checkpoint(path, "sd15", "tiny", seed=8, dtype=torch.float32)
    return path


def weights(patcher) -> dict[str, torch.Tensor]:
    with patcher.patched() as module:
        return {k: v.detach().clone() for k, v in module.named_parameters()}


def two_models(sd_runtime, other_sd15):
    (sd_runtime.folders.models_dir / "checkpoints" / "other.safetensors").symlink_to(other_sd15)
    ctx = context(sd_runtime)
    first = call(CheckpointLoaderSimple, ctx, ckpt_name="sd15.safetensors")
    second = call(CheckpointLoaderSimple, ctx, ckpt_name="other.safetensors")
    return ctx, first, second


def saved_lora(sd_runtime, name: str) -> str:
    """Link the output file `name` into models/loras (where LoraLoader looks) and return its lora_name."""
    path = sd_runtime.folders.output_dir / "loras" / name
    assert path.is_file(), sorted(p.name for p in path.parent.iterdir())
    (sd_runtime.folders.models_dir / "loras" / name).symlink_to(path)
    return name


def test_full_diff_lora_turns_model2_into_model1(sd_runtime, other_sd15):
    ctx, (m1, c1, _), (m2, c2, _) = two_models(sd_runtime, other_sd15)
    model_diff = call(ModelMergeSubtract, ctx, model1=m1, model2=m2, multiplier=1.0)[0]
    clip_diff = call(CLIPMergeSubtract, ctx, clip1=c1, clip2=c2, multiplier=1.0)[0]
    call(LoraSave, ctx, filename_prefix="loras/ComfyUI_extracted_lora", rank=8, lora_type="full_diff",
         bias_diff=True, model_diff=model_diff, text_encoder_diff=clip_diff)
    name = saved_lora(sd_runtime, "ComfyUI_extracted_lora_00001_.safetensors")
    model, clip = call(LoraLoader, ctx, model=m2, clip=c2, lora_name=name, strength_model=1.0, strength_clip=1.0)
    target, got = weights(m1), weights(model)
    for key in target:  # every weight and bias, stored in float16
        torch.testing.assert_close(got[key], target[key], rtol=0, atol=2e-3)
    for encoder in c1.encoders:
        one, patched = weights(c1.encoders[encoder]), weights(clip.encoders[encoder])
        for key in one:
            torch.testing.assert_close(patched[key], one[key], rtol=0, atol=2e-3)
    assert not m2.patches  # the input model is unchanged


def test_standard_lora_holds_comfyuis_svd_factors_and_loads_back(sd_runtime, other_sd15):
    ctx, (m1, _, _), (m2, _, _) = two_models(sd_runtime, other_sd15)
    model_diff = call(ModelMergeSubtract, ctx, model1=m1, model2=m2, multiplier=1.0)[0]
    call(LoraSave, ctx, filename_prefix="loras/extract", rank=4, lora_type="standard", bias_diff=False,
         model_diff=model_diff)
    name = saved_lora(sd_runtime, "extract_00001_.safetensors")
    state = dict(load_state_dict(sd_runtime.folders.models_dir / "loras" / name))
    one, two = weights(m1), weights(m2)
    key = "input_blocks.1.1.proj_in.weight"
    up, down = extract_lora(one[key] - two[key], 4)
    torch.testing.assert_close(state[f"diffusion_model.{key[:-7]}.lora_up.weight"].float(), up, rtol=1e-3, atol=1e-3)
    torch.testing.assert_close(state[f"diffusion_model.{key[:-7]}.lora_down.weight"].float(), down, rtol=1e-3,
                               atol=1e-3)
    assert not any(k.endswith((".diff", ".diff_b")) for k in state)  # without bias_diff: matrices only
    assert all(v.ndim >= 2 for v in state.values())
    model = call(LoraLoader, ctx, model=m2, clip=None, lora_name=name, strength_model=1.0, strength_clip=0.0)[0]
    got = weights(model)
    for stem in {k.rsplit(".lora_", 1)[0] for k in state}:
        param = stem.removeprefix("diffusion_model.") + ".weight"
        delta = (state[f"{stem}.lora_up.weight"].float().flatten(1) @ state[f"{stem}.lora_down.weight"].float()
                 .flatten(1)).reshape(two[param].shape)
        torch.testing.assert_close(got[param], two[param] + delta, rtol=1e-5, atol=1e-5)


def test_nothing_to_extract_writes_nothing_and_bad_input_is_refused(sd_runtime, other_sd15):
    ctx = context(sd_runtime)
    assert call(LoraSave, ctx, filename_prefix="loras/none", rank=8, lora_type="standard", bias_diff=True) == ()
    assert not (sd_runtime.folders.output_dir / "loras").exists()
    model = call(CheckpointLoaderSimple, ctx, ckpt_name="sd15.safetensors")[0]
    with pytest.raises(ValueError, match="LoraSave: input 'filename_prefix'"):
        call(LoraSave, ctx, filename_prefix="../outside", rank=8, lora_type="standard", bias_diff=True,
             model_diff=model)
    with pytest.raises(ValueError, match="input 'lora_type'"):
        call(LoraSave, ctx, filename_prefix="loras/x", rank=8, lora_type="lokr", bias_diff=True, model_diff=model)
