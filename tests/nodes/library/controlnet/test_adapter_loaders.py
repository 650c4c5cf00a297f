"""Load ControlNet Model on T2I-Adapter and ControlLoRA files written by make-checkpoint: both load; a
ControlLoRA applied with Apply ControlNet (Advanced) is built from the KSampler's model (its LoRA
patches included) and changes the result; at strength 0 the result is the plain one."""

# The fixtures imported from sd_fixtures are used as test arguments (pytest's by-name injection).
# ruff: noqa: F811

from __future__ import annotations

import pytest
import torch

from diffusion.models.controlnet.make_adapters import write_control_lora, write_t2i_adapter
from nodes.library.conditioning.clip_text import CLIPTextEncode
from nodes.library.controlnet.controlnet_apply import ControlNetApplyAdvanced
from nodes.library.controlnet.controlnet_loaders import ControlNetLoader
from nodes.library.sampling.ksampler import KSampler
from tests.nodes.sd_fixtures import call, context, sd_runtime, tiny_files, tiny_models  # noqa: F401


@pytest.fixture
def files(sd_runtime):
    folder = sd_runtime.folders.models_dir / "controlnet"
    folder.mkdir(parents=True, exist_ok=True)
    write_control_lora(str(folder / "control-lora-test.safetensors"), family="sd15", size="tiny", seed=3,
                       dtype=torch.float32)
    write_t2i_adapter(str(folder / "t2iadapter_test.safetensors"), family="sdxl", size="tiny", seed=3,
                      dtype=torch.float32)
    return folder


def _sample(ctx, model, pos, neg):
    return call(KSampler, ctx, model=model, seed=3, steps=2, cfg=4.0, sampler_name="euler", scheduler="normal",
                positive=pos, negative=neg, latent_image={"samples": torch.zeros(1, 4, 8, 8)},
                denoise=1.0)[0]["samples"]


def test_control_lora_through_the_nodes(sd_runtime, tiny_models, files):
    ctx = context(sd_runtime)
    sd15 = tiny_models["sd15"]
    (net,) = call(ControlNetLoader, ctx, control_net_name="control-lora-test.safetensors")
    assert net.kind == "control-lora" and net.network is None
    pos = call(CLIPTextEncode, ctx, text="a fox", clip=sd15.clip)[0]
    neg = call(CLIPTextEncode, ctx, text="", clip=sd15.clip)[0]
    image = torch.rand(1, 64, 64, 3, generator=torch.Generator().manual_seed(1))
    apply = {"positive": pos, "negative": neg, "control_net": net, "image": image, "start_percent": 0.0,
             "end_percent": 1.0, "vae": None}
    plain = _sample(ctx, sd15.model, pos, neg)
    zero = _sample(ctx, sd15.model, *call(ControlNetApplyAdvanced, ctx, strength=0.0, **apply))
    assert torch.equal(zero, plain)
    controlled = _sample(ctx, sd15.model, *call(ControlNetApplyAdvanced, ctx, strength=1.0, **apply))
    assert (controlled - plain).abs().max() > 1e-3
    assert len(net.built) == 1  # built once from this model, kept for the next run


def test_t2i_adapter_loads_through_the_loader(sd_runtime, files):
    (net,) = call(ControlNetLoader, context(sd_runtime), control_net_name="t2iadapter_test.safetensors")
    assert net.kind == "t2i-adapter" and net.group == "sdxl" and net.network.unshuffle_amount == 16
