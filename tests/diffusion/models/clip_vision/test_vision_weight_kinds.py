"""make-checkpoint writes every vision-family kind in its layout and `inspect` / detect_file_kind name it back."""

from __future__ import annotations

import pytest

from app.cli import main
from diffusion.checkpoints.checkpoint import load_state_dict
from diffusion.checkpoints.detect import detect_file_kind
from diffusion.checkpoints.summary import describe_model_file


@pytest.mark.parametrize("kind", ["clip-vision-l", "clip-vision-h", "clip-vision-g", "style-model", "gligen"])
def test_written_files_are_recognised_as_their_kind(kind, tmp_path):
    out = tmp_path / f"{kind}.safetensors"
    assert main(["make-checkpoint", "--kind", kind, "--size", "tiny", "--out", str(out)]) == 0
    assert detect_file_kind(load_state_dict(out)) == kind
    summary = describe_model_file(out)
    assert summary["kind"] == kind and sum(c["parameters"] for c in summary["components"].values()) > 0
    assert main(["inspect", str(out)]) == 0
