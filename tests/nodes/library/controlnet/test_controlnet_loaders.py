"""ControlNetLoader and DiffControlNetLoader on files written here (a tiny SD1.5 ControlNet, and the same
stored as a difference from the tiny SD1.5 UNet), and ControlNetInpaintingAliMamaApply on SD ControlNets."""

# The fixtures imported from sd_fixtures are used as test arguments (pytest's by-name injection).
# ruff: noqa: F811

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file

from diffusion.checkpoints.checkpoint import CheckpointError
from diffusion.models.controlnet.make import write_controlnet
from nodes.library.controlnet.controlnet_apply import ControlNetApplyAdvanced, ControlNetInpaintingAliMamaApply
from nodes.library.controlnet.controlnet_loaders import ControlNetLoader, DiffControlNetLoader
from tests.nodes.sd_fixtures import call, context, sd_runtime, tiny_files, tiny_models  # noqa: F401


@pytest.fixture
def files(sd_runtime, tiny_models):
    """models/controlnet/{whole,diff}.safetensors: the same ControlNet, whole and as a difference."""
    folder = sd_runtime.folders.models_dir / "controlnet"
    folder.mkdir(parents=True, exist_ok=True)
    write_controlnet(str(folder / "whole.safetensors"), family="sd15", size="tiny", seed=3, dtype=torch.float32)
    whole = load_file(folder / "whole.safetensors")
    unet = tiny_models["sd15"].model.model.state_dict()
    shared = [k for k in whole if k in unet]
    assert len(shared) > 20  # the encoder copy: time_embed, input_blocks, middle_block
    diff = {f"control_model.{k}": (v - unet[k]) if k in unet else v for k, v in whole.items()}
    diff["difference"] = torch.tensor([])
    save_file(diff, folder / "diff.safetensors")
    return whole, shared


def _weights(control_net) -> dict:
    return control_net.network.state_dict()


def test_diff_loader_adds_the_models_weights(sd_runtime, tiny_models, files):
    whole, shared = files
    ctx = context(sd_runtime)
    (from_diff,) = call(DiffControlNetLoader, ctx, model=tiny_models["sd15"].model, control_net_name="diff.safetensors")
    weights = _weights(from_diff)
    for key in whole:
        assert torch.allclose(weights[key], whole[key], atol=1e-6), key
    assert from_diff.group == "sd1"


def test_diff_loader_loads_a_whole_controlnet_as_it_is(sd_runtime, tiny_models, files):
    whole, _ = files
    (loaded,) = call(DiffControlNetLoader, context(sd_runtime), model=tiny_models["sd15"].model,
                     control_net_name="whole.safetensors")
    assert all(torch.equal(_weights(loaded)[k], whole[k]) for k in whole)
    (plain,) = call(ControlNetLoader, context(sd_runtime), control_net_name="whole.safetensors")
    assert all(torch.equal(_weights(plain)[k], whole[k]) for k in whole)


def test_a_difference_file_needs_the_diff_loader(sd_runtime, files):
    with pytest.raises(CheckpointError, match="difference ControlNet.*DiffControlNetLoader"):
        call(ControlNetLoader, context(sd_runtime), control_net_name="diff.safetensors")


def test_a_difference_for_another_model_is_refused(sd_runtime, tiny_models, files):
    with pytest.raises(CheckpointError, match="made for another model"):
        call(DiffControlNetLoader, context(sd_runtime), model=tiny_models["sdxl"].model,
             control_net_name="diff.safetensors")
    with pytest.raises(TypeError, match="input 'model' must be a MODEL"):
        call(DiffControlNetLoader, context(sd_runtime), model="nope", control_net_name="diff.safetensors")


def test_alimama_inpainting_apply_on_an_sd_controlnet_is_apply_advanced(sd_runtime, files):
    (net,) = call(ControlNetLoader, context(sd_runtime), control_net_name="whole.safetensors")
    cond = [[torch.zeros(1, 77, 64), {}]]
    image = torch.rand(1, 32, 32, 3)
    common = {"positive": cond, "negative": cond, "control_net": net, "vae": None, "image": image,
              "strength": 0.6, "start_percent": 0.2, "end_percent": 0.8}
    pos, neg = ControlNetInpaintingAliMamaApply.run(None, mask=torch.ones(1, 32, 32), **common)
    ref_pos, _ = ControlNetApplyAdvanced.run(None, **common)
    got, want = pos[0][1]["control"], ref_pos[0][1]["control"]
    assert (got.strength, got.start_percent, got.end_percent) == (want.strength, want.start_percent, want.end_percent)
    assert torch.equal(got.hint, want.hint) and got.model is want.model
    assert neg[0][1]["control"] is got
