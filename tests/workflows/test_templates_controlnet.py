"""ComfyUI's classic ControlNet templates run end to end on tiny stand-ins from make-checkpoint.

The templates (tests/fixtures/templates/) run as they are, in UI format, under the file names they ask
for; only the image size and step count are made small with --set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.workflows.test_workflows import ROOT, run_workflow

TEMPLATES = ROOT / "tests" / "fixtures" / "templates"
SMALL = ["5.width=64", "5.height=64", "3.steps=2"]
# template -> (the --set overrides that keep it tiny, the size of the image it saves)
TEMPLATE_RUNS = {
    "controlnet_example": (SMALL, (64, 64)),
    "depth_controlnet": (SMALL, (64, 64)),
    "mixing_controlnets": (SMALL, (64, 64)),
    # pose ControlNet pass, latent upscale, a second pass with another checkpoint at denoise 0.5
    "2_pass_pose_worship": (["5.width=64", "5.height=64", "14.width=96", "14.height=96", "50.steps=2", "58.steps=2"],
                            (96, 96)),
}
CHECKPOINTS = ("dreamCreationVirtual3DECommerce_v10", "architecturerealmix_v11", "awpainting_v14",
               "majicmixRealistic_v7", "japaneseStyleRealistic_v20")
CONTROLNETS = ("control_v11p_sd15_scribble_fp16", "control_v11f1p_sd15_depth_fp16", "control_v11p_sd15_openpose_fp16")
IMAGES = ("scribble_input.png", "depth_input (1).png", "image (72).png", "image (70).png", "input (3).png")


@pytest.fixture(scope="module")
def controlnet_base(tmp_path_factory) -> Path:
    from app.cli import main

    base = tmp_path_factory.mktemp("controlnet_base")
    models = base / "models"
    for folder in ("checkpoints", "controlnet", "vae"):
        (models / folder).mkdir(parents=True)
    commands = [["--family", "sd15", "--out", models / "checkpoints" / f"{name}.safetensors"] for name in CHECKPOINTS]
    commands += [["--kind", "controlnet", "--out", models / "controlnet" / f"{name}.safetensors"]
                 for name in CONTROLNETS]
    commands.append(["--family", "sd15", "--vae-only", "--out", models / "vae" / "vae-ft-mse-840000-ema-pruned.safetensors"])
    for args in commands:
        assert main(["make-checkpoint", "--size", "tiny", *map(str, args)]) == 0
    (base / "input").mkdir()
    for seed, name in enumerate(IMAGES):
        pixels = (np.random.default_rng(seed).random((48, 80, 3)) * 255).astype("uint8")  # another aspect: resized
        Image.fromarray(pixels).save(base / "input" / name)
    return base


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TEMPLATE_RUNS))
def test_template_runs_on_tiny_stand_ins(name, controlnet_base, tmp_path):
    out = tmp_path / "out"
    overrides, size = TEMPLATE_RUNS[name]
    result = run_workflow(TEMPLATES / f"{name}.json", controlnet_base, out, overrides)
    assert result.returncode == 0, f"{name} failed:\n{result.stderr[-3000:]}"
    (png,) = out.rglob("*.png")  # SaveImage's; PreviewImage writes to temp/
    with Image.open(png) as image:
        assert image.size == size
