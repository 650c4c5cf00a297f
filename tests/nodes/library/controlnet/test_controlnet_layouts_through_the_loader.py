"""Load ControlNet Model on a diffusers-layout ControlNet (make-checkpoint --kind controlnet-diffusers) and on
an old `.pth` T2I-Adapter nested under "adapter": both load; the diffusers one drives sampling exactly as the
original-layout file of the same seed does."""

# The fixtures imported from sd_fixtures are used as test arguments (pytest's by-name injection).
# ruff: noqa: F811

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from diffusion.checkpoints.weight_kinds import write_kind
from nodes.library.conditioning.clip_text import CLIPTextEncode
from nodes.library.controlnet.controlnet_apply import ControlNetApplyAdvanced
from nodes.library.controlnet.controlnet_loaders import ControlNetLoader
from nodes.library.sampling.ksampler import KSampler
from tests.nodes.sd_fixtures import call, context, sd_runtime, tiny_files, tiny_models  # noqa: F401


@pytest.fixture
def folder(sd_runtime):
    folder = sd_runtime.folders.models_dir / "controlnet"
    folder.mkdir(parents=True, exist_ok=True)
    for kind, name in (("controlnet-diffusers", "cn_diffusers.safetensors"), ("controlnet", "cn_original.safetensors"),
                       ("t2i-adapter", "t2i.safetensors")):
        write_kind(kind, str(folder / name), family="sd15", size="tiny", seed=4, dtype=torch.float32)
    torch.save({"adapter": load_file(folder / "t2i.safetensors"), "step": 1}, folder / "t2iadapter_old.pth")
    return folder


def _sample(ctx, model, pos, neg):
    return call(KSampler, ctx, model=model, seed=3, steps=2, cfg=4.0, sampler_name="euler", scheduler="normal",
                positive=pos, negative=neg, latent_image={"samples": torch.zeros(1, 4, 8, 8)},
                denoise=1.0)[0]["samples"]


def test_diffusers_controlnet_samples_like_the_original_layout(sd_runtime, tiny_models, folder):
    ctx = context(sd_runtime)
    sd15 = tiny_models["sd15"]
    pos = call(CLIPTextEncode, ctx, text="a fox", clip=sd15.clip)[0]
    neg = call(CLIPTextEncode, ctx, text="", clip=sd15.clip)[0]
    image = torch.rand(1, 64, 64, 3, generator=torch.Generator().manual_seed(1))
    results = []
    for name in ("cn_diffusers.safetensors", "cn_original.safetensors"):
        (net,) = call(ControlNetLoader, ctx, control_net_name=name)
        assert net.kind == "controlnet" and net.group == "sd1"
        applied = call(ControlNetApplyAdvanced, ctx, positive=pos, negative=neg, control_net=net, image=image,
                       strength=1.0, start_percent=0.0, end_percent=1.0, vae=None)
        results.append(_sample(ctx, sd15.model, *applied))
    assert torch.equal(results[0], results[1])
    assert (results[0] - _sample(ctx, sd15.model, pos, neg)).abs().max() > 1e-3


def test_old_pth_adapter_loads_through_the_loader(sd_runtime, folder):
    (net,) = call(ControlNetLoader, context(sd_runtime), control_net_name="t2iadapter_old.pth")
    assert net.kind == "t2i-adapter" and net.network.config.channels == (32, 64, 128, 128)
