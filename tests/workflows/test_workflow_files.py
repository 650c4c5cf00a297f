"""Every example workflow ships in both formats, the two agree, and a test runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graph.ui_to_api import ui_to_api
from nodes.api.runtime import NodeRuntime
from nodes.build import build_registry

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / "workflows"
API_FILES = sorted(WORKFLOWS.glob("*_api.json"))
# The text pipeline has no UI twin on disk: tests/cli converts it both ways and runs the result.
PAIRED = [p for p in API_FILES if p.name != "text_pipeline_api.json"]
# Which test module runs each workflow end to end.
RUN_BY = {
    "tests/workflows/test_workflows.py": "OVERRIDES",
    "tests/workflows/test_demo_workflows.py": "DEMO_WORKFLOWS",
    "tests/workflows/test_workflow_upscale_model.py": "UPSCALE_WORKFLOWS",
    "tests/workflows/test_templates_vision.py": "VISION_WORKFLOWS",
    "tests/workflows/test_workflow_unclip.py": "UNCLIP_WORKFLOWS",
    "tests/workflows/test_workflow_controlnet.py": "CONTROLNET_WORKFLOWS",
    "tests/workflows/test_workflow_gligen_hypernetwork.py": "GLIGEN_HYPERNETWORK_WORKFLOWS",
}


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    registry, _ = build_registry(NodeRuntime.for_directory(tmp_path_factory.mktemp("files")), [])
    return registry


def strip_meta(prompt: dict) -> dict:
    return {k: {"class_type": v["class_type"], "inputs": v["inputs"]} for k, v in prompt.items()}


@pytest.mark.parametrize("api_path", PAIRED, ids=lambda p: p.stem)
def test_ui_file_converts_to_the_api_file(api_path, registry):
    ui_path = api_path.with_name(api_path.name.replace("_api.json", "_ui.json"))
    assert ui_path.is_file(), f"{api_path.name} has no UI-format twin"
    api = json.loads(api_path.read_text())
    ui = json.loads(ui_path.read_text())
    assert strip_meta(ui_to_api(ui, registry)) == strip_meta(api)


def test_every_workflow_is_run_by_a_test():
    names = {p.name[: -len("_api.json")] for p in API_FILES}
    covered = {"text_pipeline"}  # tests/cli runs it
    for module, table in RUN_BY.items():
        text = (ROOT / module).read_text()
        covered |= {name for name in names if f'"{name}"' in text}
        assert table in text
    assert names - covered == set(), f"workflows no test runs: {sorted(names - covered)}"
