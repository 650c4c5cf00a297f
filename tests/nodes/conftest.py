"""Fixtures for node tests: a runtime whose folders live in tmp_path, and a fake context."""

from __future__ import annotations

import pytest

from graph.context import NodeContext
from nodes.api.runtime import NodeRuntime


class ProgressRecorder:
    """Collects on_progress calls as (node_id, value, total)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int]] = []

    def __call__(self, node_id, value, total, preview) -> None:
        self.calls.append((node_id, value, total))


@pytest.fixture
def runtime(tmp_path):
    rt = NodeRuntime.for_directory(tmp_path / "base")
    rt.folders.ensure_dirs()
    return rt


@pytest.fixture
def progress():
    return ProgressRecorder()


@pytest.fixture
def make_ctx(runtime, progress):
    """make_ctx(node_id="1") -> a NodeContext with the tmp runtime and a progress recorder."""

    def _make(node_id: str = "1", class_type: str = "") -> NodeContext:
        return NodeContext(node_id=node_id, prompt_id="p1", class_type=class_type, runtime=runtime,
                           on_progress=progress)

    return _make
