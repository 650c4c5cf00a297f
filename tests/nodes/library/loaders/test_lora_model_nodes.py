"""LoraModelLoader and SaveLoRA (LORA_MODEL dicts): patched weights, the file round trip, naming, bad input."""

# The fixtures imported from sd_fixtures are used as test arguments (pytest's by-name injection).
# ruff: noqa: F811

from __future__ import annotations

import pytest
import torch

from nodes.library.loaders.lora_model import LoraModelLoader, SaveLoRA
from nodes.library.loaders.model_loaders import CheckpointLoaderSimple, LoraLoaderModelOnly
from tests.nodes.sd_fixtures import call, context, sd_runtime, tiny_files  # noqa: F401


def weights(patcher) -> dict[str, torch.Tensor]:
    with patcher.patched() as module:
        return {k: v.detach().clone() for k, v in module.named_parameters()}


def trained_lora(model) -> dict[str, torch.Tensor]:
    """A LORA_MODEL as ComfyUI's trainer makes it: a rank-2 pair, a whole-weight diff and a bias diff."""
    g = torch.Generator().manual_seed(5)
    proj = model.model.get_parameter("input_blocks.1.1.proj_in.weight")
    bias = model.model.get_parameter("out.2.bias")
    norm = model.model.get_parameter("out.0.weight")
    return {
        "diffusion_model.input_blocks.1.1.proj_in.lora_up.weight": torch.randn(proj.shape[0], 2, generator=g),
        "diffusion_model.input_blocks.1.1.proj_in.lora_down.weight": torch.randn(2, proj.shape[1], generator=g),
        "diffusion_model.out.2.diff_b": torch.randn(bias.shape, generator=g),
        "diffusion_model.out.0.diff": torch.randn(norm.shape, generator=g),
    }


def test_lora_model_loader_patches_a_clone_at_the_strength(sd_runtime):
    ctx = context(sd_runtime)
    model = call(CheckpointLoaderSimple, ctx, ckpt_name="sd15.safetensors")[0]
    lora = trained_lora(model)
    before = weights(model)
    (patched,) = call(LoraModelLoader, ctx, model=model, lora=lora, strength_model=-0.5)
    got = weights(patched)
    up = lora["diffusion_model.input_blocks.1.1.proj_in.lora_up.weight"]
    down = lora["diffusion_model.input_blocks.1.1.proj_in.lora_down.weight"]
    proj = "input_blocks.1.1.proj_in.weight"
    torch.testing.assert_close(got[proj], before[proj] - 0.5 * (up @ down).reshape(before[proj].shape))
    torch.testing.assert_close(got["out.2.bias"], before["out.2.bias"] - 0.5 * lora["diffusion_model.out.2.diff_b"])
    torch.testing.assert_close(got["out.0.weight"], before["out.0.weight"] - 0.5 * lora["diffusion_model.out.0.diff"])
    untouched = [k for k in before if k not in (proj, "out.2.bias", "out.0.weight")]
    assert all(torch.equal(got[k], before[k]) for k in untouched)
    assert not model.patches and all(torch.equal(v, before[k]) for k, v in weights(model).items())
    assert call(LoraModelLoader, ctx, model=model, lora=lora, strength_model=0.0)[0] is model


def test_different_lora_values_give_different_model_fingerprints(sd_runtime):
    ctx = context(sd_runtime)
    model = call(CheckpointLoaderSimple, ctx, ckpt_name="sd15.safetensors")[0]
    lora = trained_lora(model)
    other = {k: v * 2 for k, v in lora.items()}  # same names and shapes, other values
    one = call(LoraModelLoader, ctx, model=model, lora=lora, strength_model=1.0)[0]
    two = call(LoraModelLoader, ctx, model=model, lora=other, strength_model=1.0)[0]
    again = call(LoraModelLoader, ctx, model=model, lora=dict(lora), strength_model=1.0)[0]
    assert one.fingerprint() != two.fingerprint() and one.fingerprint() == again.fingerprint()


def test_save_lora_round_trip_gives_the_same_patched_weights(sd_runtime):
    ctx = context(sd_runtime)
    model = call(CheckpointLoaderSimple, ctx, ckpt_name="sd15.safetensors")[0]
    lora = trained_lora(model)
    assert call(SaveLoRA, ctx, lora=lora, prefix="loras/ComfyUI_trained_lora", steps=10) == ()
    assert call(SaveLoRA, ctx, lora=lora, prefix="loras/ComfyUI_trained_lora") == ()
    out = sd_runtime.folders.output_dir / "loras"
    names = sorted(p.name for p in out.iterdir())
    # ComfyUI's names: the steps before the counter (whose digits also count as a counter, as in ComfyUI)
    assert names == ["ComfyUI_trained_lora_00011_.safetensors", "ComfyUI_trained_lora_10_steps_00001_.safetensors"]
    name = "ComfyUI_trained_lora_10_steps_00001_.safetensors"
    (sd_runtime.folders.models_dir / "loras" / name).symlink_to(out / name)
    from_file = call(LoraLoaderModelOnly, ctx, model=model, lora_name=name, strength_model=0.7)[0]
    from_dict = call(LoraModelLoader, ctx, model=model, lora=lora, strength_model=0.7)[0]
    a, b = weights(from_file), weights(from_dict)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], v) for k, v in weights(model).items())


@pytest.mark.parametrize("bad", [None, {}, {"x": 1.0}, [torch.ones(1)]])
def test_a_lora_that_is_not_a_dict_of_tensors_is_refused(sd_runtime, bad):
    ctx = context(sd_runtime)
    model = call(CheckpointLoaderSimple, ctx, ckpt_name="sd15.safetensors")[0]
    with pytest.raises(ValueError, match="input 'lora'"):
        call(LoraModelLoader, ctx, model=model, lora=bad, strength_model=1.0)
    with pytest.raises(ValueError, match="SaveLoRA: input 'lora'"):
        call(SaveLoRA, ctx, lora=bad, prefix="loras/x")


def test_a_lora_for_another_model_and_a_bad_prefix_are_refused(sd_runtime):
    ctx = context(sd_runtime)
    model = call(CheckpointLoaderSimple, ctx, ckpt_name="sd15.safetensors")[0]
    with pytest.raises(ValueError, match="LoraModelLoader: none of the LoRA's 1 modules fit"):
        call(LoraModelLoader, ctx, model=model, lora={"diffusion_model.nothing.diff": torch.ones(2)},
             strength_model=1.0)
    assert SaveLoRA.validate(ctx, prefix="../up") != True  # noqa: E712 (validate returns True or an error)
    with pytest.raises(ValueError, match="SaveLoRA: input 'prefix'"):
        call(SaveLoRA, ctx, lora=trained_lora(model), prefix="../up")
