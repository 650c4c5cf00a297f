"""A node schema in ComfyUI's classic /object_info shape (keys, order and combo forms as ComfyUI writes them).

The keys are ComfyUI v0.8's plus those added since (v0.46): `search_aliases`, `essentials_category`,
`has_intermediate_output`, each only when set in `NodeSchema.extra`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from graph.schema import InputSpec, NodeSchema


def json_ready(value: Any) -> Any:
    """Tuples become lists, mappings get string keys, other objects their str()."""
    if isinstance(value, (str, bool, int)) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return str(value)


def input_entry(spec: InputSpec) -> list:
    """One input as ComfyUI writes it: [TYPE, {opts}], [[choices], {opts}] or ["COMBO", {options...}]."""
    options = json_ready(dict(spec.options))
    if spec.is_combo:
        choices = json_ready(list(spec.choices or ()))
        if "options" in options:  # declared as ("COMBO", {"options": [...]})
            options["options"] = choices
            return ["COMBO", options]
        return [choices, options] if options else [choices]
    return [spec.type, options] if options else [spec.type]


def node_info(schema: NodeSchema, display_name: str | None = None, python_module: str | None = None) -> dict:
    """The classic /object_info entry of one node, keys in ComfyUI's order."""
    required = {s.name: input_entry(s) for s in schema.inputs if s.required}
    optional = {s.name: input_entry(s) for s in schema.inputs if not s.required}
    inputs: dict[str, dict] = {"required": required}
    if optional:
        inputs["optional"] = optional
    if schema.hidden:
        inputs["hidden"] = {name: kind for name, kind in schema.hidden}
    info: dict[str, Any] = {
        "input": inputs,
        "input_order": {section: list(entries) for section, entries in inputs.items()},
        "output": json_ready(schema.extra.get("output_raw") or list(schema.output_types)),
        "output_is_list": [o.is_list for o in schema.outputs],
        "output_name": [o.name for o in schema.outputs],
        "name": schema.class_type,
        "display_name": display_name or schema.display_name or schema.class_type,
        "description": schema.description or "",
        "python_module": python_module or schema.python_module or "nodes",
        "category": schema.category or "sd",
        "output_node": bool(schema.output_node),
    }
    if "output_tooltips" in schema.extra:
        info["output_tooltips"] = json_ready(schema.extra["output_tooltips"])
    if schema.deprecated:
        info["deprecated"] = True
    if schema.experimental:
        info["experimental"] = True
    if "api_node" in schema.extra:
        info["api_node"] = bool(schema.extra["api_node"])
    # Since ComfyUI v0.8, when a node declares them (the editor reads each as optional): search aliases,
    # the category of the editor's "essentials" panel, and the V3 intermediate-output flag.
    if schema.extra.get("search_aliases"):
        info["search_aliases"] = [str(a) for a in schema.extra["search_aliases"]]
    if schema.extra.get("essentials_category"):
        info["essentials_category"] = str(schema.extra["essentials_category"])
    if schema.extra.get("has_intermediate_output"):
        info["has_intermediate_output"] = True
    return info


