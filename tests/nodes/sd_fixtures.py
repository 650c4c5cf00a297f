"""Helpers for the model-backed node tests: tiny checkpoints in a runtime's model folders, a context
that records progress and previews, and calling declared nodes.

Checkpoint files are written once per session (`diffusion.checkpoints.make_checkpoint`) and linked into
each test's own base directory, so a test that changes or deletes one touches only its copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from graph.context import NodeContext
from nodes.api.declare import DeclaredNodeType
from nodes.api.runtime import DeviceRequest, NodeRuntime

FAMILIES = ("sd15", "sd21-v", "sdxl", "sdxl-refiner")


class Recorder:
    """on_progress target: keeps (value, total, preview) per call."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, object]] = []

    def __call__(self, node_id, value, total, preview) -> None:
        self.calls.append((value, total, preview))


def call(node_cls, ctx, **inputs) -> tuple:
    """The output values of one call of a declared node, through the executor's adapter."""
    return DeclaredNodeType(node_cls, ctx.runtime).execute(ctx, inputs).values


def context(runtime: NodeRuntime, *, extra_data: dict | None = None, node_id: str = "1") -> NodeContext:
    return NodeContext(node_id=node_id, prompt_id="p1", runtime=runtime, extra_data=extra_data or {},
                       on_progress=Recorder())


def write_tiny_files(folder: Path) -> dict[str, Path]:
    """Tiny fp32 checkpoints per family and an SD1.5 LoRA in `folder` (kept if already there)."""
    from diffusion.checkpoints.make_checkpoint import write_checkpoint
    from diffusion.models.lora.make_lora import write_lora

    folder.mkdir(parents=True, exist_ok=True)
    files = {family: folder / f"{family}.safetensors" for family in FAMILIES}
    files["sd15_lora"] = folder / "sd15_lora.safetensors"
    done = folder / "complete"
    if not done.exists():
        for family in FAMILIES:
            write_checkpoint(files[family], family, "tiny", seed=7, dtype=torch.float32)
        write_lora(files["sd15_lora"], "sd15", "tiny", seed=3, rank=4, dtype=torch.float32)
        done.touch()
    return files


# Every test module imports these fixtures, which makes one fixture per module; the files and
# the loaded models are therefore cached here, so the session writes and loads them once.
_LOADED: dict[Path, dict] = {}


@pytest.fixture(scope="session")
def tiny_files(tmp_path_factory) -> dict[str, Path]:
    """Tiny fp32 checkpoints per family and an SD1.5 LoRA, written once per session."""
    return write_tiny_files(tmp_path_factory.getbasetemp() / "tiny_sd_files")


@pytest.fixture
def sd_runtime(tmp_path, tiny_files) -> NodeRuntime:
    """A CPU fp32 runtime over tmp_path/base with the tiny checkpoints and LoRAs in its model folders."""
    runtime = NodeRuntime.for_directory(tmp_path / "base", devices=DeviceRequest(cpu=True, precision="fp32"))
    runtime.folders.ensure_dirs()
    runtime.folders.follow_outside_symlinks = True  # the tiny files are linked in from the session's cache
    checkpoints = runtime.folders.models_dir / "checkpoints"
    loras = runtime.folders.models_dir / "loras"
    checkpoints.mkdir(parents=True, exist_ok=True)
    loras.mkdir(parents=True, exist_ok=True)
    for family in FAMILIES:
        (checkpoints / f"{family}.safetensors").symlink_to(tiny_files[family])
    (loras / "sd15_lora.safetensors").symlink_to(tiny_files["sd15_lora"])
    return runtime


def copy_checkpoint(runtime: NodeRuntime, tiny_files: dict[str, Path], family: str, name: str) -> Path:
    """A real (not linked) copy of a tiny checkpoint under `name`, for tests that change or delete it."""
    target = runtime.folders.models_dir / "checkpoints" / name
    shutil.copyfile(tiny_files[family], target)
    return target


@pytest.fixture(scope="session")
def tiny_models(tiny_files) -> dict:
    """family -> LoadedCheckpoint (fp32, CPU) of the tiny checkpoints, loaded once per session."""
    from diffusion.checkpoints.loader import load_checkpoint

    key = tiny_files["sd15"].parent
    if key not in _LOADED:
        _LOADED[key] = {family: load_checkpoint(tiny_files[family], dtype=torch.float32) for family in FAMILIES}
    return _LOADED[key]
