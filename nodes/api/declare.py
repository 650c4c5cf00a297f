"""The declaration API: a node is a small declarative class.

    class AddInts(Node):
        node_id = "AddInts"                      # the class_type (ComfyUI's name where it has one)
        display_name = "Add"; category = "utils/math"
        inputs = [Int("a", default=0), Int("b", default=0, tooltip="second term")]
        outputs = [Out("INT", "sum")]

        @classmethod
        def run(cls, ctx, *, a, b):
            return (a + b,)

`run` is a classmethod taking the NodeContext and the inputs by keyword; it returns a
tuple (one value per output; a bare value, even a dict, for a one-output node), a
NodeOutput, or ComfyUI's `{"ui": ..., "result": ...}` dict. It may be `async`. Optional classmethods: `fingerprint(**inputs)`
(ComfyUI's IS_CHANGED), `validate(**inputs)` (VALIDATE_INPUTS; the inputs it names skip the
generic range/combo checks, `input_types` receives the link types) and
`check_lazy_status(ctx, **inputs)`. Nodes hold no state: they are never instantiated.

`DeclaredNodeType(cls, runtime)` adapts such a class to graph.schema.NodeType. Combo
options given as `FileList("checkpoints")` are read from the runtime's folders every time
the schema is asked for, so a new file shows up at the next validation or /object_info.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, ClassVar

from graph.schema import HIDDEN_KINDS, InputSpec, NodeOutput, NodeSchema, OutputSpec
from nodes.api.results import (
    AcceptedArguments,
    NodeDefinitionError,
    normalise_result,
    normalise_validation,
    run_to_completion,
)

# Hidden kind -> the keyword the node receives (ComfyUI's conventional names).
HIDDEN_NAMES = {kind: kind.lower() for kind in HIDDEN_KINDS}

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63) + 1


@dataclass(frozen=True)
class FileList:
    """Combo options read from a folder at schema time: `Folders.list_files(key, extensions)`."""

    key: str
    extensions: frozenset[str] | None = None
    recursive: bool = True

    def resolve(self, runtime: Any) -> list[str]:
        folders = getattr(runtime, "folders", None)
        if folders is None:
            return []
        return folders.list_files(self.key, self.extensions, recursive=self.recursive)


@dataclass(frozen=True)
class Input:
    """One declared input. Subclasses fix the type and add type-specific options."""

    name: str
    _: KW_ONLY
    type: str = "*"
    optional: bool = False
    default: Any = None
    tooltip: str | None = None
    lazy: bool = False
    force_input: bool = False
    raw_link: bool = False
    advanced: bool = False
    # Any other option, passed to /object_info verbatim (ComfyUI option names).
    extra: Mapping[str, Any] = field(default_factory=dict)

    def type_options(self) -> dict[str, Any]:
        """Options specific to the input's type, in ComfyUI's names."""
        return {}

    def option_dict(self) -> dict[str, Any]:
        """Every option in ComfyUI's names and order, without the ones left unset."""
        opts: dict[str, Any] = {}
        if self.default is not None:
            opts["default"] = self.default
        opts.update({k: v for k, v in self.type_options().items() if v is not None and v is not False})
        flags = {"forceInput": self.force_input, "lazy": self.lazy, "rawLink": self.raw_link,
                 "advanced": self.advanced}
        opts.update({k: True for k, v in flags.items() if v})
        if self.tooltip:
            opts["tooltip"] = self.tooltip
        opts.update(self.extra)
        return opts

    def choices(self, runtime: Any) -> tuple[Any, ...] | None:
        return None

    def to_spec(self, runtime: Any) -> InputSpec:
        return InputSpec(name=self.name, type=self.type, required=not self.optional,
                         options=self.option_dict(), choices=self.choices(runtime))

    @property
    def is_dynamic(self) -> bool:
        """True when the spec depends on the disk (file lists), so it cannot be cached."""
        return False


@dataclass(frozen=True)
class Int(Input):
    _: KW_ONLY
    type: str = "INT"
    min: int | None = None
    max: int | None = None
    step: int | None = None
    control_after_generate: bool = False
    display: str | None = None

    def type_options(self) -> dict[str, Any]:
        return {"min": self.min, "max": self.max, "step": self.step,
                "control_after_generate": self.control_after_generate, "display": self.display}


@dataclass(frozen=True)
class Float(Input):
    _: KW_ONLY
    type: str = "FLOAT"
    min: float | None = None
    max: float | None = None
    step: float | None = None
    round: float | bool | None = None
    display: str | None = None

    def type_options(self) -> dict[str, Any]:
        return {"min": self.min, "max": self.max, "step": self.step, "round": self.round, "display": self.display}

    def option_dict(self) -> dict[str, Any]:
        opts = super().option_dict()
        if self.round is False:  # meaningful in ComfyUI: no rounding (the base drops False values)
            opts["round"] = False
        return opts


