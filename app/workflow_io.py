"""Reading workflow files for the CLI: either JSON format, with errors as messages."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph.api_to_ui import api_to_ui
from graph.document import WorkflowError, detect_format, parse_workflow_text
from graph.ui_to_api import ui_to_api

MAX_WORKFLOW_BYTES = 64 * 1024 * 1024


@dataclass
class LoadedWorkflow:
    prompt: dict
    format: str  # "api" | "ui"
    ui: dict | None  # the UI document when the file was in UI format


def read_workflow(path: str | Path, registry: Any) -> LoadedWorkflow:
    """Reads an API- or UI-format workflow file; raises WorkflowError with a clear message."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_WORKFLOW_BYTES:
            raise WorkflowError(f"{p}: file is larger than {MAX_WORKFLOW_BYTES // (1024 * 1024)} MB")
        data = p.read_bytes()
    except FileNotFoundError:
        raise WorkflowError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise WorkflowError(f"{p}: is a directory, not a workflow file") from None
    except OSError as exc:
        raise WorkflowError(f"{p}: cannot read ({exc.strerror or exc})") from None
    try:
        doc = parse_workflow_text(data)
        fmt = detect_format(doc)
        if fmt == "ui":
            return LoadedWorkflow(prompt=ui_to_api(doc, registry), format="ui", ui=doc)
        return LoadedWorkflow(prompt=doc, format="api", ui=None)
    except WorkflowError as exc:
        raise WorkflowError(f"{p}: {exc}") from None


def to_ui(prompt: dict, registry: Any) -> dict:
    return api_to_ui(prompt, registry)


def parse_assignment(text: str) -> tuple[str, str, Any]:
    """`NODE_ID.INPUT=VALUE` → (node id, input, value). VALUE is JSON if it parses, else a string.
    The node id is everything before the last dot, so ids like "12:5" work."""
    if "=" not in text:
        raise ValueError(f"--set {text!r}: expected NODE_ID.INPUT=VALUE")
    target, raw = text.split("=", 1)
    if "." not in target:
        raise ValueError(f"--set {text!r}: expected NODE_ID.INPUT=VALUE (no '.' between node id and input)")
    node_id, input_name = target.rsplit(".", 1)
    if not node_id or not input_name:
        raise ValueError(f"--set {text!r}: node id and input name must not be empty")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return node_id, input_name, value


def apply_assignments(prompt: dict, assignments: list[str]) -> dict:
    """Returns a copy of the prompt with each `--set` applied; unknown node ids are errors."""
    out = {k: ({**v, "inputs": dict(v.get("inputs", {}))} if isinstance(v, dict) else v) for k, v in prompt.items()}
    for text in assignments:
        node_id, input_name, value = parse_assignment(text)
        node = out.get(node_id)
        if not isinstance(node, dict):
            known = ", ".join(sorted(out)[:20])
            raise ValueError(f"--set {text!r}: there is no node {node_id!r} in the workflow (nodes: {known})")
        node["inputs"][input_name] = value
    return out
