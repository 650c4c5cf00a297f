"""InpaintModelConditioning feeding KSampler on a tiny SD1.5 inpainting checkpoint: the sampler reads the image
latent it sets, and the noise mask keeps the unmasked latent exactly."""

# The fixtures imported from sd_fixtures are used as test arguments (pytest's by-name injection).
# ruff: noqa: F811

from __future__ import annotations

import pytest
import torch

from diffusion.checkpoints.loader import load_checkpoint
from diffusion.checkpoints.make_checkpoint import write_checkpoint
from nodes.library.conditioning.clip_text import CLIPTextEncode
from nodes.library.conditioning.image_conditioning import InpaintModelConditioning
from nodes.library.sampling.ksampler import KSampler
from tests.nodes.sd_fixtures import call, context, sd_runtime, tiny_files  # noqa: F401


@pytest.fixture(scope="module")
def inpaint_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("inpaint") / "sd15-inpaint.safetensors"
    write_checkpoint(path, "sd15-inpaint", "tiny", seed=7, dtype=torch.float32)
    return load_checkpoint(path, dtype=torch.float32)


def sample(runtime, model, pos, neg, latent):
    return call(KSampler, context(runtime), model=model, seed=3, steps=3, cfg=4.0, sampler_name="euler",
                scheduler="normal", positive=pos, negative=neg, latent_image=latent, denoise=1.0)[0]["samples"]


def with_concat(conditioning, latent):
    return [[tensor, {**options, "concat_latent_image": latent}] for tensor, options in conditioning]


def test_inpaint_conditioning_drives_the_inpainting_unet(sd_runtime, inpaint_model):
    pos = call(CLIPTextEncode, context(sd_runtime), text="a red door", clip=inpaint_model.clip)[0]
    neg = call(CLIPTextEncode, context(sd_runtime), text="", clip=inpaint_model.clip)[0]
    pixels = torch.rand(1, 64, 64, 3, generator=torch.Generator().manual_seed(1))
    mask = torch.zeros(1, 64, 64)
    mask[:, 16:48, 16:48] = 1.0
    pos, neg, latent = call(InpaintModelConditioning, context(sd_runtime), positive=pos, negative=neg,
                            vae=inpaint_model.vae, pixels=pixels, mask=mask, noise_mask=True)
    out = sample(sd_runtime, inpaint_model.model, pos, neg, latent)
    kept = torch.ones(8, 8, dtype=torch.bool)
    kept[2:6, 2:6] = False
    assert torch.equal(out[..., kept], latent["samples"][..., kept])
    assert not torch.allclose(out[..., 3, 3], latent["samples"][..., 3, 3])
    other = torch.zeros_like(pos[0][1]["concat_latent_image"])
    changed = sample(sd_runtime, inpaint_model.model, with_concat(pos, other), with_concat(neg, other), latent)
    assert not torch.allclose(changed[..., 2:6, 2:6], out[..., 2:6, 2:6])  # the UNet reads concat_latent_image
