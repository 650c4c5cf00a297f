"""Running one node of a prompt: gathering its input lists, calling it, reporting progress.

`NodeRunner` is used by the executor for every node that is not taken from the cache.
It fills hidden inputs, builds the node's NodeContext, emits `executing`, `progress`,
`preview`, `progress_text` and `executed`, and remembers the current node and its formatted inputs for
the error report. While a node runs, `graph.running.running_node()` returns its context. A call whose
inputs hold an ExecutionBlocker is not made (graph/blocking.py); a node whose calls expand into a
subgraph comes back as a PendingExpansion for the executor to run (graph/expansion.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from graph import events
from graph.blocking import ExecutionBlocked, ExecutionBlocker, first_blocker
from graph.cache import CacheEntry
from graph.context import Interrupted, InterruptToken, NodeContext, PreviewImage
from graph.dynamic_inputs import expand_dynamic_inputs
from graph.expansion import PendingExpansion
from graph.node_call import hidden_values, lazy_requests, map_calls, merge_results
from graph.plan import Link
from graph.prompt import node_inputs, unwrap_literal
from graph.running import node_running
from graph.schema import NodeOutput, NodeSchema, NodeType

# Limits for the inputs quoted in an execution_error.
_FORMAT_CHARS = 1000
_FORMAT_ITEMS = 20


def format_value(value: Any) -> Any:
    """A value as ComfyUI quotes it in an error: primitives as they are, anything else as short text."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value[:_FORMAT_CHARS]
    try:
        return str(value)[:_FORMAT_CHARS]
    except Exception:
        return f"<{type(value).__name__}>"


class NodeRunner:
    """Calls nodes for one prompt; `finished` holds each node's result (computed or cached)."""

    def __init__(self, runtime: Any, prompt: dict, prompt_id: str, extra_data: dict, interrupt: InterruptToken,
                 emit: Callable[[str, dict], None]):
        self.runtime = runtime
        self.prompt = prompt
        self.prompt_id = prompt_id
        self.extra_data = extra_data
        self.interrupt = interrupt
        self.emit = emit
        self.finished: dict[str, CacheEntry] = {}
        self.current: str | None = None
        self.current_inputs: dict[str, list] = {}
        self._announced: str | None = None
        # Nodes added by an expansion -> the prompt node the editor shows for them (ComfyUI's display node).
        self.display: dict[str, str] = {}

    @staticmethod
    def interrupted(exc: BaseException) -> bool:
        """True when `exc` means the user interrupted the prompt."""
        return isinstance(exc, Interrupted)

    def _on_progress(self, node_id: str, value: int, total: int, preview: PreviewImage | None) -> None:
        self.emit(events.PROGRESS, {"value": value, "max": total, "prompt_id": self.prompt_id, "node": node_id})
        if preview is not None:
            self.emit(
                events.PREVIEW,
                {"image": preview, "node_id": node_id, "display_node_id": self.display.get(node_id, node_id), "prompt_id": self.prompt_id},
            )

    def _on_text(self, node_id: str, text: str) -> None:
        self.emit(events.PROGRESS_TEXT, {"node_id": node_id, "text": text, "prompt_id": self.prompt_id})

    def _gather(self, node_id: str, schema: NodeSchema, links: list[Link], available: Mapping[str, CacheEntry]) -> dict[str, list]:
        literals = node_inputs(self.prompt[node_id])
        linked = {name: (src, index) for name, src, index in links}
        inputs: dict[str, list] = {}
        for spec in expand_dynamic_inputs(schema, literals).inputs:
            name = spec.name
            if name in linked:
                src, index = linked[name]
                entry = available.get(src)
                inputs[name] = entry.outputs[index] if entry is not None and index < len(entry.outputs) else [None]
            elif name in literals:
                inputs[name] = [unwrap_literal(literals[name])]
        for name, value in hidden_values(schema, node_id, self.prompt, self.extra_data).items():
            inputs[name] = [value]
        self.current_inputs = {
            name: [format_value(v) for v in values[:_FORMAT_ITEMS]] for name, values in inputs.items()
        }
        return inputs

    def _start(self, node_id: str, schema: NodeSchema, links: list[Link], available: Mapping[str, CacheEntry]):
        self.current = node_id
        self.current_inputs = {}
        self.interrupt.check()
        if self._announced != node_id:
            self._announced = node_id
            self.emit(events.EXECUTING, {"node": node_id, "display_node": self.display.get(node_id, node_id),
                                         "prompt_id": self.prompt_id})
        inputs = self._gather(node_id, schema, links, available)
        context = NodeContext(
            node_id=node_id,
            prompt_id=self.prompt_id,
            class_type=schema.class_type,
            prompt=self.prompt,
            extra_data=self.extra_data,
            runtime=self.runtime,
            interrupt=self.interrupt,
            on_progress=self._on_progress,
            on_text=self._on_text,
        )
        return inputs, context

    def lazy_status(self, node_id: str, node_type: NodeType, schema: NodeSchema, links: list[Link],
                    available: Mapping[str, CacheEntry]) -> set[str]:
        """The lazy input names the node asks to have evaluated, given what is available now."""
        inputs, context = self._start(node_id, schema, links, available)

        def check(kwargs):
            if first_blocker(kwargs, schema.input_is_list) is not None:
                return []
            with node_running(context):
                return node_type.check_lazy_status(context, kwargs)

        return lazy_requests(check, inputs, schema.input_is_list, self.interrupt.check)

    def run(self, node_id: str, node_type: NodeType, schema: NodeSchema, links: list[Link],
            available: Mapping[str, CacheEntry]) -> CacheEntry | PendingExpansion:
        """Call the node (list-mapped) and return its merged result, or its expansion; raises what the node raises."""
        inputs, context = self._start(node_id, schema, links, available)

        def call(kwargs):
            blocker = first_blocker(kwargs, schema.input_is_list)
            if blocker is not None:
                return blocked_output(schema, blocker)
            with node_running(context):
                return node_type.execute(context, kwargs)

        results = map_calls(call, inputs, schema.input_is_list, self.interrupt.check)
        if any(isinstance(result, NodeOutput) and result.expand for result in results):
            return PendingExpansion(node_id, results)
        entry = merge_results(schema, results)
        self.finish(node_id, entry)
        return entry

    def finish(self, node_id: str, entry: CacheEntry) -> None:
        """Record a node's result and announce its ui (`executed`)."""
        self.finished[node_id] = entry
        if entry.ui:
            self.emit(events.EXECUTED, {"node": node_id, "display_node": self.display.get(node_id, node_id),
                                        "output": entry.ui, "prompt_id": self.prompt_id})
        self.current = None


def blocked_output(schema: NodeSchema, blocker: ExecutionBlocker) -> NodeOutput:
    """What a call blocked by `blocker` returns: the blocker on every output; raises when it has a message."""
    if blocker.message is not None:
        raise ExecutionBlocked(blocker.message)
    return NodeOutput(values=tuple([blocker] if spec.is_list else blocker for spec in schema.outputs))
