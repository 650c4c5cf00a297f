"""KSampler on the demo checkpoint sends previews from the demo's own decoder (64x64, what the decoder
makes of the step's x0), and with --preview-method latent2rgb the demo's fitted factors; another model
keeps SD's latent2rgb. Skipped without the committed demo checkpoint and preview decoder."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from diffusion.checkpoints.loader import load_checkpoint
from diffusion.demo.preview import BUNDLED_DECODER, DEMO_PREVIEW_FORMAT
from diffusion.models.latent_formats import SD15_FORMAT
from diffusion.sampling.previews import latent_to_rgb, load_taesd_decoder, taesd_to_rgb
from nodes.library.conditioning.clip_text import CLIPTextEncode
from nodes.library.sampling.ksampler import KSampler
from tests.nodes.sd_fixtures import call, context

CHECKPOINT = Path(__file__).resolve().parents[4] / "models" / "checkpoints" / "latentgraph-demo.safetensors"
pytestmark = pytest.mark.skipif(not CHECKPOINT.is_file() or not BUNDLED_DECODER.is_file(),
                                reason="no committed demo checkpoint or preview decoder")


@pytest.fixture(scope="module")
def demo():
    return load_checkpoint(CHECKPOINT, dtype=torch.float32)


def sample(runtime, demo, method: str):
    """(the output latent, the decoded previews) of a 2-step euler KSampler run on the demo model."""
    ctx = context(runtime, extra_data={"preview_method": method})
    positive = call(CLIPTextEncode, ctx, text="a large red star on a blue background, center", clip=demo.clip)[0]
    negative = call(CLIPTextEncode, ctx, text="", clip=demo.clip)[0]
    (latent,) = call(KSampler, ctx, model=demo.model, seed=3, steps=2, cfg=5.0, sampler_name="euler",
                     scheduler="normal", positive=positive, negative=negative,
                     latent_image={"samples": torch.zeros(1, 4, 8, 8)}, denoise=1.0)
    frames = [np.asarray(Image.open(io.BytesIO(p.data)).convert("RGB")) for _, _, p in ctx.on_progress.calls]
    return latent["samples"], frames


def test_ksampler_previews_of_the_demo_model_come_from_its_decoder(runtime, demo):
    samples, frames = sample(runtime, demo, "auto")
    assert [f.shape for f in frames] == [(64, 64, 3), (64, 64, 3)]
    # Euler's last step lands on its x0, so the last preview is the decoder's picture of the output latent.
    expected = taesd_to_rgb(samples * DEMO_PREVIEW_FORMAT.scale_factor, load_taesd_decoder(BUNDLED_DECODER))
    error = np.abs(frames[-1].astype(int) - expected).mean()
    assert error < 8, error  # JPEG's error


def test_latent2rgb_previews_of_the_demo_model_use_its_fitted_factors(runtime, demo):
    samples, frames = sample(runtime, demo, "latent2rgb")
    assert frames[-1].shape == (8, 8, 3)
    x0 = samples * DEMO_PREVIEW_FORMAT.scale_factor
    # An 8x8 JPEG smears colour (chroma subsampling), so compare with both candidate pictures.
    demo_error = np.abs(frames[-1].astype(int) - latent_to_rgb(x0, DEMO_PREVIEW_FORMAT)).mean()
    sd_error = np.abs(frames[-1].astype(int) - latent_to_rgb(x0, SD15_FORMAT)).mean()
    assert demo_error < sd_error / 2, (demo_error, sd_error)
