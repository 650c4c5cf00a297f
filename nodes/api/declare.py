"""The declaration API: a node is a small declarative class.

    class AddInts(Node):
        node_id = "AddInts"                      # the class_type (ComfyUI's name where it has one)
        display_name = "Add"; category = "utils/math"
        inputs = [Int("a", default=0), Int("b", default=0, tooltip="second term")]
        outputs = [Out("INT", "sum")]

        @classmethod
        def run(cls, ctx, *, a, b):
            return (a + b,)

`run` is a classmethod taking the NodeContext and then every declared input and hidden
name by keyword; it returns a tuple (one value per output; a bare value, even a dict, for
a one-output node), a NodeOutput, or ComfyUI's `{"ui": ..., "result": ...}` dict. It may be
`async`. Optional classmethods, each taking the context first and then the inputs it
names: `fingerprint(cls, ctx, ...)` (ComfyUI's IS_CHANGED), `validate(cls, ctx, ...)`
(VALIDATE_INPUTS; the inputs it names skip the generic range/combo checks, `input_types`
receives the link types) and `check_lazy_status(cls, ctx, ...)`. The context of
fingerprint and validate carries the runtime but no node or prompt id (empty strings),
and they get no hidden inputs: they are asked before anything runs. Nodes hold no
state: they are never instantiated.

`DeclaredNodeType(cls, runtime)` adapts such a class to graph.schema.NodeType. It checks
at registration that the methods take what the declaration gives them
(nodes/api/signature_check.py), so a misspelt keyword is refused with the node named.
Combo options given as `FileList("checkpoints")` are read from the runtime's folders
every time the schema is asked for, so a new file shows up at the next validation or
/object_info. The input classes live in nodes/api/inputs.py and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from graph.context import NodeContext
from graph.schema import NodeOutput, NodeSchema
from nodes.api.inputs import (
    HIDDEN_NAMES,
    Autogrow,
    Boolean,
    Combo,
    FileList,
    Float,
    Input,
    Int,
    Out,
    Socket,
    String,
)
from nodes.api.results import NodeDefinitionError, normalise_result, normalise_validation, run_to_completion
from nodes.api.signature_check import HOOKS, check_node_methods
from nodes.api.v3_inputs import DynamicCombo

__all__ = ["HIDDEN_NAMES", "Boolean", "Combo", "DeclaredNodeType", "FileList", "Float", "Input", "Int", "Node",
           "Out", "Socket", "String"]


class Node:
    """Base class of declared nodes. Override the class attributes and `run`."""

    node_id: ClassVar[str] = ""
    display_name: ClassVar[str | None] = None
    category: ClassVar[str] = "sd"
    description: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    output_node: ClassVar[bool] = False
    input_is_list: ClassVar[bool] = False
    not_idempotent: ClassVar[bool] = False
    deprecated: ClassVar[bool] = False
    experimental: ClassVar[bool] = False
    # Hidden kinds the node wants ("PROMPT", "EXTRA_PNGINFO", "UNIQUE_ID", "DYNPROMPT");
    # each arrives as a keyword named by HIDDEN_NAMES ("prompt", "extra_pnginfo", ...).
    hidden: ClassVar[Sequence[str]] = ()
    inputs: ClassVar[Sequence[Input]] = ()
    outputs: ClassVar[Sequence[Out]] = ()

    def __init__(self) -> None:
        raise TypeError(f"{type(self).__name__} is a declared node: it is used as a class, never instantiated")

    @classmethod
    def run(cls, ctx: Any, **inputs: Any) -> Any:
        raise NotImplementedError(f"node {cls.__name__} does not define run()")


def _defined_names(node_cls: type) -> set[str]:
    """The attributes a node class defines itself (or inherits from a base below Node)."""
    names: set[str] = set()
    for klass in node_cls.__mro__:
        if klass is Node:
            break
        names.update(vars(klass))
    return names


class DeclaredNodeType:
    """Adapts a declared `Node` subclass to graph.schema.NodeType."""

    def __init__(self, node_cls: type[Node], runtime: Any = None, *, python_module: str | None = None) -> None:
        if not (isinstance(node_cls, type) and issubclass(node_cls, Node)):
            raise NodeDefinitionError(f"{node_cls!r} is not a subclass of nodes.api.declare.Node")
        self.node_cls = node_cls
        self.runtime = runtime
        self.class_type = node_cls.node_id or node_cls.__name__
        self.python_module = python_module or node_cls.__module__
        self._check_declaration()
        defined = _defined_names(node_cls)
        hooks = [name for name in HOOKS if name in defined and getattr(node_cls, name, None) is not None]
        signatures = check_node_methods(node_cls, f"node {self.class_type}", node_cls.inputs, node_cls.hidden, hooks)
        self._fingerprint_args = signatures.get("fingerprint")
        self._validate_args = signatures.get("validate")
        self._lazy_status_args = signatures.get("check_lazy_status")
        self._lazy_inputs = [i.name for i in node_cls.inputs if i.lazy]
        self._growing = frozenset(i.name for i in node_cls.inputs if isinstance(i, Autogrow))
        self._dynamic_combos = frozenset(i.name for i in node_cls.inputs if isinstance(i, DynamicCombo))
        self._static_schema = None if any(i.is_dynamic for i in node_cls.inputs) else self._build_schema()

    def _check_declaration(self) -> None:
        cls, where = self.node_cls, f"node {self.class_type}"
        if "run" not in _defined_names(cls):
            raise NodeDefinitionError(f"{where}: no run() classmethod")
        seen: set[str] = set()
        for item in cls.inputs:
            if not isinstance(item, Input):
                raise NodeDefinitionError(f"{where}: inputs must be Input objects (Int, Float, ...), got {item!r}")
            if item.name in seen:
                raise NodeDefinitionError(f"{where}: input {item.name!r} is declared twice")
            seen.add(item.name)
        for item in cls.outputs:
            if not isinstance(item, Out):
                raise NodeDefinitionError(f"{where}: outputs must be Out objects, got {item!r}")
        for kind in cls.hidden:
            if kind not in HIDDEN_NAMES:
                raise NodeDefinitionError(f"{where}: unknown hidden input kind {kind!r}; known: {sorted(HIDDEN_NAMES)}")

    def _custom_validated(self) -> frozenset[str]:
        """ComfyUI's rule: the inputs validate() names skip the generic checks ("*": all, for **kwargs)."""
        if self._validate_args is None:
            return frozenset()
        if self._validate_args.takes_kwargs:
            return frozenset({"*"})
        return self._validate_args.keywords & {i.name for i in self.node_cls.inputs}

    def _build_schema(self) -> NodeSchema:
        cls = self.node_cls
        outputs = tuple(o.to_spec() for o in cls.outputs)
        extra: dict[str, Any] = {}
        if any(o.tooltip for o in cls.outputs):
            extra["output_tooltips"] = [o.tooltip for o in cls.outputs]
        return NodeSchema(
            class_type=self.class_type,
            inputs=tuple(i.to_spec(self.runtime) for i in cls.inputs),
            outputs=outputs,
            hidden=tuple((HIDDEN_NAMES[kind], kind) for kind in cls.hidden),
            output_node=bool(cls.output_node),
            input_is_list=bool(cls.input_is_list),
            display_name=cls.display_name,
            category=cls.category,
            description=cls.description or "",
            python_module=self.python_module,
            version=str(cls.version),
            deprecated=bool(cls.deprecated),
            experimental=bool(cls.experimental),
            not_idempotent=bool(cls.not_idempotent) or "UNIQUE_ID" in cls.hidden,
            custom_validated=self._custom_validated(),
            validates_input_types=bool(self._validate_args and "input_types" in self._validate_args.keywords),
            extra=extra,
        )

    def _hook_context(self) -> NodeContext:
        """The context of fingerprint() and validate(): the runtime, before any node or prompt id is known."""
        return NodeContext(node_id="", prompt_id="", class_type=self.class_type, runtime=self.runtime)

    # -- graph.schema.NodeType

    def schema(self) -> NodeSchema:
        return self._static_schema or self._build_schema()

    def _nested(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Inputs with the dotted pieces of each growing input gathered into one dict under its name.

        A dynamic combo becomes one dict too: its chosen key under its own name, then the key's inputs.
        """
        if not self._growing and not self._dynamic_combos:
            return dict(inputs)
        nested: dict[str, Any] = {}
        for name, value in inputs.items():
            group, dot, piece = name.partition(".")
            if dot and (group in self._growing or group in self._dynamic_combos):
                nested.setdefault(group, {})[piece] = value
            elif name in self._dynamic_combos:  # the chosen key, or the whole choice already nested
                nested.setdefault(name, {}).update(value if isinstance(value, Mapping) else {name: value})
            else:
                nested[name] = value
        for group in self._growing:
            nested.setdefault(group, {})
        return nested

    def fingerprint(self, inputs: Mapping[str, Any]) -> Any:
        if self._fingerprint_args is None:
            return None
        return self.node_cls.fingerprint(self._hook_context(), **self._fingerprint_args.pick(self._nested(inputs)))

    def validate(self, inputs: Mapping[str, Any], input_types: Mapping[str, str] | None) -> list[tuple[str | None, str]]:
        if self._validate_args is None:
            return []
        args = self._validate_args.pick({k: v for k, v in self._nested(inputs).items() if k != "input_types"})
        if "input_types" in self._validate_args.keywords:
            args["input_types"] = dict(input_types or {})
        return normalise_validation(self.node_cls.validate(self._hook_context(), **args))

    def check_lazy_status(self, context: Any, inputs: Mapping[str, Any]) -> list[str]:
        if self._lazy_status_args is not None:
            args = self._lazy_status_args.pick(self._nested(inputs))
            return list(run_to_completion(self.node_cls.check_lazy_status(context, **args)) or [])
        return [name for name in self._lazy_inputs if name in inputs and inputs[name] is None]

    def execute(self, context: Any, inputs: Mapping[str, Any]) -> NodeOutput:
        result = run_to_completion(self.node_cls.run(context, **self._nested(inputs)))
        return normalise_result(result, self.class_type, len(self.node_cls.outputs), wrap_single=True)

    def __repr__(self) -> str:
        return f"DeclaredNodeType({self.class_type})"
