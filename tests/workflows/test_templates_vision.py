"""ComfyUI's classic GLIGEN and SDXL revision templates, and the vision example workflows, run end to end
on tiny stand-ins from make-checkpoint.

The templates (tests/fixtures/templates/) are run as they are, in UI format, under the file names
they ask for; only the image size and step count are made small with --set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.workflows.test_workflows import ROOT, run_workflow

TEMPLATES = ROOT / "tests" / "fixtures" / "templates"
SMALL = ["5.width=64", "5.height=64", "3.steps=2"]
TEMPLATE_RUNS = {
    "gligen_textbox_example": ("gligen", "testing_"),
    "sdxl_revision_text_prompts": ("", "ComfyUI_"),
    "sdxl_revision_zero_positive": ("", "ComfyUI_"),
}
# workflows/ examples of the family (both formats) -> their --set overrides.
VISION_WORKFLOWS = {"style_model_image_prompt": SMALL}


@pytest.fixture(scope="module")
def vision_base(tmp_path_factory) -> Path:
    from app.cli import main

    base = tmp_path_factory.mktemp("vision_base")
    models = base / "models"
    for folder in ("checkpoints", "clip_vision", "gligen", "style_models"):
        (models / folder).mkdir(parents=True)
    commands = [
        ["--family", "sdxl", "--out", models / "checkpoints" / "sd_xl_base_1.0.safetensors"],
        ["--family", "sd15", "--out", models / "checkpoints" / "v1-5-pruned-emaonly-fp16.safetensors"],
        ["--kind", "clip-vision-g", "--out", models / "clip_vision" / "clip_vision_g.safetensors"],
        ["--kind", "gligen", "--out", models / "gligen" / "gligen_sd14_textbox_pruned.safetensors"],
        ["--family", "sd15", "--out", models / "checkpoints" / "sd15.safetensors"],
        ["--kind", "clip-vision-l", "--out", models / "clip_vision" / "clip-vit-large-patch14.safetensors"],
        ["--kind", "style-model", "--out", models / "style_models" / "t2iadapter_style_sd14v1.safetensors"],
    ]
    for args in commands:
        assert main(["make-checkpoint", "--size", "tiny", *map(str, args)]) == 0
    (base / "input").mkdir()
    for seed, name in enumerate(("mountains.png", "sunset.png", "example.png")):
        pixels = (np.random.default_rng(seed).random((48, 80, 3)) * 255).astype("uint8")
        Image.fromarray(pixels).save(base / "input" / name)
    return base


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TEMPLATE_RUNS))
def test_template_runs_on_tiny_stand_ins(name, vision_base, tmp_path):
    out = tmp_path / "out"
    result = run_workflow(TEMPLATES / f"{name}.json", vision_base, out, SMALL)
    assert result.returncode == 0, f"{name} failed:\n{result.stderr[-3000:]}"
    subfolder, prefix = TEMPLATE_RUNS[name]
    (png,) = (out / subfolder).glob(f"{prefix}*.png")
    with Image.open(png) as image:
        assert image.size == (64, 64)


@pytest.mark.slow
# UI format only: the API twin is the same prompt (tests/workflows/test_workflow_files.py).
@pytest.mark.parametrize("fmt", ["ui"])
@pytest.mark.parametrize("name", sorted(VISION_WORKFLOWS))
def test_vision_example_runs(name, fmt, vision_base, tmp_path):
    out = tmp_path / "out"
    result = run_workflow(ROOT / "workflows" / f"{name}_{fmt}.json", vision_base, out, VISION_WORKFLOWS[name])
    assert result.returncode == 0, f"{name} ({fmt}) failed:\n{result.stderr[-3000:]}"
    assert len(list(out.glob("*.png"))) == 1
