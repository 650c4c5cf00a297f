"""Helpers of the compat tests: write a pack into a tmp custom_nodes dir, load it with the built-ins, run a node."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from graph.context import NodeContext
from nodes.build import build_registry
from nodes.compat import aliases, core_nodes


def load_pack(runtime, tmp_path: Path, source: str, name: str = "pack_under_test"):
    """(registry, report) with the pack `source` in tmp_path/custom_nodes/<name>.py loaded after the built-ins."""
    custom = tmp_path / "custom_nodes"
    custom.mkdir(exist_ok=True)
    (custom / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return build_registry(runtime, [custom])


def run_node(registry, runtime, class_type: str, **inputs) -> tuple:
    ctx = NodeContext(node_id="1", prompt_id="p1", class_type=class_type, runtime=runtime)
    return registry.get(class_type).execute(ctx, inputs).values


@pytest.fixture
def compat(sd_runtime):
    """The runtime bound for core nodes called from Python, ComfyUI's names importable; aliases removed and the binding cleared afterwards."""
    core_nodes.bind(sd_runtime)
    aliases.install()
    yield sd_runtime
    core_nodes.bind(None)
    aliases.uninstall()
