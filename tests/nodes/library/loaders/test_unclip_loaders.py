"""unCLIPCheckpointLoader, ImageOnlyCheckpointLoader and ImageOnlyCheckpointSave on a tiny SD2.1 unCLIP-H
checkpoint; the unCLIP chain (CLIPVisionEncode -> unCLIPConditioning -> KSampler) and bad input."""

# The fixtures imported from sd_fixtures are used as test arguments (pytest's by-name injection).
# ruff: noqa: F811

from __future__ import annotations

import pytest
import torch

from diffusion.checkpoints.checkpoint import CheckpointError
from diffusion.checkpoints.make_checkpoint import iter_checkpoint_tensors
from diffusion.checkpoints.make_unclip import write_unclip_checkpoint
from diffusion.checkpoints.save_checkpoint import write_tensors
from diffusion.models.clip_vision.make_clip_vision import preset, random_tensors
from diffusion.models.clip_vision.openclip_layout import hf_to_openclip_visual
from nodes.library.conditioning.clip_text import CLIPTextEncode
from nodes.library.loaders.unclip_loaders import (
    ImageOnlyCheckpointLoader,
    ImageOnlyCheckpointSave,
    UnCLIPCheckpointLoader,
)
from nodes.library.sampling.ksampler import KSampler
from nodes.library.vision.clip_vision_nodes import CLIPVisionEncode, unCLIPConditioning
from tests.nodes.sd_fixtures import call, context, sd_runtime, tiny_files  # noqa: F401

UNCLIP = "sd21-unclip-h.safetensors"
SVD = "svd_xt.safetensors"


@pytest.fixture(scope="module")
def extra_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("unclip_files")
    write_unclip_checkpoint(folder / UNCLIP, "sd21-unclip-h", seed=2, dtype=torch.float32)
    # A stand-in for an SVD file: an SD2 checkpoint with temporal layers and SVD's CLIP vision prefix.
    svd = dict(iter_checkpoint_tensors("sd21", seed=1))
    svd["model.diffusion_model.input_blocks.1.0.time_stack.emb_layers.1.weight"] = torch.zeros(4, 4)
    tower = hf_to_openclip_visual(random_tensors(preset("vit-h", "tiny")))
    svd.update({"conditioner.embedders.0.open_clip.model.visual." + k: v for k, v in tower.items()})
    write_tensors(folder / SVD, svd)
    return folder


@pytest.fixture
def runtime(sd_runtime, extra_files):
    for name in (UNCLIP, SVD):
        (sd_runtime.folders.models_dir / "checkpoints" / name).symlink_to(extra_files / name)
    return sd_runtime


@pytest.fixture
def unclip(runtime):
    model, clip, vae, clip_vision = call(UnCLIPCheckpointLoader, context(runtime), ckpt_name=UNCLIP)
    ctx = context(runtime)
    positive = call(CLIPTextEncode, ctx, text="a lighthouse", clip=clip)[0]
    negative = call(CLIPTextEncode, ctx, text="", clip=clip)[0]
    return dict(ctx=ctx, model=model, clip=clip, vae=vae, clip_vision=clip_vision, positive=positive,
                negative=negative)


def image(seed: int) -> torch.Tensor:
    return torch.rand(1, 40, 56, 3, generator=torch.Generator().manual_seed(seed))


def sample(u, positive) -> torch.Tensor:
    (latent,) = call(KSampler, u["ctx"], model=u["model"], seed=11, steps=1, cfg=4.0, sampler_name="euler",
                     scheduler="normal", positive=positive, negative=u["negative"],
                     latent_image={"samples": torch.zeros(1, 4, 8, 8)}, denoise=1.0)
    return latent["samples"]


def encode(u, seed: int):
    return call(CLIPVisionEncode, u["ctx"], clip_vision=u["clip_vision"], image=image(seed), crop="center")[0]


def with_image(u, embeds, strength: float = 1.0, noise_augmentation: float = 0.0):
    return call(unCLIPConditioning, u["ctx"], conditioning=u["positive"], clip_vision_output=embeds,
                strength=strength, noise_augmentation=noise_augmentation)[0]


def test_the_loader_gives_the_four_outputs(unclip):
    assert unclip["model"].model_info.family == "sd21-unclip-h"
    assert unclip["clip"].family == "sd2"
    assert unclip["clip_vision"].config.projection_dim == 1024
    assert unclip["vae"] is not None


def test_the_image_embedding_steers_sampling(unclip):
    one, two = encode(unclip, 1), encode(unclip, 2)
    plain = sample(unclip, unclip["positive"])
    first = sample(unclip, with_image(unclip, one))
    assert not torch.allclose(first, plain)
    assert not torch.allclose(first, sample(unclip, with_image(unclip, two)))
    assert torch.equal(first, sample(unclip, with_image(unclip, one)))  # repeatable: the noise comes from the seed
    assert not torch.allclose(first, sample(unclip, with_image(unclip, one, noise_augmentation=0.6)))
    assert torch.equal(plain, sample(unclip, with_image(unclip, one, strength=0.0)))  # strength 0: no effect


def test_image_only_loader_and_save_round_trip(runtime, unclip):
    ctx = context(runtime)
    model, clip_vision, vae = call(ImageOnlyCheckpointLoader, ctx, ckpt_name=UNCLIP)
    assert model.model_info.family == "sd21-unclip-h" and clip_vision.config.kind == "vit-h"
    call(ImageOnlyCheckpointSave, ctx, model=model, clip_vision=clip_vision, vae=vae,
         filename_prefix="checkpoints/ComfyUI", prompt={"1": {}}, extra_pnginfo={"workflow": {}})
    (saved,) = (runtime.folders.output_dir / "checkpoints").glob("ComfyUI_00001_.safetensors")
    saved.rename(runtime.folders.models_dir / "checkpoints" / "resaved.safetensors")
    model2, clip_vision2, vae2 = call(ImageOnlyCheckpointLoader, ctx, ckpt_name="resaved.safetensors")
    picture = image(3)
    torch.testing.assert_close(clip_vision2.encode_image(picture).image_embeds,
                               clip_vision.encode_image(picture).image_embeds)
    for key, value in model.model.state_dict().items():
        assert torch.equal(model2.model.state_dict()[key], value), key
    assert model2.model_info.prediction == "v"
    _model, clip, _vae, _vision = call(UnCLIPCheckpointLoader, ctx, ckpt_name="resaved.safetensors")
    assert clip is None  # no text encoder was saved (ComfyUI's loader gives None too)


def test_video_checkpoints_are_refused(runtime):
    with pytest.raises(CheckpointError, match="video models are not supported"):
        call(ImageOnlyCheckpointLoader, context(runtime), ckpt_name=SVD)


@pytest.mark.parametrize("node", [UnCLIPCheckpointLoader, ImageOnlyCheckpointLoader])
def test_checkpoints_without_a_clip_vision_model_are_refused(runtime, node):
    with pytest.raises(ValueError, match=f"{node.node_id}: sd15.safetensors holds no CLIP vision model.*"
                                         "CLIPVisionLoader"):
        call(node, context(runtime), ckpt_name="sd15.safetensors")


def test_save_refuses_inputs_of_the_wrong_type(runtime, unclip):
    with pytest.raises(TypeError, match="input 'clip_vision' must be a CLIP_VISION"):
        call(ImageOnlyCheckpointSave, context(runtime), model=unclip["model"], clip_vision=unclip["clip"],
             vae=unclip["vae"], filename_prefix="checkpoints/x")
