"""T2I-Adapters: features equal diffusers' T2IAdapter on shared random weights (full, SDXL, light; weights
renamed from the diffusers layout), the features land after the right UNet blocks, the files written by
make-checkpoint load and are recognised, and bad files are refused naming the file."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from diffusers import T2IAdapter as DiffusersAdapter
from safetensors.torch import load_file, save_file

from diffusion.checkpoints.checkpoint import CheckpointError
from diffusion.checkpoints.weight_kinds import recognise
from diffusion.models.controlnet.load import describe_format, load_controlnet
from diffusion.models.controlnet.make_adapters import write_t2i_adapter
from diffusion.models.controlnet.t2i_adapter import (
    AdapterConfig,
    T2IAdapter,
    adapter_config_from_state_dict,
    adapter_residuals,
    diffusers_adapter_to_original,
)
from diffusion.models.unet.config import UNetConfig
from diffusion.models.unet.hooks import UNetHooks
from diffusion.models.unet.unet import UNetModel
from diffusion.sampling.control import AppliedControl, ControlModel, PreparedControl

CHANNELS = [32, 64, 128, 128]


@pytest.mark.parametrize(("adapter_type", "factor", "xl", "kind"), [
    ("full_adapter", 8, False, "full"), ("full_adapter_xl", 16, True, "full"), ("light_adapter", 8, False, "light")])
def test_features_equal_diffusers(adapter_type, factor, xl, kind, randomize):
    # diffusers' light adapter repeats its last level itself: 3 channels there make the same 4 levels
    channels = CHANNELS[:3] if kind == "light" else CHANNELS
    reference = randomize(DiffusersAdapter(in_channels=3, channels=channels, num_res_blocks=2, downscale_factor=factor,
                                           adapter_type=adapter_type), seed=5).eval()
    tensors = diffusers_adapter_to_original(reference.state_dict())
    config = adapter_config_from_state_dict(tensors)
    assert (config.kind, config.xl, config.channels, config.input_channels) == (kind, xl, tuple(CHANNELS), 3)
    ours = T2IAdapter(config).eval()
    ours.load_state_dict(tensors, strict=True)
    hint = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        want = reference(hint)
        got = ours.features(hint)
        placed = ours(hint)
    assert len(got) == len(want) == 4
    for a, b in zip(got, want, strict=True):
        assert b.abs().max() > 0.01
        assert (a - b).abs().max().item() <= 1e-4
    # in the UNet's pop order: the last entry goes after input block 0
    inputs = placed["input"][::-1]
    blocks = (3, 5, 8) if xl else (2, 5, 8, 11)
    assert [i for i, v in enumerate(inputs) if v is not None] == list(blocks)
    assert len(placed["middle"]) == (1 if xl else 0)
    assert torch.equal(inputs[blocks[0]], got[0])


def test_written_files_load_recognise_and_have_the_original_keys(tmp_path):
    path = tmp_path / "t2iadapter_test.safetensors"
    write_t2i_adapter(str(path), family="sd15", size="tiny", seed=1, dtype=torch.float32)
    sd = load_file(path)
    assert "conv_in.weight" in sd and "body.0.block1.weight" in sd and "body.2.in_conv.weight" in sd
    assert describe_format(sd) == "t2i-adapter"
    described = recognise(sd)
    assert described["kind"] == "t2i-adapter" and described["channels"] == CHANNELS
    loaded = load_controlnet(path)
    assert loaded.kind == "t2i-adapter" and loaded.group is None and loaded.network.unshuffle_amount == 8
    xl_path = tmp_path / "t2i_xl.safetensors"
    write_t2i_adapter(str(xl_path), family="sdxl", size="tiny", seed=1, dtype=torch.float16)
    xl = load_controlnet(xl_path)
    assert xl.group == "sdxl" and xl.network.unshuffle_amount == 16 and xl.network.config.input_channels == 3


def test_bad_adapter_files_name_the_file(tmp_path):
    path = tmp_path / "t2i.safetensors"
    write_t2i_adapter(str(path), family="sd15", size="tiny", seed=1, dtype=torch.float32)
    sd = load_file(path)
    broken = {k: v for k, v in sd.items() if not k.startswith("body.7.")}
    save_file(broken, tmp_path / "broken.safetensors")
    with pytest.raises(CheckpointError, match=r"broken\.safetensors: not a complete T2I-Adapter"):
        load_controlnet(tmp_path / "broken.safetensors")
    no_block = {k: v for k, v in sd.items() if k != "body.3.block2.weight"}
    save_file(no_block, tmp_path / "missing.safetensors")
    with pytest.raises(CheckpointError, match=r"missing\.safetensors: T2I-Adapter weights incomplete"):
        load_controlnet(tmp_path / "missing.safetensors")


def test_sdxl_features_fit_an_sdxl_layout_unet(tmp_path):
    """SDXL adapters add after input blocks 3, 5, 8 and the middle block of a UNet with 3 levels of 2 blocks."""
    config = dataclasses.replace(UNetConfig.preset("sdxl", "tiny"), channel_mult=(1, 2, 4), num_res_blocks=(2, 2, 2),
                                 transformer_depth=(0, 0, 1, 1, 0, 0), transformer_depth_output=(0,) * 9,
                                 transformer_depth_middle=0)
    torch.manual_seed(0)
    unet = UNetModel(config).eval()
    path = tmp_path / "t2i_xl.safetensors"
    write_t2i_adapter(str(path), family="sdxl", size="tiny", seed=1, dtype=torch.float32)
    adapter = load_controlnet(path).network
    gen = torch.Generator().manual_seed(2)
    x, hint = torch.randn(1, 4, 8, 8, generator=gen), torch.rand(1, 3, 64, 64, generator=gen)
    context, y = torch.randn(1, 3, config.context_dim, generator=gen), torch.randn(1, config.adm_in_channels)
    t = torch.tensor([400.0])
    with torch.no_grad():
        plain = unet(x, t, context=context, y=y)
        controlled = unet(x, t, context=context, y=y, hooks=UNetHooks(control=adapter(hint)))
    assert (controlled - plain).abs().max() > 1e-3


def test_one_channel_adapters_see_a_grey_hint():
    config = AdapterConfig("full", 64, tuple(CHANNELS), nums_rb=1, ksize=1)
    network = T2IAdapter(config).eval()
    prepared = PreparedControl(AppliedControl(ControlModel(network, "t2i-adapter", None, "t2i.pth"),
                                              torch.rand(1, 3, 64, 64)), None, 1e9, 0.0)
    x = torch.zeros(1, 4, 8, 8)
    hint = prepared.hint_for(x, 1)
    with torch.no_grad():
        got = adapter_residuals(network, x, hint, None, None, None, prepared)
        want = network(hint.mean(dim=1, keepdim=True))
    assert all(a is b is None or torch.equal(a, b) for a, b in zip(got["input"], want["input"], strict=True))


@pytest.mark.parametrize("config", [
    AdapterConfig("full", 192, (32, 64, 128, 128), 2, ksize=3, sk=False, use_conv=True),
    AdapterConfig("full", 64, (32, 64, 128, 128), 1, ksize=1),
    AdapterConfig("light", 192, (32, 64, 128, 128), 4)])
def test_config_is_read_back_from_the_shapes(config):
    network = T2IAdapter(config)
    assert adapter_config_from_state_dict(network.state_dict()) == config
    shapes = [None if v is None else tuple(v.shape) for v in network(torch.rand(1, config.input_channels, 64, 64))["input"]]
    assert shapes[::-1][2] == (1, 32, 8, 8) and shapes[::-1][11] == (1, 128, 1, 1)
