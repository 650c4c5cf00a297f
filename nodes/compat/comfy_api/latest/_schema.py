"""The V3 node itself: `Schema` (what the node declares), `ComfyNode` (the base class) and `NodeOutput`.

`Schema.get_v1_info` is ComfyUI's classic /object_info entry for the schema: every NodeInfoV1 key
in ComfyUI's order, unset ones as None, inputs as `[type, {options}]`, hidden inputs as
`{"unique_id": ["UNIQUE_ID"]}`. `ComfyNode.GET_SCHEMA()` finalises and checks the schema, as
ComfyUI does before it registers a node (output nodes get the prompt and extra_pnginfo hidden).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from nodes.compat.comfy_api.latest._dynamic import DynamicInput
from nodes.compat.comfy_api.latest._sockets import Hidden, Input, Output

# NodeInfoV1's keys, in ComfyUI's order (v0.46: dev_only, price_badge, search_aliases, ... included).
V1_INFO_KEYS = ("input", "input_order", "is_input_list", "output", "output_is_list", "output_name",
                "output_tooltips", "output_matchtypes", "name", "display_name", "description", "python_module",
                "category", "output_node", "deprecated", "experimental", "dev_only", "api_node", "price_badge",
                "search_aliases", "essentials_category", "has_intermediate_output")


@dataclass
class Schema:
    """What a V3 node declares (ComfyUI's field names)."""

    node_id: str
    display_name: str | None = None
    category: str = "sd"
    inputs: list[Input] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)
    hidden: list[Hidden] = field(default_factory=list)
    description: str = ""
    search_aliases: list[str] = field(default_factory=list)
    essentials_category: str | None = None
    is_input_list: bool = False
    is_output_node: bool = False
    has_intermediate_output: bool = False
    is_deprecated: bool = False
    is_experimental: bool = False
    is_dev_only: bool = False
    is_api_node: bool = False
    price_badge: Any = None
    not_idempotent: bool = False
    enable_expand: bool = False
    accept_all_inputs: bool = False

    def validate(self) -> None:
        """Refuses repeated ids (among inputs, among outputs, or shared by both) and non-Input/Output items."""
        for item in self.inputs:
            if not isinstance(item, Input):
                raise ValueError(f"node {self.node_id}: inputs must be io.<Type>.Input objects, got {item!r}")
        for item in self.outputs:
            if not isinstance(item, Output):
                raise ValueError(f"node {self.node_id}: outputs must be io.<Type>.Output objects, got {item!r}")
        # As ComfyUI: a dynamic input's own inner inputs live under its dotted names, so only its id counts here.
        input_ids = [i.id for item in self.inputs for i in ([item] if isinstance(item, DynamicInput)
                                                            else item.get_all())]
        output_ids = [o.id for o in self.outputs]
        problems = [f"{what} ids must be unique, but {sorted(k for k, n in Counter(ids).items() if n > 1)} are not"
                    for what, ids in (("input", input_ids), ("output", output_ids)) if len(set(ids)) != len(ids)]
        shared = set(input_ids) & set(output_ids)
        if shared:
            problems.append(f"ids must differ between inputs and outputs, but {sorted(shared)} are both")
        if problems:
            raise ValueError(f"node {self.node_id}: " + "; ".join(problems))
        for item in [*self.inputs, *self.outputs]:
            item.validate()

    def finalize(self) -> None:
        """Adds the hidden values ComfyUI adds (output nodes: prompt, extra_pnginfo; API nodes: keys) and output ids."""
        self.inputs, self.outputs, self.hidden = list(self.inputs or []), list(self.outputs or []), \
            [Hidden(h) for h in self.hidden or []]
        wanted = []
        if self.is_api_node:
            wanted += [Hidden.auth_token_comfy_org, Hidden.api_key_comfy_org]
        if self.is_output_node:
            wanted += [Hidden.prompt, Hidden.extra_pnginfo]
        self.hidden += [h for h in wanted if h not in self.hidden]
        for index, output in enumerate(self.outputs):
            if output.id is None:
                output.id = f"_{index}_{output.io_type}_"

    def get_v1_info(self, cls: Any = None) -> dict[str, Any]:
        """ComfyUI's classic /object_info entry for this (finalised) schema."""
        inputs: dict[str, dict] = {"required": {}}
        for item in self.inputs:
            options = item.as_dict()
            options.pop("optional", None)
            inputs.setdefault("optional" if item.optional else "required", {})[item.id] = [item.get_io_type(), options]
        for hidden in self.hidden:
            inputs.setdefault("hidden", {})[hidden.name] = [hidden.value]
        matchtypes = [getattr(getattr(o, "template", None), "template_id", None) for o in self.outputs]
        info = {
            "input": inputs,
            "input_order": {section: list(entries) for section, entries in inputs.items()},
            "is_input_list": self.is_input_list,
            "output": [o.get_io_type() for o in self.outputs],
            "output_is_list": [bool(o.is_output_list) for o in self.outputs],
            "output_name": [o.display_name or o.io_type for o in self.outputs],
            "output_tooltips": [o.tooltip or None for o in self.outputs],
            "output_matchtypes": matchtypes if any(matchtypes) else None,
            "name": self.node_id,
            "display_name": self.display_name,
            "description": self.description,
            "python_module": getattr(cls, "RELATIVE_PYTHON_MODULE", None) or "nodes",
            "category": self.category,
            "output_node": self.is_output_node,
            "deprecated": self.is_deprecated,
            "experimental": self.is_experimental,
            "dev_only": self.is_dev_only,
            "api_node": self.is_api_node,
            "price_badge": self.price_badge.as_dict(self.inputs) if hasattr(self.price_badge, "as_dict")
            else self.price_badge,
            "search_aliases": list(self.search_aliases) or None,
            "essentials_category": self.essentials_category,
            "has_intermediate_output": self.has_intermediate_output,
        }
        return {key: info[key] for key in V1_INFO_KEYS}


