"""Runs ComfyUI V3 node classes (`io.ComfyNode` subclasses) as graph.schema.NodeType.

`V3NodeType(cls)` reads `cls.GET_SCHEMA()` each time the schema is asked for (as ComfyUI calls
INPUT_TYPES), so options computed in `define_schema` stay current, and turns it into the
NodeSchema that validation, planning, the cache and the executor already use:
- inputs keep ComfyUI's option names (default, min, max, step, lazy, options, ...), so the generic
  range and combo checks apply; the inputs `validate_inputs` names skip them, as in ComfyUI;
- `fingerprint_inputs` is the cache fingerprint (IS_CHANGED), `check_lazy_status` decides which lazy
  inputs run (only when the node overrides it, as in ComfyUI);
- hidden values never reach `execute` as keywords: they are in `cls.hidden` (`cls.hidden.unique_id`),
  on a short-lived subclass made for each call, so runs never share them;
- `execute` may be async and returns `io.NodeOutput(*values, ui=..., expand=...)`, a tuple, a classic dict
  or None; a ui object (`ui.PreviewText`, ...) becomes its dict; `block_execution` blocks the outputs;
  `expand` (a GraphBuilder's `finalize()`) is a subgraph the executor runs in the node's place (graph/expansion.py);
- the dynamic types keep ComfyUI's types and options (COMFY_MATCHTYPE_V3, COMFY_AUTOGROW_V3,
  COMFY_DYNAMICCOMBO_V3), which graph/dynamic_inputs.py expands per node into dotted inputs
  (`images.image0`, `mode.factor`); `_bind` nests those back as ComfyUI hands them to `execute`:
  `images={"image0": ...}` (`{}` when none came), `mode={"mode": "<key>", "factor": ...}`;
- a MultiCombo's value is a list: its items are checked against the options here (the generic combo check,
  made for one value, skips it).
`object_info()` is `Schema.get_v1_info`, ComfyUI's entry for a V3 node, with this registration's
id and python module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graph.blocking import ExecutionBlocker
from graph.schema import InputSpec, NodeOutput, NodeSchema, OutputSpec
from nodes.api.object_info import json_ready
from nodes.api.results import (
    AcceptedArguments,
    NodeDefinitionError,
    NodeResultError,
    normalise_result,
    normalise_validation,
    run_to_completion,
)
from nodes.compat.comfy_api.latest._io import Autogrow, ComfyNode, DynamicCombo, HiddenHolder, Input, Schema
from nodes.compat.comfy_api.latest._io import NodeOutput as V3Output

# Hidden values travel under these input names, so they never collide with a real input ("prompt").
HIDDEN_PREFIX = "__v3_hidden__"


def is_v3_node_class(obj: Any) -> bool:
    """True for a subclass of comfy_api's `io.ComfyNode`."""
    return isinstance(obj, type) and issubclass(obj, ComfyNode) and obj is not ComfyNode


def _overrides(cls: type, name: str) -> bool:
    """True when `cls` defines `name` itself rather than inheriting ComfyNode's placeholder."""
    own = getattr(getattr(cls, name, None), "__func__", None)
    return own is not None and own is not getattr(ComfyNode, name).__func__


def _output_type(io_type: Any) -> str:
    return "COMBO" if isinstance(io_type, (list, tuple)) else str(io_type)


def _multi_combos(inputs: list[Input]) -> dict[str, tuple]:
    """{input name as the prompt sends it: its options} for the MultiCombo inputs, top level and in dynamic combos."""
    found: dict[str, tuple] = {}
    for item in inputs:
        if getattr(item, "multiselect", False):
            found[item.id] = tuple(item.options or ())
        elif isinstance(item, DynamicCombo.Input):
            for option in item.options:
                found.update({f"{item.id}.{name}": choices for name, choices in _multi_combos(option.inputs).items()})
    return found


