"""Fixtures for the end-to-end workflow tests: a base directory with tiny checkpoints and input images.

The checkpoints and the LoRA are written by the project's own `make-checkpoint` command
(called in-process, once per test session); the example workflows name them by the plain
file names they use (`sd15.safetensors`, ...).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHECKPOINT_FAMILIES = ("sd15", "sd21-v", "sdxl", "sdxl-refiner")
LORA_NAME = "sd15_lora.safetensors"
IMAGE_SIZE = 64


def write_input_images(input_dir: Path) -> None:
    """`example.png` (RGB noise) and `inpaint_example.png` (the same with a transparent square hole)."""
    input_dir.mkdir(parents=True, exist_ok=True)
    rgb = (np.random.default_rng(0).random((IMAGE_SIZE, IMAGE_SIZE, 3)) * 255).astype("uint8")
    Image.fromarray(rgb).save(input_dir / "example.png")
    alpha = np.full((IMAGE_SIZE, IMAGE_SIZE, 1), 255, dtype="uint8")
    alpha[16:48, 16:48] = 0
    Image.fromarray(np.concatenate([rgb, alpha], axis=-1), "RGBA").save(input_dir / "inpaint_example.png")


@pytest.fixture(scope="session")
def workflow_base(tmp_path_factory) -> Path:
    """A base directory: models/checkpoints/<family>.safetensors, models/loras/sd15_lora.safetensors, input/."""
    from app.cli import main

    base = tmp_path_factory.mktemp("workflow_base")
    checkpoints = base / "models" / "checkpoints"
    loras = base / "models" / "loras"
    checkpoints.mkdir(parents=True)
    loras.mkdir(parents=True)
    for family in CHECKPOINT_FAMILIES:
        out = checkpoints / f"{family}.safetensors"
        assert main(["make-checkpoint", "--family", family, "--size", "tiny", "--out", str(out)]) == 0
    assert main(["make-checkpoint", "--family", "sd15", "--lora", "--out", str(loras / LORA_NAME)]) == 0
    write_input_images(base / "input")
    return base
