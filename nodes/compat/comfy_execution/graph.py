"""ComfyUI's `comfy_execution.graph`: `ExecutionBlocker` as packs import it.

The class is the executor's own (graph/blocking.py), so a blocker a pack returns is recognised:
the nodes downstream of it do not run; with a message the blocked node fails the prompt with
"Execution Blocked: <message>", with None the branch stops silently.
"""

from __future__ import annotations

from graph.blocking import ExecutionBlocked, ExecutionBlocker

__all__ = ["ExecutionBlocked", "ExecutionBlocker"]
