"""A small validator and executor with the interfaces of graph.validate / graph.executor.

The server tests run against these so they do not depend on the engine's progress; the
real engine is exercised in test_real_engine.py when it is importable.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from graph import events as ev
from graph.context import Interrupted, NodeContext


def _err(type_: str, message: str, details: str = "", **extra) -> dict:
    return {"type": type_, "message": message, "details": details, "extra_info": extra}


def is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)


@dataclass
class StubValidation:
    ok: bool
    error: dict | None = None
    node_errors: dict = field(default_factory=dict)
    outputs: list = field(default_factory=list)
    prompt: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"error": self.error, "node_errors": self.node_errors}


def stub_validate(prompt: dict, registry, partial_targets=None) -> StubValidation:
    for node_id, node in prompt.items():
        if not isinstance(node, dict) or not isinstance(node.get("class_type"), str):
            return StubValidation(False, _err("invalid_prompt", "Cannot execute because a node is missing the "
                                              "class_type property.", f"Node ID '#{node_id}'"))
        if registry.get(node["class_type"]) is None:
            return StubValidation(False, _err("invalid_prompt", f"Cannot execute because node {node['class_type']} "
                                              "does not exist.", f"Node ID '#{node_id}'"))
    outputs = [nid for nid, node in prompt.items() if registry.get(node["class_type"]).schema().output_node]
    if partial_targets is not None:
        outputs = [nid for nid in outputs if nid in partial_targets]
    if not outputs:
        return StubValidation(False, _err("prompt_no_outputs", "Prompt has no outputs"))
    node_errors, good = {}, []
    for out in outputs:
        reasons = []
        for spec in registry.get(prompt[out]["class_type"]).schema().inputs:
            value = prompt[out].get("inputs", {}).get(spec.name)
            if value is None and spec.required and "default" not in spec.options:
                reasons.append(_err("required_input_missing", "Required input is missing", spec.name))
            elif is_link(value) and value[0] not in prompt:
                reasons.append(_err("bad_linked_input", "Bad linked input", spec.name))
        if reasons:
            node_errors[out] = {"errors": reasons, "dependent_outputs": [out], "class_type": prompt[out]["class_type"]}
        else:
            good.append(out)
    if not good:
        return StubValidation(False, _err("prompt_outputs_failed_validation", "Prompt outputs failed validation"),
                              node_errors)
    return StubValidation(True, None, node_errors, good, prompt)


@dataclass
class StubResult:
    status: str
    outputs: dict
    messages: list
    executed: list
    cached: list
    error: dict | None = None


class StubExecutor:
    """server.ports.PromptRunner: runs the needed nodes in dependency order, caching node results by
    signature across prompts."""

    def __init__(self, registry, runtime=None) -> None:
        self.registry = registry
        self.runtime = runtime
        self.cache: dict[str, tuple] = {}
        self.resets = 0

    def reset(self) -> None:
        self.cache.clear()
        self.resets += 1

    def _order(self, prompt: dict, outputs: list) -> list[str]:
        order, seen = [], set()

        def visit(nid):
            if nid in seen:
                return
            seen.add(nid)
            for value in prompt[nid].get("inputs", {}).values():
                if is_link(value):
                    visit(value[0])
            order.append(nid)

        for out in outputs:
            visit(out)
        return order

    def _signature(self, prompt, nid, sigs):
        node = prompt[nid]
        inputs = {k: (sigs[v[0]], v[1]) if is_link(v) else v for k, v in node.get("inputs", {}).items()}
        schema = self.registry.get(node["class_type"]).schema()
        extra = nid if schema.output_node else ""
        return json.dumps([node["class_type"], inputs, extra], sort_keys=True, default=str)

    def preview_plan(self, prompt: dict, outputs: list[str]) -> dict:
        order = self._order(prompt, outputs)
        sigs: dict[str, str] = {}
        for nid in order:
            sigs[nid] = self._signature(prompt, nid, sigs)
        cached = [nid for nid in order if sigs[nid] in self.cache]
        return {"run": [nid for nid in order if nid not in cached], "cached": cached}

    def execute(self, prompt: dict, *, prompt_id: str, outputs: list[str], extra_data: dict | None = None,
                sink=ev.null_sink, interrupt=None) -> StubResult:
        ts = lambda: int(time.time() * 1000)  # noqa: E731
        order = self._order(prompt, outputs)
        sigs: dict[str, str] = {}
        for nid in order:
            sigs[nid] = self._signature(prompt, nid, sigs)
        cached = [nid for nid in order if sigs[nid] in self.cache]
        sink(ev.EXECUTION_START, {"prompt_id": prompt_id, "timestamp": ts()})
        sink(ev.EXECUTION_CACHED, {"nodes": cached, "prompt_id": prompt_id, "timestamp": ts()})
        values, ui_out, executed = {}, {}, []
        for nid in order:
            node = prompt[nid]
            if sigs[nid] in self.cache:
                values[nid], ui = self.cache[sigs[nid]]
                if ui:
                    ui_out[nid] = ui
                continue
            try:
                if interrupt is not None:
                    interrupt.check()
                sink(ev.EXECUTING, {"node": nid, "display_node": nid, "prompt_id": prompt_id})
                inputs = {k: values[v[0]][v[1]] if is_link(v) else v for k, v in node.get("inputs", {}).items()}

                def on_progress(node_id, value, total, preview, _nid=nid):
                    sink(ev.PROGRESS, {"value": value, "max": total, "prompt_id": prompt_id, "node": node_id})
                    if preview is not None:
                        sink(ev.PREVIEW, {"image": preview, "node_id": node_id, "prompt_id": prompt_id})

                ctx = NodeContext(nid, prompt_id, node["class_type"], prompt, extra_data or {}, self.runtime,
                                  interrupt, on_progress)
                result = self.registry.get(node["class_type"]).execute(ctx, inputs)
            except Interrupted:
                sink(ev.EXECUTION_INTERRUPTED, {"prompt_id": prompt_id, "node_id": nid,
                                                "node_type": node["class_type"], "executed": executed,
                                                "timestamp": ts()})
                return StubResult("interrupted", ui_out, [], executed, cached)
            except Exception as exc:
                error = {"prompt_id": prompt_id, "node_id": nid, "node_type": node["class_type"],
                         "executed": executed, "exception_message": str(exc), "exception_type": type(exc).__name__,
                         "traceback": [], "current_inputs": {}, "current_outputs": [], "timestamp": ts()}
                sink(ev.EXECUTION_ERROR, error)
                return StubResult("error", ui_out, [], executed, cached, error)
            values[nid] = result.values
            self.cache[sigs[nid]] = (result.values, result.ui)
            executed.append(nid)
            if result.ui:
                ui_out[nid] = result.ui
                sink(ev.EXECUTED, {"node": nid, "display_node": nid, "output": result.ui, "prompt_id": prompt_id})
        sink(ev.EXECUTION_SUCCESS, {"prompt_id": prompt_id, "timestamp": ts()})
        return StubResult("success", ui_out, [], executed, cached)
