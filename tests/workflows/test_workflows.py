"""End to end: every example workflow, in API and UI format, run by `python main.py run` on tiny checkpoints.

Each run overrides sizes and step counts with `--set` so it stays small (64 px images, 2-3
steps); the test checks the exit status and the PNG it wrote: it decodes, and it carries
the `prompt` text chunk (and `workflow` for the UI-format runs), as ComfyUI writes them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / "workflows"

SMALL = ["5.width=64", "5.height=64"]
# Workflow name -> the --set overrides that keep its run tiny.
OVERRIDES: dict[str, list[str]] = {
    "txt2img_sd15": [*SMALL, "3.steps=2"],
    "img2img": ["3.steps=2"],
    "inpainting": ["3.steps=2"],
    "outpainting": ["11.left=16", "11.right=16", "3.steps=2"],
    "hires_fix": [*SMALL, "3.steps=2", "10.width=96", "10.height=96", "11.steps=2"],
    "lora": [*SMALL, "3.steps=2"],
    "sd2_v_txt2img": [*SMALL, "3.steps=2"],
    "sdxl_base_refiner": [*SMALL, "10.steps=3", "10.end_at_step=2", "11.steps=3", "11.start_at_step=2"],
    "area_composition": ["5.width=128", "5.height=128", "12.width=64", "12.height=128", "13.width=64",
                         "13.height=128", "13.x=64", "3.steps=2"],
    "inside_the_sampler": [*SMALL, "3.steps=3", "3.frames=3", "13.steps=3"],
    "custom_sampling_guider": [*SMALL, "13.steps=2"],
    "mask_composite_inpaint": ["3.steps=2"],
    "model_merge_save": [*SMALL, "3.steps=2"],
    "freeu_pag": [*SMALL, "3.steps=2"],
}
# Expected size (width, height) of the saved image.
EXPECTED_SIZE = {"outpainting": (96, 64), "hires_fix": (96, 96), "area_composition": (128, 128)}


def test_the_core_example_workflows_exist_in_both_formats():
    for name in OVERRIDES:
        assert (WORKFLOWS / f"{name}_api.json").is_file(), f"{name} has no API-format file"
        assert (WORKFLOWS / f"{name}_ui.json").is_file(), f"{name} has no UI-format file"


def run_workflow(path: Path, base: Path, output_dir: Path, overrides: list[str]) -> subprocess.CompletedProcess:
    command = [sys.executable, str(ROOT / "main.py"), "run", str(path), "--base-directory", str(base),
               "--output-directory", str(output_dir), "--quiet", "--disable-all-custom-nodes"]
    for assignment in overrides:
        command += ["--set", assignment]
    return subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=ROOT)


# Every workflow runs in UI format (read, converted, run, the workflow embedded in the PNG); each API twin is
# the same prompt (tests/workflows/test_workflow_files.py checks the conversion), so two also run as API.
RUNS = [(name, "ui") for name in sorted(OVERRIDES)] + [("txt2img_sd15", "api"), ("sdxl_base_refiner", "api")]


@pytest.mark.slow
@pytest.mark.parametrize("name, fmt", RUNS)
def test_workflow_runs_and_saves_a_png(name, fmt, workflow_base, tmp_path):
    result = run_workflow(WORKFLOWS / f"{name}_{fmt}.json", workflow_base, tmp_path / "out", OVERRIDES[name])
    assert result.returncode == 0, f"{name} ({fmt}) failed:\n{result.stderr[-3000:]}"
    # Only SaveImage writes to the output folder; PreviewImage files (temp/) are printed too.
    written = [Path(line) for line in result.stdout.splitlines()
               if line.endswith(".png") and Path(line).parent == tmp_path / "out"]
    assert len(written) == 1, result.stdout
    png = written[0]
    assert png.is_file() and png.parent == tmp_path / "out"
    with Image.open(png) as image:
        image.load()
        assert image.size == EXPECTED_SIZE.get(name, (64, 64))
        assert image.mode == "RGB"
        chunks = dict(image.text)
    prompt = json.loads(chunks["prompt"])
    assert {node["class_type"] for node in prompt.values()} >= {"CheckpointLoaderSimple", "SaveImage"}
    if fmt == "ui":
        workflow = json.loads(chunks["workflow"])
        assert "nodes" in workflow and "links" in workflow
    else:
        assert "workflow" not in chunks


@pytest.mark.slow
def test_missing_checkpoint_fails_with_a_message(workflow_base, tmp_path):
    result = run_workflow(WORKFLOWS / "txt2img_sd15_api.json", workflow_base, tmp_path / "out",
                          [*OVERRIDES["txt2img_sd15"], "4.ckpt_name=missing.safetensors"])
    assert result.returncode == 1
    assert "missing.safetensors" in result.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.png"))