class ComfyNode:
    """Base class of V3 nodes: classmethods only, never instantiated by the executor.

    `hidden` is a HiddenHolder while `execute` (and the other hooks) run: the executor calls them on a
    short-lived subclass, so concurrent runs never see each other's values.
    """

    RELATIVE_PYTHON_MODULE: str | None = None
    SCHEMA: Schema | None = None
    hidden: Any = None

    @classmethod
    def define_schema(cls) -> Schema:
        raise NotImplementedError(f"V3 node {cls.__name__} does not define define_schema()")

    @classmethod
    def execute(cls, **kwargs: Any) -> Any:
        raise NotImplementedError(f"V3 node {cls.__name__} does not define execute()")

    @classmethod
    def validate_inputs(cls, **kwargs: Any) -> bool | str:
        raise NotImplementedError

    @classmethod
    def fingerprint_inputs(cls, **kwargs: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def check_lazy_status(cls, **kwargs: Any) -> list[str]:
        """Default: every input not evaluated yet (used only when a node overrides it, as in ComfyUI)."""
        return [name for name, value in kwargs.items() if value is None]

    @classmethod
    def FINALIZE_SCHEMA(cls) -> Schema:
        schema = cls.define_schema()
        if not isinstance(schema, Schema):
            raise TypeError(f"V3 node {cls.__name__}: define_schema() must return io.Schema, got "
                            f"{type(schema).__name__}")
        schema.finalize()
        return schema

    @classmethod
    def GET_SCHEMA(cls) -> Schema:
        """The finalised, checked schema (stored as `cls.SCHEMA`)."""
        for name in ("define_schema", "execute"):
            if getattr(getattr(cls, name), "__func__", None) is getattr(ComfyNode, name).__func__:
                raise TypeError(f"V3 node {cls.__name__}: no {name}() classmethod")
        schema = cls.FINALIZE_SCHEMA()
        schema.validate()
        cls.SCHEMA = schema
        return schema

    @classmethod
    def GET_NODE_INFO_V1(cls) -> dict[str, Any]:
        return cls.GET_SCHEMA().get_v1_info(cls)


class NodeOutput:
    """What `execute` returns: the output values in order, plus an optional `ui` part (a ui object or a dict)."""

    def __init__(self, *args: Any, ui: Any = None, expand: dict | None = None,
                 block_execution: str | None = None) -> None:
        self.args = args
        self.ui = ui
        self.expand = expand
        self.block_execution = block_execution

    @property
    def result(self) -> tuple | None:
        return self.args or None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NodeOutput:
        """From ComfyUI's classic `{"result": (...), "ui": {...}}` return dict."""
        return cls(*(data.get("result") or ()), ui=data.get("ui"), expand=data.get("expand"))

    def __getitem__(self, index: int) -> Any:
        return self.args[index]
