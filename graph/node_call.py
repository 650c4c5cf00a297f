"""Calling one node with ComfyUI's list semantics and merging what the calls return.

Every stored output is a list. A node whose schema has `input_is_list` is called once
with whole lists. Any other node is called once per element of its longest input list,
shorter lists repeating their last element; a node without inputs is called once, and
a node with an empty input list is not called at all (its outputs are empty lists).
Values of an `is_list` output are concatenated across calls, other outputs collect one
value per call; ui dicts are merged key by key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from graph.cache import CacheEntry
from graph.schema import NodeOutput, NodeSchema


class NodeContractError(Exception):
    """A node returned something that breaks the NodeOutput contract."""


def hidden_values(schema: NodeSchema, node_id: str, prompt: dict, extra_data: dict) -> dict[str, Any]:
    """The hidden inputs of a node, by input name (ComfyUI's PROMPT, EXTRA_PNGINFO, UNIQUE_ID, ...)."""
    by_kind = {
        "PROMPT": prompt,
        "DYNPROMPT": prompt,
        "EXTRA_PNGINFO": extra_data.get("extra_pnginfo"),
        "UNIQUE_ID": node_id,
        "AUTH_TOKEN_COMFY_ORG": extra_data.get("auth_token_comfy_org"),
        "API_KEY_COMFY_ORG": extra_data.get("api_key_comfy_org"),
    }
    return {name: by_kind.get(kind) for name, kind in schema.hidden}


def call_count(inputs: Mapping[str, list], input_is_list: bool) -> int:
    """How many times a node is called for these input lists."""
    if input_is_list or not inputs:
        return 1
    lengths = [len(values) for values in inputs.values()]
    return 0 if min(lengths) == 0 else max(lengths)


def call_inputs(inputs: Mapping[str, list], index: int) -> dict[str, Any]:
    """The inputs of call number `index`: element `index` of each list, or its last element."""
    return {name: values[index] if index < len(values) else values[-1] for name, values in inputs.items()}


def map_calls(
    func: Callable[[dict[str, Any]], Any],
    inputs: Mapping[str, list],
    input_is_list: bool,
    before_call: Callable[[], None],
) -> list[Any]:
    """Call `func` once per list-mapped call, running `before_call` (the interrupt check) first."""
    if input_is_list:
        before_call()
        return [func({name: list(values) for name, values in inputs.items()})]
    results = []
    for index in range(call_count(inputs, False)):
        before_call()
        results.append(func(call_inputs(inputs, index)))
    return results


def merge_ui(merged: dict[str, list], ui: Any) -> None:
    """Adds one call's ui dict to `merged`, key by key (lists are concatenated, single values appended)."""
    if ui is None:
        return
    if not isinstance(ui, dict):
        raise NodeContractError(f"the ui of a node result must be a dict, not {type(ui).__name__}")
    for key, value in ui.items():
        bucket = merged.setdefault(key, [])
        if isinstance(value, (list, tuple)):
            bucket.extend(value)
        else:
            bucket.append(value)


def merge_results(schema: NodeSchema, results: list[Any]) -> CacheEntry:
    """One CacheEntry from the NodeOutputs of every call of a node."""
    outputs: list[list] = [[] for _ in schema.outputs]
    ui: dict[str, list] = {}
    for result in results:
        if not isinstance(result, NodeOutput):
            raise NodeContractError(f"node {schema.class_type} returned {type(result).__name__}, expected NodeOutput")
        values = tuple(result.values)
        if not values and outputs:
            values = (None,) * len(outputs)
        if len(values) != len(outputs):
            raise NodeContractError(
                f"node {schema.class_type} returned {len(values)} value(s) but declares {len(outputs)} output(s)"
            )
        for slot, (spec, value) in enumerate(zip(schema.outputs, values, strict=True)):
            if spec.is_list:
                if not isinstance(value, (list, tuple)):
                    raise NodeContractError(
                        f"output {slot} ({spec.name}) of node {schema.class_type} is a list output but got {type(value).__name__}"
                    )
                outputs[slot].extend(value)
            else:
                outputs[slot].append(value)
        merge_ui(ui, result.ui)
    return CacheEntry(outputs=tuple(outputs), ui=ui or None)


def lazy_requests(
    check: Callable[[dict[str, Any]], Any], inputs: Mapping[str, list], input_is_list: bool, before_call: Callable[[], None]
) -> set[str]:
    """The union of the input names `check_lazy_status` asks for across all mapped calls."""
    names: set[str] = set()
    for requested in map_calls(check, inputs, input_is_list, before_call):
        if requested:
            if isinstance(requested, str):
                requested = [requested]
            names.update(n for n in requested if isinstance(n, str))
    return names
