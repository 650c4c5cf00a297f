"""The node being run, reachable from plain code called by that node.

ComfyUI's module-level helpers (`comfy.utils.ProgressBar`, `comfy.model_management.processing_interrupted`)
take no context argument: they find the running node through this context variable, which the
`NodeRunner` sets around each call of a node and resets afterwards. Outside a node it is None.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from graph.context import NodeContext

_RUNNING: ContextVar[NodeContext | None] = ContextVar("latentgraph_running_node", default=None)


def running_node() -> NodeContext | None:
    """The NodeContext of the node this code runs inside, or None outside any node."""
    return _RUNNING.get()


@contextmanager
def node_running(context: NodeContext) -> Iterator[NodeContext]:
    """Makes `context` the running node for the duration of the block (nests; restored on exit)."""
    token = _RUNNING.set(context)
    try:
        yield context
    finally:
        _RUNNING.reset(token)
