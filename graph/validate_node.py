"""Validation of one node's inputs, producing ComfyUI-shaped error dicts.

`check_node` looks at a single node: required inputs present, links well formed and
pointing at an existing output of a compatible type, no literal where only a link can go,
literals coerced to their declared type and inside min/max/choices, then the node type's
own `validate` hook. It never recurses: the caller (graph.validate) walks the graph
iteratively. Every text and value put into an error is cut to size (graph.error_bounds).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graph.coerce import CoercionError, coerce_literal
from graph.dynamic_inputs import expand_dynamic_inputs
from graph.error_bounds import MAX_DETAILS_TEXT, capped_traceback, cut_text, json_safe
from graph.prompt import link_index, node_inputs, unwrap_literal, wrap_literal
from graph.schema import InputSpec, NodeSchema, NodeType
from graph.types import COMBO, types_compatible

# Combo lists longer than this are summarised in errors, as ComfyUI does.
COMBO_LIST_LIMIT = 20


@dataclass
class NodeCheck:
    """What checking one node found."""

    errors: list[dict] = field(default_factory=list)
    # The node's inputs with literals coerced (list literals re-wrapped in __value__).
    inputs: dict = field(default_factory=dict)
    # Ids of existing nodes this node links to through declared inputs (duplicates possible).
    sources: list[str] = field(default_factory=list)


def input_config(spec: InputSpec) -> list:
    """ComfyUI's ``[type, options]`` pair for an input (a combo's type is its list of choices)."""
    kind: Any = json_safe(spec.choices) if spec.is_combo else spec.type
    return [kind, json_safe(dict(spec.options))]


def error(kind: str, message: str, details: str, **extra_info: Any) -> dict:
    """One ComfyUI error dict; long texts are cut (graph.error_bounds)."""
    return {"type": kind, "message": cut_text(message), "details": cut_text(details, MAX_DETAILS_TEXT), "extra_info": extra_info}


def exception_info(exc: BaseException) -> dict:
    """extra_info fields describing an exception, as ComfyUI reports them."""
    kind = type(exc)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    return {
        "exception_message": cut_text(str(exc)),
        "exception_type": name,
        "traceback": capped_traceback(traceback.format_tb(exc.__traceback__)),
    }


def _in_choices(value: Any, choices: tuple) -> bool:
    try:
        if value not in choices:
            return False
    except TypeError:
        return False
    if isinstance(value, (bool, int, float)):
        # True == 1 == 1.0 in Python; a boolean only matches a boolean choice.
        is_bool = isinstance(value, bool)
        return any(c == value and isinstance(c, bool) == is_bool for c in choices)
    return True


def _escapes_folder(value: Any) -> bool:
    """True for combo values shaped like a path that leaves its folder."""
    if not isinstance(value, str):
        return False
    if "\x00" in value or value.startswith(("/", "\\")) or (len(value) > 1 and value[1] == ":"):
        return True
    return ".." in value.replace("\\", "/").split("/")


def _choices_text(choices: tuple) -> str:
    if len(choices) > COMBO_LIST_LIMIT:
        return f"(list of length {len(choices)})"
    return str(list(choices))


class _Checker:
    """Checks one node; split into methods per input kind to keep each small."""

    def __init__(self, node_id: str, node: dict, schema: NodeSchema, prompt: dict, schema_of: Callable[[str], NodeSchema]):
        self.node_id = node_id
        self.raw_inputs = node_inputs(node)
        self.schema = expand_dynamic_inputs(schema, self.raw_inputs)
        self.prompt = prompt
        self.schema_of = schema_of
        self.result = NodeCheck(inputs=dict(self.raw_inputs))
        self.hook_inputs: dict[str, Any] = {}
        self.received_types: dict[str, Any] = {}
        self.type_errors = False
        custom = schema.custom_validated
        self.all_custom = "*" in custom
        self.custom = custom

    def run(self) -> NodeCheck:
        for spec in self.schema.inputs:
            name = spec.name
            if name not in self.raw_inputs:
                if spec.required:
                    self.result.errors.append(
                        error("required_input_missing", "Required input is missing", name, input_name=name)
                    )
                continue
            value = self.raw_inputs[name]
            if type(value) is list:
                self._check_link(spec, value)
            elif spec.links_only and not (value is None and not spec.required):
                self._literal_for_socket(spec, value)
            else:
                self._check_literal(spec, value)
        return self.result

    def _literal_for_socket(self, spec: InputSpec, value: Any) -> None:
        """A literal where only a link can go (a null on an optional socket passes, as in ComfyUI)."""
        name = spec.name
        self.hook_inputs[name] = None
        if value is None:
            self.result.errors.append(
                error("required_input_missing", "Required input is missing", f"{name}: null is not a link", input_name=name)
            )
            return
        self._bad_link(
            spec,
            value,
            "Bad linked input, must be a link [node_id, output_index]",
            f"{name}: a {spec.type} input takes another node's output, not the literal {json_safe(value)!r:.80}",
        )

    def _bad_link(self, spec: InputSpec, value: Any, message: str, details: str) -> None:
        self.result.errors.append(
            error(
                "bad_linked_input",
                message,
                details,
                input_name=spec.name,
                input_config=input_config(spec),
                received_value=json_safe(value),
            )
        )

    def _check_link(self, spec: InputSpec, value: list) -> None:
        name = spec.name
        self.hook_inputs[name] = None
        if len(value) != 2:
            self._bad_link(spec, value, "Bad linked input, must be a length-2 list of [node_id, slot_index]", name)
            return
        source_id, raw_index = value
        if not isinstance(source_id, str):
            self._bad_link(spec, value, "Bad linked input, the node id must be a string", f"{name}: {source_id!r:.80}")
            return
        source = self.prompt.get(source_id)
        if source is None:
            self._bad_link(
                spec, value, "Bad linked input, the linked node does not exist", f"{name}: node '#{source_id}' is not in the prompt"
            )
            return
        self.result.sources.append(source_id)
        index = link_index(raw_index)
        if index is None:
            self._bad_link(
                spec, value, "Bad linked input, the output index must be a whole number", f"{name}: {raw_index!r:.80}"
            )
            return
        source_type = source["class_type"]
        outputs = self.schema_of(source_type).outputs
        if not 0 <= index < len(outputs):
            self._bad_link(
                spec,
                value,
                "Bad linked input, output index out of range",
                f"{name}: node '#{source_id}' ({source_type}) has {len(outputs)} output(s), index {index}",
            )
            return
        received = outputs[index].type
        self.received_types[name] = received
        expected = COMBO if spec.is_combo else spec.type
        if not self.schema.validates_input_types and not types_compatible(received, expected):
            self.result.errors.append(
                error(
                    "return_type_mismatch",
                    "Return type mismatch between linked nodes",
                    f"{name}, received_type({received}) mismatch input_type({expected})",
                    input_name=name,
                    input_config=input_config(spec),
                    received_type=received,
                    linked_node=json_safe(value),
                )
            )

    def _check_literal(self, spec: InputSpec, raw: Any) -> None:
        name = spec.name
        value = unwrap_literal(raw)
        try:
            value = coerce_literal(value, spec.type)
        except CoercionError as exc:
            self.type_errors = True
            self.hook_inputs[name] = value
            self.result.errors.append(
                error(
                    "invalid_input_type",
                    f"Failed to convert an input value to a {spec.type} value",
                    f"{name}, {json_safe(value)!r:.200}, {exc}",
                    input_name=name,
                    input_config=input_config(spec),
                    received_value=json_safe(value),
                    exception_message=str(exc),
                )
            )
            return
        self.hook_inputs[name] = value
        self.result.inputs[name] = wrap_literal(value)
        custom = self.all_custom or name in self.custom
        try:
            self._check_range_and_choices(spec, value, custom)
        except Exception as exc:  # a malformed declaration (e.g. a non-numeric max)
            self.result.errors.append(
                error(
                    "exception_during_inner_validation",
                    "Exception when validating inner node",
                    str(exc),
                    input_name=name,
                    input_config=input_config(spec),
                    **exception_info(exc),
                )
            )

    def _check_range_and_choices(self, spec: InputSpec, value: Any, custom: bool) -> None:
        name = spec.name
        options = spec.options
        if not custom and isinstance(value, (int, float)) and not isinstance(value, bool):
            low, high = options.get("min"), options.get("max")
            if low is not None and value < low:
                self.result.errors.append(
                    error(
                        "value_smaller_than_min",
                        f"Value {value} smaller than min of {low}",
                        name,
                        input_name=name,
                        input_config=input_config(spec),
                        received_value=json_safe(value),
                    )
                )
                return
            if high is not None and value > high:
                self.result.errors.append(
                    error(
                        "value_bigger_than_max",
                        f"Value {value} bigger than max of {high}",
                        name,
                        input_name=name,
                        input_config=input_config(spec),
                        received_value=json_safe(value),
                    )
                )
                return
        if spec.is_combo and (not custom or _escapes_folder(value)) and not _in_choices(value, spec.choices):
            choices = spec.choices
            self.result.errors.append(
                error(
                    "value_not_in_list",
                    "Value not in list",
                    f"{name}: '{json_safe(value)}' not in {_choices_text(choices)}",
                    input_name=name,
                    input_config=None if len(choices) > COMBO_LIST_LIMIT else input_config(spec),
                    received_value=json_safe(value),
                )
            )

    def run_hook(self, node_type: NodeType) -> None:
        """The node type's own validation (skipped when literals already had the wrong type)."""
        if self.type_errors:
            return
        input_types = dict(self.received_types) if self.schema.validates_input_types else None
        try:
            problems = node_type.validate(dict(self.hook_inputs), input_types)
            problems = [(name, str(message)) for name, message in (problems or [])]
        except Exception as exc:
            self.result.errors.append(
                error("exception_during_validation", "Exception when validating node", str(exc), **exception_info(exc))
            )
            return
        for name, message in problems:
            details = f"{name} - {message}" if name else message
            self.result.errors.append(
                error("custom_validation_failed", "Custom validation failed for node", details, input_name=name)
            )


def check_node(
    node_id: str,
    node: dict,
    schema: NodeSchema,
    node_type: NodeType,
    prompt: dict,
    schema_of: Callable[[str], NodeSchema],
) -> NodeCheck:
    """Every error of one node's own inputs (upstream nodes are checked separately).

    `prompt` must already have a valid shape with known class types; `schema_of` returns
    the schema of a class type present in it.
    """
    checker = _Checker(node_id, node, schema, prompt, schema_of)
    checker.run()
    checker.run_hook(node_type)
    return checker.result
