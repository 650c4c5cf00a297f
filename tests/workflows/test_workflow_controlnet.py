"""The ControlNet example workflows (workflows/controlnet_*) on the committed demo model with a ControlNet
stand-in from make-checkpoint, and ComfyUI's depth T2I-Adapter template on a tiny SD1.5 with SD1.5's UNet
block layout (`--kind sd15-full-layout`, the layout adapters are made for) and a tiny adapter."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.workflows.test_workflows import ROOT, WORKFLOWS, run_workflow

DEMO = ROOT / "models" / "checkpoints" / "latentgraph-demo.safetensors"
DEMO_INPUTS = ("demo_red_circle_on_blue.png", "demo_red_circle_hole.png")
STAND_IN = "latentgraph-demo_controlnet.safetensors"
# workflow -> the --set overrides that keep the run short (the files are 64 px already)
CONTROLNET_WORKFLOWS = {"controlnet_txt2img": ["3.steps=2"], "controlnet_mixing": ["3.steps=2"]}
# The twins are the same prompt (test_workflow_files converts each UI file to its API twin), and
# controlnet_txt2img's graph is the first of controlnet_mixing's two chained applies: one run covers both.
RUNS = [("controlnet_mixing", "ui")]
TEMPLATE = ROOT / "tests" / "fixtures" / "templates" / "depth_t2i_adapter.json"


def _make(*args) -> None:
    from app.cli import main

    assert main(["make-checkpoint", "--size", "tiny", *map(str, args)]) == 0


@pytest.fixture(scope="module")
def demo_controlnet_base(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("demo_controlnet")
    (base / "models" / "checkpoints").mkdir(parents=True)
    (base / "models" / "controlnet").mkdir()
    shutil.copy(DEMO, base / "models" / "checkpoints" / DEMO.name)
    _make("--kind", "controlnet", "--family", "sd15", "--out", base / "models" / "controlnet" / STAND_IN)
    (base / "input").mkdir()
    for name in DEMO_INPUTS:
        shutil.copy(ROOT / "input" / name, base / "input" / name)
    return base


@pytest.mark.slow
@pytest.mark.parametrize("name, fmt", RUNS)
def test_controlnet_workflow_runs_on_the_demo_model(name, fmt, demo_controlnet_base, tmp_path):
    out = tmp_path / "out"
    result = run_workflow(WORKFLOWS / f"{name}_{fmt}.json", demo_controlnet_base, out, CONTROLNET_WORKFLOWS[name])
    assert result.returncode == 0, f"{name} ({fmt}) failed:\n{result.stderr[-3000:]}"
    (png,) = out.rglob("*.png")
    with Image.open(png) as image:
        assert image.size == (64, 64) and image.mode == "RGB"


@pytest.mark.slow
def test_depth_t2i_adapter_template_runs_on_a_tiny_sd15_layout_model(tmp_path):
    base = tmp_path / "base"
    _make("--kind", "sd15-full-layout", "--out", base / "models" / "checkpoints" / "interiordesignsuperm_v2.safetensors")
    _make("--kind", "t2i-adapter", "--family", "sd15", "--out",
          base / "models" / "controlnet" / "controlnetT2IAdapter_t2iAdapterDepth.safetensors")
    (base / "input").mkdir()
    pixels = (np.random.default_rng(0).random((48, 80, 3)) * 255).astype("uint8")  # another aspect: resized
    Image.fromarray(pixels).save(base / "input" / "depth-t2i-adapter_input.png")
    out = tmp_path / "out"
    result = run_workflow(TEMPLATE, base, out, ["5.width=64", "5.height=64", "3.steps=2"])
    assert result.returncode == 0, f"depth_t2i_adapter failed:\n{result.stderr[-3000:]}"
    (png,) = out.rglob("*.png")
    with Image.open(png) as image:
        assert image.size == (64, 64)
