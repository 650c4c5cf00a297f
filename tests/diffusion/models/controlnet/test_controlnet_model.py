"""ControlNet model: parity with diffusers' ControlNetModel (weights converted from the diffusers layout),
config read from shapes, and file errors that name the file."""

from __future__ import annotations

import pytest
import torch
from diffusers import ControlNetModel as DiffusersControlNet

from diffusion.checkpoints.checkpoint import CheckpointError
from diffusion.models.controlnet.cldm import ControlNetConfig, ControlNetModel, controlnet_config_from_state_dict
from diffusion.models.controlnet.convert import diffusers_controlnet_to_original
from diffusion.models.controlnet.load import controlnet_from_state_dict, load_controlnet
from diffusion.models.unet.config import UNetConfig


def _reference(family: str) -> DiffusersControlNet:
    cfg = UNetConfig.preset(family, "tiny")
    depths = [cfg.transformer_depth[0], cfg.transformer_depth[1], cfg.transformer_depth[2]]
    channels = [cfg.model_channels * m for m in cfg.channel_mult]
    return DiffusersControlNet(
        in_channels=cfg.in_channels, block_out_channels=channels, layers_per_block=1,
        down_block_types=["CrossAttnDownBlock2D" if d else "DownBlock2D" for d in depths],
        cross_attention_dim=cfg.context_dim, attention_head_dim=[cfg.heads_for(c)[0] for c in channels],
        use_linear_projection=cfg.use_linear_in_transformer,
        conditioning_embedding_out_channels=(16, 32, 96, 256)).eval()


@pytest.mark.parametrize("family", ["sd15", "sd21"])
def test_parity_with_diffusers(family, randomize):
    reference = randomize(_reference(family), seed=3)
    tensors = diffusers_controlnet_to_original(reference.state_dict())
    config = controlnet_config_from_state_dict(tensors)
    ours = ControlNetModel(config).eval()
    ours.load_state_dict(tensors, strict=True)
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(2, 4, 8, 8, generator=gen)
    hint = torch.rand(2, 3, 64, 64, generator=gen)
    t = torch.tensor([10.0, 731.0])
    context = torch.randn(2, 5, config.unet.context_dim, generator=gen)
    with torch.no_grad():
        got = ours(x, hint, t, context)
        down, mid = reference(x, t, encoder_hidden_states=context, controlnet_cond=hint, return_dict=False)
    assert len(got["output"]) == len(down) == 6
    for a, b in zip(got["output"], down, strict=True):
        assert b.abs().max() > 0.01
        assert (a - b).abs().max().item() <= 1e-4
    assert (got["middle"][0] - mid).abs().max().item() <= 1e-4


def test_config_from_shapes_and_prefixed_file_loads():
    cfg = ControlNetConfig(UNetConfig.preset("sd15", "tiny"), (3, 16, 16, 32, 32, 96, 96, 256, 32))
    model = ControlNetModel(cfg)
    sd = {"control_model." + k: v for k, v in model.state_dict().items()}
    loaded = controlnet_from_state_dict(sd, "control_tiny.pth")
    assert loaded.group == "sd1" and loaded.kind == "controlnet"
    assert loaded.network.config.hint_channels == cfg.hint_channels
    assert loaded.network.config.hint_strides == (1, 1, 2, 1, 2, 1, 2, 1)


def test_unknown_and_truncated_files_name_the_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"odd\.pth: not a ControlNet.*zero_convs"):
        controlnet_from_state_dict({"foo.weight": torch.zeros(1)}, "odd.pth")
    cfg = ControlNetConfig(UNetConfig.preset("sd15", "tiny"), (3, 16, 32))
    sd = ControlNetModel(cfg).state_dict()
    del sd["zero_convs.3.0.weight"]
    with pytest.raises(CheckpointError, match="cut.safetensors: ControlNet weights incomplete"):
        controlnet_from_state_dict(sd, "cut.safetensors")


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    path = tmp_path / "control_evil.pth"
    torch.save({"zero_convs.0.0.weight": torch.zeros(1), "x": _Evil()}, path)
    with pytest.raises(CheckpointError, match="control_evil.pth: refused to load"):
        load_controlnet(path)


@pytest.mark.parametrize("family, group", [("sd15", "sd1"), ("sdxl", "sdxl")])
def test_make_checkpoint_writes_a_file_that_loads_and_is_recognised(tmp_path, family, group):
    from diffusion.checkpoints.checkpoint import load_state_dict
    from diffusion.checkpoints.weight_kinds import recognise, write_kind

    path = tmp_path / "control_tiny.safetensors"
    write_kind("controlnet", str(path), family=family, size="tiny", seed=0, dtype=torch.float16)
    loaded = load_controlnet(path, dtype=torch.float32)
    assert loaded.group == group and loaded.network.dtype == torch.float32
    described = recognise(load_state_dict(path))
    assert described["kind"] == "controlnet" and described["family_guess"] == family