@dataclass(frozen=True)
class String(Input):
    _: KW_ONLY
    type: str = "STRING"
    multiline: bool = False
    placeholder: str | None = None
    dynamic_prompts: bool = False

    def type_options(self) -> dict[str, Any]:
        return {"multiline": self.multiline, "placeholder": self.placeholder,
                "dynamicPrompts": self.dynamic_prompts}


@dataclass(frozen=True)
class Boolean(Input):
    _: KW_ONLY
    type: str = "BOOLEAN"
    label_on: str | None = None
    label_off: str | None = None

    def type_options(self) -> dict[str, Any]:
        return {"label_on": self.label_on, "label_off": self.label_off}


@dataclass(frozen=True)
class Combo(Input):
    """A choice among `options`: a list, a FileList, or a callable(runtime) -> list."""

    options: Sequence[Any] | FileList | Callable[[Any], Sequence[Any]] = ()
    _: KW_ONLY
    type: str = "COMBO"
    image_upload: bool = False
    control_after_generate: bool = False

    def type_options(self) -> dict[str, Any]:
        return {"image_upload": self.image_upload, "control_after_generate": self.control_after_generate}

    def choices(self, runtime: Any) -> tuple[Any, ...]:
        source = self.options
        if isinstance(source, FileList):
            return tuple(source.resolve(runtime))
        if callable(source):
            return tuple(source(runtime))
        return tuple(source)

    @property
    def is_dynamic(self) -> bool:
        return isinstance(self.options, FileList) or callable(self.options)


def Socket(type: str, name: str, **kwargs: Any) -> Input:
    """A linked-only input of any socket type: `Socket("MODEL", "model")`."""
    return Input(name, type=type, **kwargs)


@dataclass(frozen=True)
class Out:
    """One declared output: its type, name (default: the type), list flag and tooltip."""

    type: str
    name: str | None = None
    is_list: bool = False
    tooltip: str | None = None

    def to_spec(self) -> OutputSpec:
        return OutputSpec(type=self.type, name=self.name or self.type, is_list=self.is_list, tooltip=self.tooltip)


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


def _overrides(node_cls: type, name: str) -> bool:
    return getattr(node_cls, name, None) is not None and name in _defined_names(node_cls)


def _defined_names(node_cls: type) -> set[str]:
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
        self._fingerprint_args = AcceptedArguments(node_cls.fingerprint) if _overrides(node_cls, "fingerprint") else None
        self._validate_args = AcceptedArguments(node_cls.validate) if _overrides(node_cls, "validate") else None
        self._custom_lazy_status = _overrides(node_cls, "check_lazy_status")
        self._lazy_inputs = [i.name for i in node_cls.inputs if i.lazy]
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

    def _build_schema(self) -> NodeSchema:
        cls = self.node_cls
        validate_names = (self._validate_args.named_for_validation() - {"runtime"}) if self._validate_args \
            else frozenset()
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
            custom_validated=validate_names,
            validates_input_types=bool(self._validate_args and "input_types" in self._validate_args.names),
            extra=extra,
        )

    # -- graph.schema.NodeType

    def schema(self) -> NodeSchema:
        return self._static_schema or self._build_schema()

    def fingerprint(self, inputs: Mapping[str, Any]) -> Any:
        if self._fingerprint_args is None:
            return None
        args = self._fingerprint_args.pick({k: v for k, v in inputs.items() if k != "runtime"})
        if "runtime" in self._fingerprint_args.names:
            args["runtime"] = self.runtime
        return self.node_cls.fingerprint(**args)

    def validate(self, inputs: Mapping[str, Any], input_types: Mapping[str, str] | None) -> list[tuple[str | None, str]]:
        if self._validate_args is None:
            return []
        args = self._validate_args.pick({k: v for k, v in inputs.items() if k not in ("input_types", "runtime")})
        if "runtime" in self._validate_args.names:
            args["runtime"] = self.runtime
        if "input_types" in self._validate_args.names:
            args["input_types"] = dict(input_types or {})
        return normalise_validation(self.node_cls.validate(**args))

    def check_lazy_status(self, context: Any, inputs: Mapping[str, Any]) -> list[str]:
        if self._custom_lazy_status:
            return list(run_to_completion(self.node_cls.check_lazy_status(context, **inputs)) or [])
        return [name for name in self._lazy_inputs if name in inputs and inputs[name] is None]

    def execute(self, context: Any, inputs: Mapping[str, Any]) -> NodeOutput:
        result = run_to_completion(self.node_cls.run(context, **inputs))
        return normalise_result(result, self.class_type, len(self.node_cls.outputs), wrap_single=True)

    def __repr__(self) -> str:
        return f"DeclaredNodeType({self.class_type})"
