"""The unCLIP example workflow (workflows/unclip_*.json) run end to end on a tiny SD2.1 unCLIP-H checkpoint
written by make-checkpoint: unCLIPCheckpointLoader -> CLIPVisionEncode -> unCLIPConditioning -> KSampler."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.workflows.test_workflows import ROOT, run_workflow

# workflows/ examples of the family (both formats) -> their --set overrides.
UNCLIP_WORKFLOWS = {"unclip": ["5.width=64", "5.height=64", "3.steps=2"]}


@pytest.fixture(scope="module")
def unclip_base(tmp_path_factory) -> Path:
    from app.cli import main

    base = tmp_path_factory.mktemp("unclip_base")
    (base / "models" / "checkpoints").mkdir(parents=True)
    out = base / "models" / "checkpoints" / "sd21-unclip-h.safetensors"
    assert main(["make-checkpoint", "--kind", "sd21-unclip-h", "--size", "tiny", "--out", str(out)]) == 0
    (base / "input").mkdir()
    pixels = (np.random.default_rng(0).random((48, 80, 3)) * 255).astype("uint8")
    Image.fromarray(pixels).save(base / "input" / "example.png")
    return base


@pytest.mark.slow
# UI format only: the API twin is the same prompt (tests/workflows/test_workflow_files.py).
@pytest.mark.parametrize("fmt", ["ui"])
@pytest.mark.parametrize("name", sorted(UNCLIP_WORKFLOWS))
def test_unclip_example_runs(name, fmt, unclip_base, tmp_path):
    out = tmp_path / "out"
    result = run_workflow(ROOT / "workflows" / f"{name}_{fmt}.json", unclip_base, out, UNCLIP_WORKFLOWS[name])
    assert result.returncode == 0, f"{name} ({fmt}) failed:\n{result.stderr[-3000:]}"
    (png,) = out.glob("unclip_*.png")
    with Image.open(png) as image:
        assert image.size == (64, 64)
