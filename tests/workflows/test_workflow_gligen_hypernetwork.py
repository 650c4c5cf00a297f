"""The GLIGEN and hypernetwork example workflows (workflows/gligen_textboxes_*, workflows/hypernetwork_*) on the
committed demo model, with stand-ins from make-checkpoint (`--kind gligen`, `--kind hypernetwork --family sd15`;
tiny, the demo model's widths: UNet 32/64, text 64).

Beyond "it ran", each patch must change the picture: both are compared with one plain run of the same prompt
and seed (the hypernetwork workflow at strength 0, where k + net(k) * 0 leaves the attention exactly as without
it), so a GLIGEN box or hypernetwork the sampler ignored would fail here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.workflows.test_workflows import ROOT, WORKFLOWS, run_workflow

DEMO = ROOT / "models" / "checkpoints" / "latentgraph-demo.safetensors"
GLIGEN_STAND_IN = "latentgraph-demo_gligen.safetensors"
HYPERNETWORK_STAND_IN = "latentgraph-demo_hypernetwork.pt"
# workflow -> the --set overrides that keep the run short (the files are 64 px already)
GLIGEN_HYPERNETWORK_WORKFLOWS = {"gligen_textboxes": ["3.steps=2"], "hypernetwork": ["3.steps=2"]}
# The UI twins are the same prompts (test_workflow_files converts each UI file to its API twin): one run of each,
# GLIGEN from its UI file, the hypernetwork from its API file.
GLIGEN_PROMPT = json.loads((WORKFLOWS / "gligen_textboxes_api.json").read_text())["6"]["inputs"]["text"]
# The hypernetwork runs take the GLIGEN workflow's prompt, so one plain run is the baseline of both.
SAME_PROMPT = [*GLIGEN_HYPERNETWORK_WORKFLOWS["hypernetwork"], f"6.text={GLIGEN_PROMPT}"]


def _make(*args) -> None:
    from app.cli import main

    assert main(["make-checkpoint", "--size", "tiny", *map(str, args)]) == 0


@pytest.fixture(scope="module")
def demo_patch_base(tmp_path_factory) -> Path:
    """A base directory: the demo checkpoint, a tiny GLIGEN and a tiny SD1.x hypernetwork."""
    base = tmp_path_factory.mktemp("demo_gligen_hypernetwork")
    models = base / "models"
    (models / "checkpoints").mkdir(parents=True)
    shutil.copy(DEMO, models / "checkpoints" / DEMO.name)
    _make("--kind", "gligen", "--out", models / "gligen" / GLIGEN_STAND_IN)
    _make("--kind", "hypernetwork", "--family", "sd15", "--out", models / "hypernetworks" / HYPERNETWORK_STAND_IN)
    return base


def _run_to_pixels(path: Path, base: Path, out: Path, overrides: list[str]) -> tuple[np.ndarray, dict]:
    """Run a workflow; the saved PNG's pixels (64x64 RGB checked) and its prompt text chunk."""
    result = run_workflow(path, base, out, overrides)
    assert result.returncode == 0, f"{path.name} failed:\n{result.stderr[-3000:]}"
    (png,) = out.rglob("*.png")
    with Image.open(png) as image:
        assert image.size == (64, 64) and image.mode == "RGB"
        return np.asarray(image).astype(np.int16), json.loads(image.text["prompt"])


@pytest.fixture(scope="module")
def plain_pixels(demo_patch_base, tmp_path_factory) -> np.ndarray:
    """The GLIGEN prompt and seed with neither patch: the hypernetwork workflow at strength 0."""
    pixels, _ = _run_to_pixels(WORKFLOWS / "hypernetwork_api.json", demo_patch_base,
                               tmp_path_factory.mktemp("plain"), [*SAME_PROMPT, "10.strength=0"])
    return pixels


def test_both_workflows_sample_alike_so_one_plain_run_is_their_baseline():
    samplers = [json.loads((WORKFLOWS / f"{name}_api.json").read_text())["3"]["inputs"]
                for name in GLIGEN_HYPERNETWORK_WORKFLOWS]
    settings = [{k: v for k, v in s.items() if k not in ("model", "positive", "negative")} for s in samplers]
    assert settings[0] == settings[1]


@pytest.mark.slow
def test_gligen_textboxes_workflow_runs_and_the_boxes_change_the_image(demo_patch_base, plain_pixels, tmp_path):
    pixels, prompt = _run_to_pixels(WORKFLOWS / "gligen_textboxes_ui.json", demo_patch_base, tmp_path / "out",
                                    GLIGEN_HYPERNETWORK_WORKFLOWS["gligen_textboxes"])
    boxes = [node["inputs"]["text"] for node in prompt.values() if node["class_type"] == "GLIGENTextBoxApply"]
    assert len(boxes) == 2
    assert not np.array_equal(pixels, plain_pixels), "the GLIGEN text boxes did not change the image"


@pytest.mark.slow
def test_hypernetwork_workflow_runs_and_strength_1_changes_the_image(demo_patch_base, plain_pixels, tmp_path):
    pixels, prompt = _run_to_pixels(WORKFLOWS / "hypernetwork_api.json", demo_patch_base, tmp_path / "out",
                                    SAME_PROMPT)
    assert prompt["10"]["inputs"]["strength"] == 1.0
    assert not np.array_equal(pixels, plain_pixels), "the hypernetwork at strength 1 did not change the image"
