"""The demo workflows on the committed demo model, run by `main.py run` and checked for meaning:
the measuring code of diffusion/demo reads colour, background, shape and position back."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from diffusion.demo.measure import PALETTE_NAMES, measure_image, palette_labels

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "models" / "checkpoints" / "latentgraph-demo.safetensors"
INPUTS = ("demo_red_circle_on_blue.png", "demo_red_circle_hole.png")


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0


def measured(path: Path):
    return measure_image(pixels(path))


# What these checks ask of the demo model is what it does on prompts it never saw as a combination
# (its model card, bench/demo_quality.py): the shape's colour (100 %), class (97 %) and position
# (100 %), the background (100 %), recolouring (100 %), the class of an inpainted shape (98 %) and
# the unmasked part kept (100 %). Each workflow has a fixed seed, so a result is the same on every run.
MIN_SHAPE_PIXELS = 30


def assert_scene(path_or_pixels, background: str, color: str, shape: str, position: str):
    m = measure_image(path_or_pixels if isinstance(path_or_pixels, np.ndarray) else pixels(path_or_pixels))
    assert m.background == background, m
    assert m.area >= MIN_SHAPE_PIXELS and m.color == color, m
    assert (m.shape, m.position) == (shape, position), m
    return m


def check_txt2img(path: Path) -> None:  # "a large yellow star on a purple background, top left"
    assert pixels(path).shape == (64, 64, 3)
    assert_scene(path, "purple", "yellow", "star", "top left")


def check_recolour(path: Path) -> None:  # the red circle on blue (centre), asked to be a green circle
    assert_scene(path, "blue", "green", "circle", "center")


def check_inpaint(path: Path) -> None:  # the red circle's square repainted as "a large yellow star on blue"
    assert_scene(path, "blue", "yellow", "star", "center")
    # outside the repainted square the picture is the input's (a latent round trip away)
    original = pixels(ROOT / "input" / INPUTS[0])
    result = pixels(path)
    corner = (slice(0, 8), slice(0, 8))
    assert np.abs(result[corner] - original[corner]).mean() < 0.08


def check_outpaint(path: Path) -> None:  # 32 columns added to the right of the red circle on blue
    # The workflow encodes only the original and repaints the new latent columns (SetLatentNoiseMask):
    # VAEEncodeForInpaint's grey fill is outside what the demo VAE knows and shifts every colour.
    # The new columns continue the background (seeds 1-10 all did).
    result = pixels(path)
    assert result.shape == (64, 96, 3)
    extension = palette_labels(result[:, 64:])  # the 32 new columns continue the background
    blue_share = float((extension == PALETTE_NAMES.index("blue")).mean())
    assert blue_share >= 0.9, f"only {blue_share:.0%} of the outpainted area is the background blue"
    assert_scene(result[:, :64], "blue", "red", "circle", "center")


def check_upscale(path: Path) -> None:  # "a large white triangle on a green background", 2x
    # Upscaled in pixel space: a second KSampler pass on the 16x16 latent (hires fix) redraws the
    # shape smaller even at denoise 0.1, since the demo UNet was trained on 8x8 latents only.
    result = pixels(path)
    assert result.shape == (128, 128, 3)
    small = np.asarray(Image.fromarray((result * 255).astype(np.uint8)).resize((64, 64), Image.BILINEAR),
                       dtype=np.float32) / 255.0
    assert_scene(small, "green", "white", "triangle", "center")


DEMO_WORKFLOWS = {
    "demo_txt2img": check_txt2img,
    "demo_img2img_recolour": check_recolour,
    "demo_inpaint_replace_shape": check_inpaint,
    "demo_outpaint": check_outpaint,
    "demo_upscale": check_upscale,
}


@pytest.fixture(scope="module")
def demo_base(tmp_path_factory) -> Path:
    """A base directory holding only what a fresh clone has: the demo model and the demo inputs."""
    base = tmp_path_factory.mktemp("demo")
    (base / "models" / "checkpoints").mkdir(parents=True)
    shutil.copy(DEMO, base / "models" / "checkpoints" / DEMO.name)
    (base / "input").mkdir()
    for name in INPUTS:
        shutil.copy(ROOT / "input" / name, base / "input" / name)
    return base


def test_the_demo_model_and_inputs_are_committed():
    assert DEMO.is_file() and DEMO.stat().st_size <= 20 * 1024 * 1024
    for name in INPUTS:
        assert (ROOT / "input" / name).is_file()


# Every workflow runs in UI format (read, converted, run); the API twin of each is the same prompt
# (tests/workflows/test_workflow_files.py checks the conversion), so only one runs as API as well.
RUNS = [(name, "ui") for name in sorted(DEMO_WORKFLOWS)] + [("demo_txt2img", "api")]


@pytest.mark.slow
@pytest.mark.parametrize("name, fmt", RUNS)
def test_demo_workflow_makes_the_picture_it_asks_for(name, fmt, demo_base, tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, str(ROOT / "main.py"), "run", str(ROOT / "workflows" / f"{name}_{fmt}.json"),
               "--base-directory", str(demo_base), "--output-directory", str(out), "--quiet",
               "--disable-all-custom-nodes"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    (saved,) = [Path(line) for line in result.stdout.splitlines() if Path(line).parent == out]
    DEMO_WORKFLOWS[name](saved)
