"""Calling node functions and normalising what they return; shared by both adapters.

A node function may return a tuple of output values, a `graph.schema.NodeOutput`,
ComfyUI's `{"ui": {...}, "result": (...)}` dict (or `{"ui": ...}` alone), and may be a
coroutine. Everything becomes a NodeOutput whose `values` match the declared outputs,
or a NodeResultError naming the node and what was wrong.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import threading
from collections.abc import Callable, Mapping
from typing import Any

from graph.schema import NodeOutput


class NodeResultError(TypeError):
    """A node returned something that does not match its declared outputs."""


class NodeDefinitionError(ValueError):
    """A node class declares something invalid (bad input spec, missing FUNCTION, ...)."""


class AcceptedArguments:
    """Which keyword arguments a function takes, so it is called with only those."""

    def __init__(self, fn: Callable, skip: tuple[str, ...] = ()) -> None:
        try:
            params = inspect.signature(fn).parameters.values()
        except (TypeError, ValueError):  # builtins without a signature: pass everything
            self.names: frozenset[str] = frozenset()
            self.takes_kwargs = True
            return
        self.takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in params)
        self.names = frozenset(
            p.name for p in params
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in skip
        )

    def pick(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The entries of `values` the function accepts (all of them with **kwargs)."""
        if self.takes_kwargs:
            return dict(values)
        return {k: v for k, v in values.items() if k in self.names}

    def named_for_validation(self) -> frozenset[str]:
        """ComfyUI's rule: the inputs a VALIDATE_INPUTS-like function names ("*" for **kwargs)."""
        return frozenset({"*"}) if self.takes_kwargs else self.names - {"input_types"}


def run_to_completion(value: Any) -> Any:
    """Awaits `value` if it is awaitable (a coroutine from an `async def` node), else returns it.

    Uses a fresh event loop; when the calling thread already runs a loop, the awaitable
    is completed on a helper thread so the caller's loop is not re-entered.
    """
    if not inspect.isawaitable(value):
        return value

    async def _await() -> Any:
        return await value

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_await())
    box: dict[str, Any] = {}

    def _worker() -> None:
        try:
            box["value"] = asyncio.run(_await())
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    # The helper thread runs in a copy of this context, so the running node (graph/running.py) is seen there too.
    thread = threading.Thread(target=contextvars.copy_context().run, args=(_worker,), name="async-node", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def normalise_ui(ui: Any, class_type: str) -> dict[str, list] | None:
    """ComfyUI's ui dict of lists; tuples become lists and single values are wrapped."""
    if ui is None:
        return None
    if not isinstance(ui, Mapping):
        raise NodeResultError(f"node {class_type}: 'ui' must be a dict of lists, got {type(ui).__name__}")
    normalised = {}
    for key, value in ui.items():
        if isinstance(value, list):
            normalised[str(key)] = value
        elif isinstance(value, tuple):
            normalised[str(key)] = list(value)
        else:
            normalised[str(key)] = [value]
    return normalised


def normalise_result(result: Any, class_type: str, output_count: int, *, wrap_single: bool = False) -> NodeOutput:
    """Turns any supported return value into a NodeOutput with `output_count` values.

    `wrap_single` (declared nodes): a bare value from a one-output node is that output,
    including a dict such as a LATENT `{"samples": ...}` (unless its keys are only
    "ui"/"result", which is ComfyUI's return dict).
    """
    ui = expand = None
    if isinstance(result, NodeOutput):
        values, ui, expand = result.values, result.ui, result.expand
    elif isinstance(result, Mapping) and not (wrap_single and output_count == 1 and not _is_result_dict(result)):
        unknown = set(result) - {"ui", "result", "expand"}
        if unknown:
            raise NodeResultError(
                f"node {class_type}: returned a dict with unexpected keys {sorted(map(str, unknown))}; "
                "expected 'ui' and/or 'result'"
            )
        ui = result.get("ui")
        expand = result.get("expand")  # node expansion: graph/expansion.py runs it
        values = result.get("result")
        if values is None:
            values = (None,) * output_count
    elif result is None and output_count == 0:
        values = ()
    elif isinstance(result, (tuple, list)) and not (wrap_single and output_count == 1 and isinstance(result, list)):
        values = result
    elif wrap_single and output_count == 1:
        values = (result,)
    else:
        raise NodeResultError(
            f"node {class_type}: returned {type(result).__name__}; expected a tuple of {output_count} output value(s)"
        )
    if not isinstance(values, (tuple, list)):
        if wrap_single and output_count == 1:
            values = (values,)
        else:
            raise NodeResultError(f"node {class_type}: 'result' must be a tuple, got {type(values).__name__}")
    values = tuple(values)
    if len(values) != output_count:
        raise NodeResultError(
            f"node {class_type}: returned {len(values)} value(s) but declares {output_count} output(s)"
        )
    return NodeOutput(values=values, ui=normalise_ui(ui, class_type), expand=expand or None)


def _is_result_dict(value: Mapping) -> bool:
    """True for ComfyUI's {"ui", "result"} return dict (as opposed to a dict-valued output)."""
    return bool(value) and set(value) <= {"ui", "result", "expand"}


def normalise_validation(result: Any) -> list[tuple[str | None, str]]:
    """VALIDATE_INPUTS-style results as (input name or None, message) pairs.

    True / None / [] mean valid; a string is the message; False (or anything else) is a
    generic failure; one (name, message) tuple, or a list of such pairs or of strings,
    is taken as is.
    """
    if result is True or result is None:
        return []
    if isinstance(result, str):
        return [(None, result)]
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], str) \
            and (result[0] is None or isinstance(result[0], str)):
        return [(result[0], result[1])]
    if isinstance(result, (list, tuple)):
        problems: list[tuple[str | None, str]] = []
        for item in result:
            if isinstance(item, str):
                problems.append((None, item))
            elif isinstance(item, (list, tuple)) and len(item) == 2:
                problems.append((None if item[0] is None else str(item[0]), str(item[1])))
            else:
                problems.append((None, str(item)))
        return problems
    if result is False:
        return [(None, "Custom validation failed")]
    return [(None, f"Custom validation failed: {result!r}")]
