"""Workflow documents: safe JSON reading, format detection, loading and the API writer.

A workflow arrives as text (a file, an HTTP body, a PNG text chunk) in one of ComfyUI's
two formats: the **API format** (``{node_id: {class_type, inputs, _meta}}``) that the
backend runs, or the **UI format** the editor saves (``nodes``, ``links``,
``widgets_values``; version 0.4 with link arrays or version 1 with link objects).
`load_workflow` turns either into an API prompt, handing the UI format to the converter
(`graph.ui_to_api`); the converters never import this module.

Reading is defensive: a size cap, a nesting-depth cap checked before the JSON parser
recurses, strict UTF-8, no trailing garbage, and no ``NaN``/``Infinity`` literals
(they are not JSON, JavaScript cannot write them, and a NaN widget value would only
fail later and less clearly). Every problem is a `WorkflowError` (defined in
`graph.workflow_error`, importable from here too) naming where it is.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from graph.ui_to_api import ui_to_api
from graph.workflow_error import WorkflowError

# Large enough for a 100,000-node workflow, small enough to refuse abuse quickly.
MAX_WORKFLOW_BYTES = 64 * 1024 * 1024
# Real workflows nest a few levels per subgraph; the JSON parser recurses per level.
MAX_JSON_DEPTH = 200

_STRING_RE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET_RE = re.compile(r"[^\[\]{}]+")
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_NON_FINITE_RE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|(-?Infinity|NaN)', re.DOTALL)
_DEPTH_CHUNK = 1 << 16


def _line_col(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"line {line} column {col}"


def _nested_deeper_than(text: str, limit: int) -> bool:
    """True when the JSON text nests arrays/objects more than `limit` levels deep.

    Strings are removed first (brackets inside them do not count); the running depth is
    summed in C (`accumulate`) chunk by chunk, so a 10 MB ``[[[[...`` stops in the first chunk.
    """
    brackets = _NOT_BRACKET_RE.sub("", _STRING_RE.sub("", text))
    level = 0
    for start in range(0, len(brackets), _DEPTH_CHUNK):
        chunk = brackets[start : start + _DEPTH_CHUNK]
        if max(accumulate(map(_BRACKET_STEP.__getitem__, chunk), initial=level)) > limit:
            return True
        level += chunk.count("[") + chunk.count("{") - chunk.count("]") - chunk.count("}")
    return False


def parse_workflow_text(text: str | bytes) -> dict:
    """Parse a workflow document (either format) into a dict, refusing abuse with a clear error.

    Accepts str or bytes (UTF-8, an optional BOM). Raises `WorkflowError` for: more than
    `MAX_WORKFLOW_BYTES`, invalid UTF-8, nesting deeper than `MAX_JSON_DEPTH`, malformed
    JSON or trailing data (with line and column), ``NaN``/``Infinity`` literals, and a top
    level that is not a JSON object.
    """
    if isinstance(text, (bytes, bytearray, memoryview)):
        raw = bytes(text)
        if len(raw) > MAX_WORKFLOW_BYTES:
            raise WorkflowError(f"workflow is {len(raw)} bytes; the limit is {MAX_WORKFLOW_BYTES} bytes")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise WorkflowError(f"workflow is not valid UTF-8 (bad byte at offset {exc.start})") from None
    elif isinstance(text, str):
        if len(text) > MAX_WORKFLOW_BYTES:
            raise WorkflowError(f"workflow is {len(text)} characters; the limit is {MAX_WORKFLOW_BYTES}")
        text = text.removeprefix("\ufeff")
    else:
        raise WorkflowError(f"workflow text must be str or bytes, not {type(text).__name__}")

    if not text.strip():
        raise WorkflowError("workflow is empty")
    if _nested_deeper_than(text, MAX_JSON_DEPTH):
        raise WorkflowError(f"workflow JSON is nested more than {MAX_JSON_DEPTH} levels deep")

    def refuse_constant(name: str) -> Any:
        raise _NonFiniteLiteralError(name)

    try:
        doc = json.loads(text, parse_constant=refuse_constant)
    except _NonFiniteLiteralError as exc:
        match = next((m for m in _NON_FINITE_RE.finditer(text) if m.group(1)), None)
        where = f" at {_line_col(text, match.start(1))}" if match else ""
        raise WorkflowError(
            f"workflow contains {exc.args[0]}{where}, which is not valid JSON; write a number or null"
        ) from None
    except json.JSONDecodeError as exc:
        raise WorkflowError(f"workflow is not valid JSON: {exc.msg} at {_line_col(text, exc.pos)}") from None
    except RecursionError:
        raise WorkflowError("workflow JSON is nested too deeply") from None
    except ValueError as exc:  # e.g. an integer longer than Python's digit limit
        raise WorkflowError(f"workflow JSON could not be read: {exc}") from None
    if not isinstance(doc, dict):
        raise WorkflowError(f"workflow must be a JSON object at the top level, not {_json_kind(doc)}")
    return doc


class _NonFiniteLiteralError(Exception):
    pass


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _describe_keys(doc: dict, limit: int = 6) -> str:
    keys = [repr(k) for k in list(doc)[:limit]]
    more = ", ..." if len(doc) > limit else ""
    return ", ".join(keys) + more


def detect_format(doc: Any) -> str:
    """Return ``"ui"`` or ``"api"`` for a parsed workflow; `WorkflowError` saying what it looks like otherwise.

    UI: a ``nodes`` list together with ``links`` (version 0.4 arrays or version 1 objects)
    or a version-1 ``state``. API: a non-empty object whose every value is an object with
    ``class_type`` or ``inputs``.
    """
    if not isinstance(doc, dict):
        raise WorkflowError(f"a workflow must be a JSON object, not {_json_kind(doc)}")
    if not doc:
        raise WorkflowError("workflow is an empty object: no nodes in either the UI or the API format")
    if "nodes" in doc:
        if not isinstance(doc["nodes"], list):
            raise WorkflowError(f"looks like a UI workflow but 'nodes' is {_json_kind(doc['nodes'])}, not an array")
        if "links" in doc or "state" in doc or doc.get("version") == 1:
            return "ui"
        raise WorkflowError("looks like a UI workflow ('nodes' array) but has no 'links'")
    if isinstance(doc.get("prompt"), dict) and ("client_id" in doc or "extra_data" in doc):
        raise WorkflowError("looks like a /prompt request body; the API prompt is the object under its 'prompt' key")
    for node_id, node in doc.items():
        if not isinstance(node, dict):
            raise WorkflowError(
                f"not a workflow: neither a UI workflow (no 'nodes' array) nor an API prompt "
                f"(node '{node_id}' is {_json_kind(node)}, not an object with class_type and inputs); "
                f"keys: {_describe_keys(doc)}",
                node_id=str(node_id),
            )
        if "class_type" not in node and "inputs" not in node:
            raise WorkflowError(
                f"not a workflow: neither a UI workflow (no 'nodes' array) nor an API prompt "
                f"(entry '{node_id}' has no class_type or inputs); keys: {_describe_keys(doc)}",
                node_id=str(node_id),
            )
    return "api"


def load_workflow(text: str | bytes, registry: Any) -> dict:
    """Read a workflow in either format and return an API prompt (`ui_to_api` for the UI format).

    The API format is returned as parsed; its node-level checks belong to validation.
    """
    doc = parse_workflow_text(text)
    if detect_format(doc) == "ui":
        return ui_to_api(doc, registry)
    return doc


def dump_api(prompt: dict) -> str:
    """Write an API prompt as JSON text: 2-space indent, node and input order kept, UTF-8 kept, newline at the end.

    Refuses values JSON cannot hold (NaN, infinities, non-JSON objects) with a `WorkflowError`.
    """
    try:
        return json.dumps(prompt, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    except (TypeError, ValueError) as exc:
        raise WorkflowError(f"prompt cannot be written as JSON: {exc}") from None
