"""Loads ComfyUI classic ("V1") node classes unchanged as graph.schema.NodeType.

Understood: INPUT_TYPES (required / optional / hidden; legacy combo lists; "COMBO" with an
`options` list), RETURN_TYPES, RETURN_NAMES, OUTPUT_TOOLTIPS, OUTPUT_IS_LIST, INPUT_IS_LIST,
FUNCTION, CATEGORY, DESCRIPTION, OUTPUT_NODE, DEPRECATED, EXPERIMENTAL, API_NODE,
NOT_IDEMPOTENT, IS_CHANGED, VALIDATE_INPUTS, check_lazy_status, and the return shapes
(tuple, `{"ui", "result"}`, `{"ui"}` alone, coroutines).

INPUT_TYPES is called every time the schema is asked for, as ComfyUI does, so file lists
stay current. One instance of the class is kept per node id (classic nodes may keep state
between prompts, and ComfyUI keeps them too).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from graph.schema import HIDDEN_KINDS, InputSpec, NodeOutput, NodeSchema, OutputSpec
from nodes.api.results import (
    AcceptedArguments,
    NodeDefinitionError,
    normalise_result,
    normalise_validation,
    run_to_completion,
)


def is_classic_node_class(obj: Any) -> bool:
    """True for a class that looks like a ComfyUI classic node (INPUT_TYPES + RETURN_TYPES + FUNCTION)."""
    return isinstance(obj, type) and all(hasattr(obj, a) for a in ("INPUT_TYPES", "RETURN_TYPES", "FUNCTION"))


def parse_input_types(class_type: str, input_types: Any) -> tuple[tuple[InputSpec, ...], tuple[tuple[str, str], ...]]:
    """INPUT_TYPES() -> (input specs in declared order, hidden (name, kind) pairs).

    Raises NodeDefinitionError naming the node, the section and the input when the
    declaration has a shape ComfyUI would not accept either.
    """
    if not isinstance(input_types, Mapping):
        raise NodeDefinitionError(f"node {class_type}: INPUT_TYPES() must return a dict, got {type(input_types).__name__}")
    # Sections other than required/optional/hidden are ignored, as ComfyUI's executor does.
    specs: list[InputSpec] = []
    for section in ("required", "optional"):
        entries = input_types.get(section)
        if entries is None:
            continue
        if not isinstance(entries, Mapping):
            raise NodeDefinitionError(f"node {class_type}: INPUT_TYPES()[{section!r}] must be a dict")
        for name, declared in entries.items():
            specs.append(_parse_input(class_type, str(name), declared, required=section == "required"))
    hidden = []
    hidden_entries = input_types.get("hidden")
    if hidden_entries is not None and not isinstance(hidden_entries, Mapping):
        raise NodeDefinitionError(f"node {class_type}: INPUT_TYPES()['hidden'] must be a dict")
    for name, kind in (hidden_entries or {}).items():
        # Some packs write hidden entries as ("PROMPT",) like the V3 object_info does.
        if isinstance(kind, (tuple, list)) and len(kind) >= 1:
            kind = kind[0]
        if not isinstance(kind, str):
            raise NodeDefinitionError(f"node {class_type}: hidden input {name!r} must name a kind such as 'PROMPT'")
        hidden.append((str(name), kind))
    return tuple(specs), tuple(hidden)


def _parse_input(class_type: str, name: str, declared: Any, required: bool) -> InputSpec:
    where = f"node {class_type}: input {name!r}"
    if isinstance(declared, (str, list)) and not isinstance(declared, tuple):
        declared = (declared,)  # tolerate a bare type instead of a 1-tuple
    if not isinstance(declared, tuple) or not 1 <= len(declared) <= 2:
        raise NodeDefinitionError(f"{where}: expected (TYPE,) or (TYPE, {{options}}), got {declared!r}")
    kind = declared[0]
    options = declared[1] if len(declared) == 2 else {}
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        raise NodeDefinitionError(f"{where}: options must be a dict, got {type(options).__name__}")
    options = dict(options)
    if isinstance(kind, (list, tuple)):  # legacy combo: the list of choices is the type
        return InputSpec(name=name, type="COMBO", required=required, options=options, choices=tuple(kind))
    if not isinstance(kind, str):
        raise NodeDefinitionError(f"{where}: type must be a string or a list of choices, got {kind!r}")
    if kind == "COMBO":
        choices = options.get("options", ())
        if not isinstance(choices, (list, tuple)):
            raise NodeDefinitionError(f"{where}: COMBO 'options' must be a list")
        options["options"] = list(choices)
        return InputSpec(name=name, type="COMBO", required=required, options=options, choices=tuple(choices))
    return InputSpec(name=name, type=kind, required=required, options=options)


def _output_specs(cls: type, class_type: str) -> tuple[tuple[OutputSpec, ...], dict[str, Any]]:
    return_types = getattr(cls, "RETURN_TYPES", ())
    if isinstance(return_types, str):
        raise NodeDefinitionError(f"node {class_type}: RETURN_TYPES must be a tuple, got the string {return_types!r}"
                                  " (missing comma?)")
    return_types = tuple(return_types)
    count = len(return_types)
    names = tuple(getattr(cls, "RETURN_NAMES", None) or ())
    is_list = tuple(getattr(cls, "OUTPUT_IS_LIST", None) or ())
    tooltips = getattr(cls, "OUTPUT_TOOLTIPS", None)
    for label, values in (("RETURN_NAMES", names), ("OUTPUT_IS_LIST", is_list)):
        if values and len(values) != count:
            raise NodeDefinitionError(
                f"node {class_type}: {label} has {len(values)} entries but RETURN_TYPES has {count}")
    extra: dict[str, Any] = {}
    specs = []
    for index, kind in enumerate(return_types):
        if isinstance(kind, (list, tuple)):  # a combo-list output; object_info shows the list
            extra["output_raw"] = [list(k) if isinstance(k, (list, tuple)) else k for k in return_types]
            kind = "COMBO"
        tooltip = tooltips[index] if tooltips and index < len(tooltips) else None
        specs.append(OutputSpec(type=str(kind), name=str(names[index]) if names else str(kind),
                                is_list=bool(is_list[index]) if is_list else False, tooltip=tooltip))
    if tooltips is not None:
        extra["output_tooltips"] = list(tooltips)
    if hasattr(cls, "API_NODE"):
        extra["api_node"] = bool(cls.API_NODE)
    return tuple(specs), extra


class ClassicNodeType:
    """Adapts one ComfyUI classic node class (registered under `class_type`) to NodeType."""

    def __init__(self, cls: type, class_type: str | None = None, runtime: Any = None, *,
                 python_module: str = "nodes", display_name: str | None = None) -> None:
        if not is_classic_node_class(cls):
            raise NodeDefinitionError(
                f"{getattr(cls, '__name__', cls)!r} is not a classic node class (needs INPUT_TYPES, RETURN_TYPES and FUNCTION)")
        self.cls = cls
        self.class_type = class_type or cls.__name__
        self.runtime = runtime
        self.python_module = python_module
        self.display_name = display_name
        function = cls.FUNCTION
        if not isinstance(function, str) or not callable(getattr(cls, function, None)):
            raise NodeDefinitionError(f"node {self.class_type}: FUNCTION {function!r} is not a method of the class")
        self.function = function
        self._outputs, self._output_extra = _output_specs(cls, self.class_type)
        self._is_changed = AcceptedArguments(cls.IS_CHANGED) if callable(getattr(cls, "IS_CHANGED", None)) else None
        validator = getattr(cls, "VALIDATE_INPUTS", None)
        self._validate = AcceptedArguments(validator) if callable(validator) else None
        self._instances: dict[str, Any] = {}
        self._lock = threading.Lock()

    # -- graph.schema.NodeType

    def schema(self) -> NodeSchema:
        cls = self.cls
        inputs, hidden = parse_input_types(self.class_type, cls.INPUT_TYPES())
        unknown_hidden = [kind for _, kind in hidden if kind not in HIDDEN_KINDS]
        if unknown_hidden:
            raise NodeDefinitionError(f"node {self.class_type}: unknown hidden input kind(s) {unknown_hidden}")
        return NodeSchema(
            class_type=self.class_type,
            inputs=inputs,
            outputs=self._outputs,
            hidden=hidden,
            output_node=bool(getattr(cls, "OUTPUT_NODE", False)),
            input_is_list=bool(getattr(cls, "INPUT_IS_LIST", False)),
            display_name=self.display_name,
            category=getattr(cls, "CATEGORY", None) or "sd",
            description=getattr(cls, "DESCRIPTION", None) or "",
            python_module=self.python_module,
            deprecated=bool(getattr(cls, "DEPRECATED", False)),
            experimental=bool(getattr(cls, "EXPERIMENTAL", False)),
            not_idempotent=bool(getattr(cls, "NOT_IDEMPOTENT", False)) or any(k == "UNIQUE_ID" for _, k in hidden),
            custom_validated=self._validate.named_for_validation() if self._validate else frozenset(),
            validates_input_types=bool(self._validate and "input_types" in self._validate.names),
            extra=dict(self._output_extra),
        )

    def fingerprint(self, inputs: Mapping[str, Any]) -> Any:
        if self._is_changed is None:
            return None
        return self.cls.IS_CHANGED(**self._is_changed.pick(inputs))

    def validate(self, inputs: Mapping[str, Any], input_types: Mapping[str, str] | None) -> list[tuple[str | None, str]]:
        if self._validate is None:
            return []
        args = self._validate.pick({k: v for k, v in inputs.items() if k != "input_types"})
        if "input_types" in self._validate.names:
            args["input_types"] = dict(input_types or {})
        return normalise_validation(self.cls.VALIDATE_INPUTS(**args))

    def check_lazy_status(self, context: Any, inputs: Mapping[str, Any]) -> list[str]:
        instance = self.instance(_node_id(context))
        method = getattr(instance, "check_lazy_status", None)
        if method is None:
            return []
        return list(run_to_completion(method(**inputs)) or [])

    def execute(self, context: Any, inputs: Mapping[str, Any]) -> NodeOutput:
        instance = self.instance(_node_id(context))
        result = run_to_completion(getattr(instance, self.function)(**inputs))
        return normalise_result(result, self.class_type, len(self._outputs))

    # -- instances

    def instance(self, node_id: str) -> Any:
        """The instance kept for `node_id` (created on first use)."""
        with self._lock:
            instance = self._instances.get(node_id)
            if instance is None:
                instance = self.cls()
                self._instances[node_id] = instance
            return instance

    def release_instances(self, keep: set[str] | None = None) -> None:
        """Forgets the instances of node ids not in `keep` (all of them when keep is None)."""
        with self._lock:
            for node_id in [n for n in self._instances if keep is None or n not in keep]:
                del self._instances[node_id]

    def __repr__(self) -> str:
        return f"ClassicNodeType({self.class_type})"


def _node_id(context: Any) -> str:
    return str(getattr(context, "node_id", "") or "")
