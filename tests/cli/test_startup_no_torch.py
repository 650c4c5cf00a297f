"""The light commands start without torch: each runs in a fresh process as main.py runs it,
succeeds, and leaves torch and transformers out of sys.modules (tokenize even the engine:
the command line imports only the module of the command it runs)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = str(ROOT / "workflows" / "txt2img_sd15_api.json")
MARK = "@@modules@@"

# What main.py does, then one line naming the watched modules that got imported.
_WRAPPER = f"""
import json, sys
from app.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
sys.stdout.flush()
loaded = [name for name in ("torch", "transformers", "app.engine") if name in sys.modules]
print({MARK!r}, json.dumps({{"exit": code, "loaded": loaded}}))
"""


def run_command(*args: str) -> tuple[dict, str]:
    """({exit, heavy modules loaded, whether app.engine was}, standard output) of `main.py ARGS`."""
    done = subprocess.run([sys.executable, "-c", _WRAPPER, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    out, _, line = done.stdout.rpartition(MARK)
    report = json.loads(line)
    heavy = [name for name in report["loaded"] if name in ("torch", "transformers")]
    return {"exit": report["exit"], "heavy": heavy, "engine": "app.engine" in report["loaded"]}, out


@pytest.fixture
def base(tmp_path: Path) -> list[str]:
    """A base directory holding the checkpoint the example workflow names, so it validates."""
    (tmp_path / "models" / "checkpoints").mkdir(parents=True)
    (tmp_path / "models" / "checkpoints" / "sd15.safetensors").touch()
    return ["--base-directory", str(tmp_path)]


def test_help_lists_the_commands_without_torch():
    report, out = run_command("--help")
    assert report["exit"] == 0 and report["heavy"] == []
    assert "tokenize" in out and "validate" in out


def test_tokenize_needs_neither_torch_nor_transformers():
    report, out = run_command("tokenize", "a photo of a (cat:1.2), embedding:style", "--json")
    assert report == {"exit": 0, "heavy": [], "engine": False}
    assert json.loads(out)["windows"][0]["ids"][:7] == [49406, 320, 1125, 539, 320, 2368, 267]


def test_nodes_without_torch(base):
    report, out = run_command("nodes", *base)
    assert report == {"exit": 0, "heavy": [], "engine": True}
    assert "KSampler" in out and "CheckpointLoaderSimple" in out


def test_validate_without_torch(base):
    report, out = run_command("validate", WORKFLOW, *base)
    assert report == {"exit": 0, "heavy": [], "engine": True}
    assert out.startswith("ok: 7 node(s)")


def test_convert_without_torch(base):
    report, out = run_command("convert", WORKFLOW, "--to", "ui", *base)
    assert report == {"exit": 0, "heavy": [], "engine": True}
    assert {node["type"] for node in json.loads(out)["nodes"]} >= {"KSampler", "CheckpointLoaderSimple"}
