"""The committed demo checkpoint (skipped when the file is absent): detected as SD1.x, loads
through the ordinary loader, and a short fixed-seed generation shows the asked-for colours."""

from pathlib import Path

import pytest
import torch

from diffusion.checkpoint import load_state_dict
from diffusion.demo.generate import load_demo, txt2img
from diffusion.demo.measure import measure_image
from diffusion.detect import detect_model

CHECKPOINT = Path(__file__).resolve().parents[2] / "models" / "checkpoints" / "latentgraph-demo.safetensors"
pytestmark = pytest.mark.skipif(not CHECKPOINT.is_file(), reason="no committed demo checkpoint")

PROMPTS = [
    ("a large red circle on a blue background, center", "red", "blue"),
    ("a large yellow square on a black background, center", "yellow", "black"),
    ("a large white triangle on a green background, center", "white", "green"),
]


@pytest.fixture(scope="module")
def checkpoint():
    torch.set_num_threads(2)
    return load_demo(CHECKPOINT)


def test_the_file_is_small_and_detected_as_sd15():
    assert CHECKPOINT.stat().st_size <= 20 * 1024 * 1024
    info = detect_model(load_state_dict(CHECKPOINT), CHECKPOINT)
    assert info.family == "sd15" and info.prediction == "eps"
    assert info.vae_config.downscale == 8


def test_it_loads_with_all_three_parts(checkpoint):
    assert checkpoint.clip is not None and checkpoint.vae is not None
    cond, _ = checkpoint.clip.encode(PROMPTS[0][0])
    assert cond.shape[:2] == (1, 77)


def test_a_short_generation_has_the_asked_for_colours(checkpoint):
    images = txt2img(checkpoint, [p for p, _, _ in PROMPTS], seeds=[1, 2, 3], steps=10, cfg=6.0)
    assert images.shape == (3, 64, 64, 3)
    for image, (prompt, colour, background) in zip(images, PROMPTS, strict=True):
        measured = measure_image(image)
        assert (measured.color, measured.background) == (colour, background), prompt
