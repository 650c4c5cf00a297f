"""The committed demo checkpoint (skipped when the file is absent): detected as SD1.x, loads
through the ordinary loader, and fixed-seed generations show the asked-for colours, shapes, sizes and positions."""

from pathlib import Path

import pytest
import torch

from diffusion.checkpoints.checkpoint import load_state_dict
from diffusion.checkpoints.detect import detect_model
from diffusion.demo.generate import load_demo, txt2img
from diffusion.demo.measure import measure_image

CHECKPOINT = Path(__file__).resolve().parents[2] / "models" / "checkpoints" / "latentgraph-demo.safetensors"
pytestmark = pytest.mark.skipif(not CHECKPOINT.is_file(), reason="no committed demo checkpoint")

PROMPTS = [
    ("a large red circle on a blue background, center", "red", "circle", "blue"),
    ("a small yellow square on a black background, top left", "yellow", "square", "black"),
    ("a large white triangle on a green background, bottom", "white", "triangle", "green"),
    ("a small purple star on an orange background, right", "purple", "star", "orange"),
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


def test_fixed_seed_generations_have_the_asked_for_colours_and_shapes(checkpoint):
    prompts = [p for p, *_ in PROMPTS]
    images = txt2img(checkpoint, prompts, seeds=list(range(1, len(PROMPTS) + 1)), steps=20, cfg=6.0)
    assert images.shape == (len(PROMPTS), 64, 64, 3)
    for image, (prompt, colour, shape, background) in zip(images, PROMPTS, strict=True):
        measured = measure_image(image)
        assert (measured.color, measured.shape, measured.background) == (colour, shape, background), prompt
        assert measured.size == prompt.split()[1], prompt
        assert measured.position == prompt.split(", ")[1], prompt
