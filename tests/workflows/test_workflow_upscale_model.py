"""End to end: the upscale-model example workflow and ComfyUI's two ESRGAN templates, run by `main.py run`.

Stand-ins are written by `make-checkpoint` under the names the templates ask for: the tiny SD1.5
and SD2.1-v checkpoints as `v1-5-pruned-emaonly-fp16.safetensors` / `v2-1_768-ema-pruned.safetensors`
and a tiny random 4x ESRGAN as `upscale_models/RealESRGAN_x4plus.pth`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from tests.workflows.conftest import write_input_images
from tests.workflows.test_workflows import run_workflow

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "tests" / "fixtures" / "templates"
ESRGAN = "RealESRGAN_x4plus.pth"

# Example workflow (workflows/<name>_{api,ui}.json) -> (--set overrides, saved image size).
UPSCALE_WORKFLOWS = {"upscale_model": ([], (128, 128))}  # 64 px in, 4x ESRGAN, then x0.5
# Template -> (--set overrides, size of each saved image).
TEMPLATE_RUNS = {
    "esrgan_example": (["5.width=64", "5.height=64", "3.steps=2"], {(256, 256)}),
    "hiresfix_esrgan_workflow": (["5.width=64", "5.height=64", "3.steps=2", "24.width=96", "24.height=96",
                                  "11.steps=2"], {(64, 64), (96, 96)}),
}


@pytest.fixture(scope="module")
def upscale_base(tmp_path_factory) -> Path:
    from app.cli import main

    base = tmp_path_factory.mktemp("upscale_base")
    checkpoints = base / "models" / "checkpoints"
    checkpoints.mkdir(parents=True)
    for family, name in (("sd15", "v1-5-pruned-emaonly-fp16.safetensors"), ("sd21-v", "v2-1_768-ema-pruned.safetensors")):
        assert main(["make-checkpoint", "--family", family, "--size", "tiny", "--out", str(checkpoints / name)]) == 0
    out = base / "models" / "upscale_models" / ESRGAN
    assert main(["make-checkpoint", "--kind", "upscaler-esrgan", "--size", "tiny", "--out", str(out)]) == 0
    write_input_images(base / "input")
    return base


def saved_sizes(stdout: str, out_dir: Path) -> list[tuple[int, int]]:
    sizes = []
    for line in stdout.splitlines():
        path = Path(line)
        if line.endswith(".png") and path.parent == out_dir:
            with Image.open(path) as image:
                sizes.append(image.size)
    return sizes


@pytest.mark.slow
# UI format only: the API twin is the same prompt (tests/workflows/test_workflow_files.py).
@pytest.mark.parametrize("fmt", ["ui"])
@pytest.mark.parametrize("name", sorted(UPSCALE_WORKFLOWS))
def test_upscale_example_runs(name, fmt, upscale_base, tmp_path):
    overrides, size = UPSCALE_WORKFLOWS[name]
    result = run_workflow(ROOT / "workflows" / f"{name}_{fmt}.json", upscale_base, tmp_path / "out", overrides)
    assert result.returncode == 0, result.stderr[-3000:]
    assert saved_sizes(result.stdout, tmp_path / "out") == [size]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TEMPLATE_RUNS))
def test_comfyui_esrgan_template_runs(name, upscale_base, tmp_path):
    overrides, sizes = TEMPLATE_RUNS[name]
    result = run_workflow(TEMPLATES / f"{name}.json", upscale_base, tmp_path / "out", overrides)
    assert result.returncode == 0, result.stderr[-3000:]
    assert set(saved_sizes(result.stdout, tmp_path / "out")) == sizes


def test_a_missing_upscale_model_is_reported_before_running(upscale_base, tmp_path):
    result = run_workflow(ROOT / "workflows" / "upscale_model_api.json", upscale_base, tmp_path / "out",
                          ["2.model_name=missing.pth"])
    assert result.returncode != 0
    assert "missing.pth" in result.stderr, result.stderr[-2000:]