def _multi_combo_problems(inputs: Mapping[str, Any], multi: Mapping[str, tuple]) -> list[tuple[str | None, str]]:
    """ComfyUI's multiselect rule: the value is one option or a list of options, each in the list."""
    problems = []
    for name, choices in multi.items():
        if name not in inputs or inputs[name] is None:
            continue
        value = inputs[name]
        chosen = value if isinstance(value, (list, tuple)) else [value]
        wrong = [item for item in chosen if item not in choices]
        if wrong:
            problems.append((name, f"{name}: {wrong} not in {list(choices)}"))
    return problems


def nest_dynamic_values(inputs: Mapping[str, Any], declared: list[Input]) -> dict[str, Any]:
    """The prompt's dotted pieces of Autogrow and DynamicCombo inputs gathered into one dict each, as ComfyUI does."""
    growing = {item.id for item in declared if isinstance(item, Autogrow.Input)}
    combos = {item.id for item in declared if isinstance(item, DynamicCombo.Input)}
    if not growing and not combos:
        return dict(inputs)
    nested: dict[str, Any] = {name: {} for name in growing}
    for name, value in inputs.items():
        group, dot, piece = name.partition(".")
        if dot and group in growing | combos:
            nested.setdefault(group, {})[piece] = value
        elif name in combos:  # the chosen key, kept under the combo's own id ({"mode": "scale", ...})
            nested.setdefault(name, {}).update(value if isinstance(value, Mapping) else {name: value})
        else:
            nested[name] = value
    return nested


