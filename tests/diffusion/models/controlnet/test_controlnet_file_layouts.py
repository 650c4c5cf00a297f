"""ControlNet and T2I-Adapter files in the other layouts people have:

- `make-checkpoint --kind controlnet-diffusers` writes diffusers' ControlNetModel key names (the names a
  real diffusers ControlNetModel has), `inspect` recognises it, it loads, and it equals the original-layout
  file of the same seed; the key conversion round-trips;
- old TencentARC `.pth` adapters with the state dict nested under "adapter" (alone, or beside other
  entries) load through the weights-only reader and are recognised; a pickle carrying code is refused;
- `--kind sd15-full-layout` has SD1.5's UNet block layout, which the tiny adapter's features fit.
"""

from __future__ import annotations

import pickle

import pytest
import torch
from diffusers import ControlNetModel as DiffusersControlNet
from safetensors.torch import load_file

from diffusion.checkpoints.checkpoint import CheckpointError
from diffusion.checkpoints.summary import describe_model_file
from diffusion.checkpoints.weight_kinds import write_kind
from diffusion.models.controlnet.cldm import ControlNetModel
from diffusion.models.controlnet.convert import diffusers_controlnet_to_original, original_controlnet_to_diffusers
from diffusion.models.controlnet.load import load_controlnet
from diffusion.models.controlnet.make import controlnet_config
from diffusion.models.controlnet.make_adapter_base import full_layout_unet_config
from diffusion.models.unet.config import UNetConfig
from diffusion.models.unet.hooks import UNetHooks
from diffusion.models.unet.unet import UNetModel


def _write(tmp_path, kind, name, family="sd15", size="tiny", seed=2):
    path = tmp_path / name
    write_kind(kind, str(path), family=family, size=size, seed=seed, dtype=torch.float32)
    return path


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
def test_original_keys_round_trip_through_the_diffusers_layout(family):
    with torch.device("meta"):
        sd = ControlNetModel(controlnet_config(family, "tiny")).state_dict()
    renamed = original_controlnet_to_diffusers(sd)
    assert len(renamed) == len(sd) and "controlnet_cond_embedding.conv_in.weight" in renamed
    back = diffusers_controlnet_to_original(renamed)
    assert set(back) == set(sd)
    assert all(back[k].shape == sd[k].shape for k in sd)


def test_the_diffusers_names_are_those_of_a_real_diffusers_controlnet():
    # diffusers' defaults are SD1.5's ControlNet (its cross-attention default is 1280 wide, SD1.5's is 768)
    with torch.device("meta"):
        reference = DiffusersControlNet(cross_attention_dim=768).state_dict()
        ours = original_controlnet_to_diffusers(ControlNetModel(controlnet_config("sd15", "full")).state_dict())
    assert set(ours) == set(reference)
    assert all(tuple(ours[k].shape) == tuple(reference[k].shape) for k in ours)


def test_diffusers_controlnet_file_is_recognised_loads_and_equals_the_original_layout(tmp_path):
    diffusers_path = _write(tmp_path, "controlnet-diffusers", "diffusion_pytorch_model.safetensors")
    original_path = _write(tmp_path, "controlnet", "control_original.safetensors")
    assert "controlnet_down_blocks.0.weight" in load_file(diffusers_path)
    described = describe_model_file(diffusers_path)
    assert (described["kind"], described["family_guess"], described["layout"]) == \
        ("controlnet-diffusers", "sd15", "diffusers")
    loaded, original = load_controlnet(diffusers_path), load_controlnet(original_path)
    assert loaded.kind == "controlnet" and loaded.group == "sd1"
    want = original.network.state_dict()
    got = loaded.network.state_dict()
    assert set(got) == set(want)
    assert all(torch.equal(got[k], want[k]) for k in want)


def _adapter_tensors(tmp_path):
    return load_file(_write(tmp_path, "t2i-adapter", "t2iadapter_depth.safetensors", seed=5))


@pytest.mark.parametrize("extra", [{}, {"epoch": 3}], ids=["alone", "beside-other-entries"])
def test_pth_adapter_nested_under_adapter_loads_and_is_recognised(tmp_path, extra):
    tensors = _adapter_tensors(tmp_path)
    path = tmp_path / "t2iadapter_depth_sd14v1.pth"
    torch.save({"adapter": tensors, **extra}, path)
    described = describe_model_file(path)
    assert described["kind"] == "t2i-adapter" and described["channels"] == [32, 64, 128, 128]
    assert described["layout"] == ("nested" if extra else "original")
    loaded = load_controlnet(path)
    assert loaded.kind == "t2i-adapter"
    state = loaded.network.state_dict()
    assert all(torch.equal(state[k], tensors[k]) for k in tensors)


class _Payload:
    def __reduce__(self):
        return (print, ("code ran",))


def test_pth_adapter_carrying_code_is_refused(tmp_path):
    path = tmp_path / "t2iadapter_bad.pth"
    with open(path, "wb") as handle:
        pickle.dump({"adapter": {"conv_in.weight": torch.zeros(1)}, "x": _Payload()}, handle, protocol=2)
    with pytest.raises(CheckpointError, match=r"t2iadapter_bad\.pth.*refused to load"):
        load_controlnet(path)


def test_full_layout_checkpoint_fits_the_tiny_adapter(tmp_path):
    config = full_layout_unet_config("tiny")
    full = UNetConfig.preset("sd15", "full")
    assert (config.channel_mult, config.num_res_blocks) == (full.channel_mult, full.num_res_blocks)
    assert config.model_channels == 32 and full_layout_unet_config("full") == full
    adapter = load_controlnet(_write(tmp_path, "t2i-adapter", "t2iadapter.safetensors", seed=5))
    unet = UNetModel(config).eval()
    gen = torch.Generator().manual_seed(0)
    x, context = torch.randn(1, 4, 8, 8, generator=gen), torch.randn(1, 3, config.context_dim, generator=gen)
    t = torch.tensor([500.0])
    with torch.no_grad():
        control = adapter.network(torch.rand(1, 3, 64, 64, generator=gen))
        plain = unet(x, t, context=context)
        adapted = unet(x, t, context=context, hooks=UNetHooks(control=control))
    assert (adapted - plain).abs().max() > 1e-3
