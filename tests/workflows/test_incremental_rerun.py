"""The product's central promise on a real SD graph: after one widget changes, only the part
of the graph downstream of it runs again; a changed model file reloads its loader."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

from graph.events import ListSink
from graph.executor import Executor
from graph.validate import validate_prompt
from nodes.api.runtime import NodeRuntime
from nodes.build import build_registry

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def txt2img(workflow_base, tmp_path):
    runtime = NodeRuntime.for_directory(workflow_base)
    runtime.folders.output_dir = tmp_path / "out"
    registry, _ = build_registry(runtime, [])
    prompt = json.loads((ROOT / "workflows" / "txt2img_sd15_api.json").read_text())
    prompt["5"]["inputs"].update(width=64, height=64)
    prompt["3"]["inputs"]["steps"] = 2
    return Executor(registry, runtime=runtime), registry, prompt


def run(executor, registry, prompt, n):
    validation = validate_prompt(prompt, registry)
    assert validation.ok and not validation.node_errors, validation.to_json()
    result = executor.execute(validation.prompt, prompt_id=f"p{n}", outputs=validation.outputs, sink=ListSink())
    assert result.status == "success", result.error
    return set(result.executed)


def test_only_downstream_of_a_change_runs_again(txt2img):
    executor, registry, prompt = txt2img
    first = run(executor, registry, prompt, 1)
    assert first == set(prompt)  # everything ran once

    assert run(executor, registry, prompt, 2) == set()  # unchanged: all from the cache

    changed = copy.deepcopy(prompt)
    changed["6"]["inputs"]["text"] = "a different prompt"  # the positive prompt's widget
    assert run(executor, registry, changed, 3) == {"6", "3", "8", "9"}  # encode → sample → decode → save

    seed = copy.deepcopy(changed)
    seed["3"]["inputs"]["seed"] = 12345
    assert run(executor, registry, seed, 4) == {"3", "8", "9"}


def test_a_changed_checkpoint_file_reloads_the_loader(txt2img, workflow_base):
    executor, registry, prompt = txt2img
    run(executor, registry, prompt, 1)
    ckpt = workflow_base / "models" / "checkpoints" / prompt["4"]["inputs"]["ckpt_name"]
    stat = ckpt.stat()
    os.utime(ckpt, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    try:
        assert "4" in run(executor, registry, prompt, 2)
    finally:
        os.utime(ckpt, ns=(stat.st_atime_ns, stat.st_mtime_ns))