class V3NodeType:
    """Adapts one V3 node class (registered under `class_type`, by default its schema's node_id) to NodeType."""

    def __init__(self, cls: type, runtime: Any = None, *, class_type: str | None = None,
                 python_module: str | None = None, display_name: str | None = None) -> None:
        if not is_v3_node_class(cls):
            raise NodeDefinitionError(f"{cls!r} is not a V3 node class (a subclass of comfy_api's io.ComfyNode)")
        self.cls = cls
        self.runtime = runtime
        try:
            first = cls.GET_SCHEMA()
        except Exception as exc:
            raise NodeDefinitionError(f"V3 node {cls.__name__}: {exc}") from exc
        self.class_type = class_type or first.node_id
        self.python_module = python_module or cls.__module__
        self.display_name = display_name
        if python_module:
            cls.RELATIVE_PYTHON_MODULE = python_module  # ComfyUI sets it too; get_v1_info reads it
        self._validate = AcceptedArguments(cls.validate_inputs) if _overrides(cls, "validate_inputs") else None
        self._fingerprint = AcceptedArguments(cls.fingerprint_inputs) if _overrides(cls, "fingerprint_inputs") \
            else None
        self._lazy_status = AcceptedArguments(cls.check_lazy_status) if _overrides(cls, "check_lazy_status") \
            else None

    def _schema(self) -> Schema:
        return self.cls.GET_SCHEMA()

    # -- graph.schema.NodeType

    def schema(self) -> NodeSchema:
        declared = self._schema()
        multi = _multi_combos(declared.inputs)
        custom = self._validate.named_for_validation() if self._validate else frozenset()
        inputs = []
        for item in declared.inputs:
            io_type = item.get_io_type()
            options = item.as_dict()
            options.pop("optional", None)
            choices = tuple(options.get("options") or ()) if io_type == "COMBO" else None
            inputs.append(InputSpec(name=item.id, type=str(io_type), required=not item.optional, options=options,
                                    choices=choices))
        outputs = tuple(OutputSpec(type=_output_type(o.get_io_type()), name=o.display_name or str(o.io_type),
                                   is_list=bool(o.is_output_list), tooltip=o.tooltip) for o in declared.outputs)
        hidden = tuple((HIDDEN_PREFIX + h.name, h.value) for h in declared.hidden)
        return NodeSchema(
            class_type=self.class_type,
            inputs=tuple(inputs),
            outputs=outputs,
            hidden=hidden,
            output_node=bool(declared.is_output_node),
            input_is_list=bool(declared.is_input_list),
            display_name=self.display_name or declared.display_name,
            category=declared.category or "sd",
            description=declared.description or "",
            python_module=self.python_module,
            deprecated=bool(declared.is_deprecated),
            experimental=bool(declared.is_experimental),
            not_idempotent=bool(declared.not_idempotent) or any(kind == "UNIQUE_ID" for _, kind in hidden),
            custom_validated=custom | frozenset(multi),
            validates_input_types=bool(self._validate and "input_types" in self._validate.names),
            extra={"v3": True},
        )

    def object_info(self) -> dict[str, Any]:
        """ComfyUI's /object_info entry for this V3 node (GET_NODE_INFO_V1), under this registration's id."""
        info = self._schema().get_v1_info(self.cls)
        info["name"] = self.class_type
        info["python_module"] = self.python_module
        if self.display_name:
            info["display_name"] = self.display_name
        return json_ready(info)

    def fingerprint(self, inputs: Mapping[str, Any]) -> Any:
        if self._fingerprint is None:
            return None
        node, values = self._bind(inputs)
        return run_to_completion(node.fingerprint_inputs(**self._fingerprint.pick(values)))

    def validate(self, inputs: Mapping[str, Any], input_types: Mapping[str, str] | None) -> list[tuple[str | None, str]]:
        own = self._validate.named_for_validation() if self._validate else frozenset()
        multi = {} if "*" in own else {k: v for k, v in _multi_combos(self._schema().inputs).items() if k not in own}
        problems = _multi_combo_problems(inputs, multi)  # like every generic check, skipped for what the node checks
        if self._validate is None or problems:
            return problems
        node, values = self._bind({k: v for k, v in inputs.items() if k != "input_types"})
        args = self._validate.pick(values)
        if "input_types" in self._validate.names:
            args["input_types"] = dict(input_types or {})
        return normalise_validation(run_to_completion(node.validate_inputs(**args)))

    def check_lazy_status(self, context: Any, inputs: Mapping[str, Any]) -> list[str]:
        if self._lazy_status is None:
            return []
        node, values = self._bind(inputs)
        return list(run_to_completion(node.check_lazy_status(**self._lazy_status.pick(values))) or [])

    def execute(self, context: Any, inputs: Mapping[str, Any]) -> NodeOutput:
        node, values = self._bind(inputs)
        result = run_to_completion(node.execute(**values))
        count = len(self._schema().outputs)
        if result is None:
            result = V3Output()
        elif isinstance(result, ExecutionBlocker):
            result = V3Output(block_execution=result.message)
        elif isinstance(result, tuple):
            result = V3Output(*result)
        elif isinstance(result, Mapping):
            result = V3Output.from_dict(dict(result))
        elif not isinstance(result, V3Output):
            raise NodeResultError(f"node {self.class_type}: execute() returned {type(result).__name__}; expected "
                                  "io.NodeOutput(...), a tuple, a {'ui', 'result'} dict or None")
        ui = result.ui.as_dict() if hasattr(result.ui, "as_dict") else result.ui
        if result.block_execution is not None:
            return NodeOutput(values=(ExecutionBlocker(result.block_execution),) * count)
        return normalise_result({"ui": ui, "result": result.args or None, "expand": result.expand}, self.class_type,
                                count)

    # -- calls

    def _bind(self, inputs: Mapping[str, Any]) -> tuple[type, dict[str, Any]]:
        """(a subclass of the node whose `hidden` holds this call's hidden values, the other inputs)."""
        hidden = {name[len(HIDDEN_PREFIX):]: value for name, value in inputs.items() if name.startswith(HIDDEN_PREFIX)}
        values = nest_dynamic_values({name: value for name, value in inputs.items()
                                      if not name.startswith(HIDDEN_PREFIX)}, self._schema().inputs)
        node = type(self.cls.__name__, (self.cls,), {"hidden": HiddenHolder(**hidden), "__module__": self.cls.__module__,
                                                     "__qualname__": self.cls.__qualname__})
        return node, values

    def __repr__(self) -> str:
        return f"V3NodeType({self.class_type})"
