"""The demo model's live preview (diffusion/demo/preview.py): the shipped checkpoint is recognised,
its preview decoder shows what the demo VAE decodes (same measured colours, PSNR >= 15 dB per scene,
about 20 dB on average), and SD's latent2rgb factors, which the demo model got before, fail that same check. Skipped without the committed files."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from diffusion.checkpoints.loader import load_checkpoint
from diffusion.demo.measure import measure_image
from diffusion.demo.model_config import DEMO_UNET
from diffusion.demo.preview import BUNDLED_DECODER, DEMO_PREVIEW_FORMAT, is_demo_model
from diffusion.demo.shapes import Scene, render_batch
from diffusion.memory.patcher import ModelPatcher
from diffusion.models.latent_formats import SD15_FORMAT
from diffusion.models.unet.unet import UNetModel
from diffusion.sampling.previews import (
    latent_to_rgb,
    load_taesd_decoder,
    preview_format,
    taesd_decoder_path,
    taesd_to_rgb,
)

CHECKPOINT = Path(__file__).resolve().parents[2] / "models" / "checkpoints" / "latentgraph-demo.safetensors"
pytestmark = pytest.mark.skipif(not CHECKPOINT.is_file() or not BUNDLED_DECODER.is_file(),
                                reason="no committed demo checkpoint or preview decoder")

SCENES = [Scene("star", "red", "blue", "center", "large"), Scene("circle", "black", "white", "top left", "large"),
          Scene("square", "yellow", "green", "bottom right", "small"),
          Scene("triangle", "white", "purple", "left", "large")]
MIN_PSNR = 15.0
MIN_MEAN_PSNR = 20.0


@pytest.fixture(scope="module")
def demo():
    return load_checkpoint(CHECKPOINT, dtype=torch.float32)


@pytest.fixture(scope="module")
def encoded(demo):
    """(model-space latents [N, 4, 8, 8], VAE decodes [N, 64, 64, 3] in 0..1) of SCENES."""
    latents = demo.vae.encode(torch.from_numpy(render_batch(SCENES))) * SD15_FORMAT.scale_factor
    return latents, demo.vae.decode(latents / SD15_FORMAT.scale_factor).numpy()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(-10 * np.log10(np.mean((a.astype(np.float64) - b) ** 2)))


def shows_the_decode(preview: np.ndarray, decoded: np.ndarray) -> bool:
    """The check a preview must pass: at the preview's resolution PSNR >= MIN_PSNR against the VAE decode,
    and (shown at 64x64) the same measured background and shape colour."""
    preview = preview.astype(np.float32) / 255.0
    factor = decoded.shape[0] // preview.shape[0]
    pooled = F.avg_pool2d(torch.from_numpy(decoded).movedim(-1, 0)[None], factor)[0].movedim(0, -1).numpy()
    large = np.repeat(np.repeat(preview, factor, axis=0), factor, axis=1)
    want, got = measure_image(decoded), measure_image(large)
    return psnr(preview, pooled) >= MIN_PSNR and (got.background, got.color) == (want.background, want.color)


def test_the_shipped_demo_checkpoint_gets_its_own_preview_format(demo):
    assert is_demo_model(demo.model)
    assert preview_format(demo.model) is DEMO_PREVIEW_FORMAT
    assert taesd_decoder_path(DEMO_PREVIEW_FORMAT, []) == BUNDLED_DECODER
    assert BUNDLED_DECODER.stat().st_size < 300 * 1024


def test_another_model_of_the_same_shape_keeps_sds_preview():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        other = ModelPatcher(UNetModel(DEMO_UNET), model_info=SimpleNamespace(latent_format=SD15_FORMAT))
    assert not is_demo_model(other)
    assert preview_format(other) is SD15_FORMAT


def test_the_decoder_preview_shows_what_the_vae_decodes(encoded):
    latents, decoded = encoded
    decoder = load_taesd_decoder(BUNDLED_DECODER)
    quality = []
    for index, scene in enumerate(SCENES):
        preview = taesd_to_rgb(latents[index:index + 1], decoder)
        assert preview.shape == (64, 64, 3)
        assert shows_the_decode(preview, decoded[index]), scene
        measured = measure_image(preview.astype(np.float32) / 255.0)
        assert (measured.color, measured.background) == (scene.color, scene.background)
        quality.append(psnr(preview.astype(np.float32) / 255.0, decoded[index]))
    assert np.mean(quality) >= MIN_MEAN_PSNR, quality


def test_sds_latent2rgb_factors_fail_the_same_check(encoded):
    latents, decoded = encoded
    results = [shows_the_decode(latent_to_rgb(latents[i:i + 1], SD15_FORMAT), decoded[i]) for i in range(len(SCENES))]
    assert not any(results)


def test_the_fitted_factors_are_closer_to_the_decode_than_sds(encoded):
    """The exact least-squares factors (the preview with --preview-method latent2rgb) beat SD's by far,
    though a linear map of this VAE's latents stays a rough picture (about 11 dB)."""
    latents, decoded = encoded
    pooled = F.avg_pool2d(torch.from_numpy(decoded).movedim(-1, 1), 8).movedim(1, -1).numpy()
    fitted = psnr(latent_to_rgb(latents, DEMO_PREVIEW_FORMAT) / 255.0, pooled[0])
    sd = psnr(latent_to_rgb(latents, SD15_FORMAT) / 255.0, pooled[0])
    assert fitted >= sd + 3.0, (fitted, sd)


def test_packs_sampler_callbacks_preview_the_demo_model_as_ksampler_does(demo, encoded, tmp_path):
    """A pack's sampler calls latent_preview.prepare_callback(model): the demo model's preview comes from
    its bundled decoder there too, not from SD's factors."""
    from graph.context import NodeContext
    from graph.running import node_running
    from nodes.api.runtime import NodeRuntime
    from nodes.compat import latent_preview

    assert latent_preview.latent_format_of(demo.model) is DEMO_PREVIEW_FORMAT
    runtime = NodeRuntime.for_directory(tmp_path)
    runtime.preview_method = "auto"
    latents, _ = encoded
    with node_running(NodeContext(node_id="3", prompt_id="p", runtime=runtime)):
        previewer = latent_preview.get_previewer(None, latent_preview.latent_format_of(demo.model))
        shown = np.asarray(previewer.decode_latent_to_preview(latents[:1]))
    np.testing.assert_array_equal(shown, taesd_to_rgb(latents[:1], load_taesd_decoder(BUNDLED_DECODER)))
