"""ControlLoRA: the ControlNet built from a model equals one whose weights are base + up @ down computed
here directly; it is built once per model and again for another; the file written by make-checkpoint is
recognised; files that do not fit the model, or are incomplete, are refused naming the file."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file

from diffusion.checkpoints.checkpoint import CheckpointError
from diffusion.checkpoints.weight_kinds import recognise
from diffusion.memory.patcher import ModelPatcher
from diffusion.models.controlnet.cldm import ControlNetModel, controlnet_config_from_state_dict
from diffusion.models.controlnet.load import load_controlnet
from diffusion.models.controlnet.make_adapters import write_control_lora
from diffusion.models.unet.config import UNetConfig
from diffusion.models.unet.unet import UNetModel


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    path = tmp_path_factory.mktemp("cl") / "control-lora-test.safetensors"
    write_control_lora(str(path), family="sd15", size="tiny", seed=2, dtype=torch.float32)
    torch.manual_seed(0)
    unet = UNetModel(UNetConfig.preset("sd15", "tiny")).eval()
    return path, load_file(path), unet


def _expected(file_sd, base):
    """The ControlNet weights computed directly: base weight + up.flatten(1) @ down.flatten(1), file tensors."""
    out = {}
    for key, value in base.items():
        out[key] = value.clone()
    for key, value in file_sd.items():
        if key.endswith(".up"):
            name = key[:-3]
            delta = value.flatten(1) @ file_sd[f"{name}.down"].flatten(1)
            out[f"{name}.weight"] = base[f"{name}.weight"] + delta.reshape(base[f"{name}.weight"].shape)
        elif not key.endswith(".down") and key != "lora_controlnet":
            out[key] = value
    return out


def test_built_controlnet_equals_base_plus_delta(setup):
    path, file_sd, unet = setup
    loaded = load_controlnet(path)
    assert loaded.kind == "control-lora" and loaded.network is None
    built = loaded.network_for(unet)
    want = _expected(file_sd, unet.state_dict())
    reference = ControlNetModel(controlnet_config_from_state_dict(want)).eval()
    reference.load_state_dict({k: want[k] for k in reference.state_dict()}, strict=True)
    gen = torch.Generator().manual_seed(3)
    x, hint = torch.randn(1, 4, 8, 8, generator=gen), torch.rand(1, 3, 64, 64, generator=gen)
    context = torch.randn(1, 5, 64, generator=gen)
    with torch.no_grad():
        got, expect = built(x, hint, torch.tensor([500.0]), context), reference(x, hint, torch.tensor([500.0]), context)
    for a, b in zip(got["output"] + got["middle"], expect["output"] + expect["middle"], strict=True):
        assert b.abs().max() > 1e-3
        assert torch.allclose(a, b, atol=1e-5, rtol=0)
    # the low-rank layers really differ from the base UNet's
    name = "input_blocks.1.0.in_layers.2.weight"
    assert not torch.allclose(built.state_dict()[name], unet.state_dict()[name])


def test_built_once_per_model_fingerprint(setup):
    path, _, unet = setup
    loaded = load_controlnet(path)
    handle = ModelPatcher(unet)
    first = loaded.network_for(handle)
    assert loaded.network_for(handle) is first
    assert loaded.network_for(handle.clone()) is first  # same weights, same fingerprint
    patched = handle.clone()
    name = "input_blocks.1.0.in_layers.2.weight"
    patched.add_patches({name: ("diff", (torch.ones_like(unet.state_dict()[name]),))}, 1.0, source="test")
    rebuilt = loaded.network_for(patched)
    assert rebuilt is not first
    delta = rebuilt.state_dict()[name] - first.state_dict()[name]
    assert torch.allclose(delta, torch.ones_like(delta), atol=1e-5)


def test_recognised_and_bad_files_refused(setup, tmp_path):
    path, file_sd, _ = setup
    described = recognise(file_sd)
    assert described["kind"] == "control-lora" and described["ranks"] == [4]
    with pytest.raises(CheckpointError, match=r"control-lora-test\.safetensors: .*made for another model"):
        load_controlnet(path).network_for(UNetModel(UNetConfig.preset("sdxl", "tiny")))
    half = {k: v for k, v in file_sd.items() if k != "input_blocks.1.0.in_layers.2.down"}
    save_file(half, tmp_path / "half.safetensors")
    with pytest.raises(CheckpointError, match=r"half\.safetensors: .*in_layers\.2 has only `up`"):
        load_controlnet(tmp_path / "half.safetensors").network_for(setup[2])
    no_hint = {k: v for k, v in file_sd.items() if not k.startswith("input_hint_block.")}
    save_file(no_hint, tmp_path / "nohint.safetensors")
    with pytest.raises(CheckpointError, match=r"nohint\.safetensors: a ControlLoRA without `input_hint_block"):
        load_controlnet(tmp_path / "nohint.safetensors")
