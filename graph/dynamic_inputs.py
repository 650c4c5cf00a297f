"""ComfyUI's growing inputs (V3 `Autogrow`, type COMFY_AUTOGROW_V3), expanded against a node's live inputs.

A node declares one input, e.g. `images`, whose options hold a template (one inner input such
as `image: IMAGE`), a prefix and a min/max count. A workflow sends the pieces under dotted
names: `images.image0`, `images.image1`, ... ComfyUI expands the schema per node: names
below `min` are required (when the template input is), the others optional, and only the
ones the node has, plus the required ones, take part. Here `expand_dynamic_inputs` does the
same before validation, planning, signatures and the gathering of inputs, so every later step
sees ordinary inputs; the node adapter nests them back into one dict for the node
(nodes/api/declare.py). Dynamic combos and match types (graph/dynamic_combo.py) are expanded here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from graph.dynamic_combo import DYNAMIC_COMBO, MATCH_TYPE, expand_dynamic_combo, expand_match_type
from graph.schema import InputSpec, NodeSchema

AUTOGROW = "COMFY_AUTOGROW_V3"
# ComfyUI's own bound on the names of one growing input.
MAX_NAMES = 100


class DynamicInputError(ValueError):
    """A growing input whose declared template cannot be read."""


def has_dynamic_inputs(schema: NodeSchema) -> bool:
    return any(spec.type in (AUTOGROW, DYNAMIC_COMBO, MATCH_TYPE) for spec in schema.inputs)


def template_names(spec: InputSpec) -> tuple[list[str], int]:
    """(the names the template allows, how many of them are required) for a growing input."""
    template = spec.options.get("template") or {}
    if "names" in template:
        names = [str(n) for n in template["names"]][:MAX_NAMES]
    else:
        prefix, count = str(template.get("prefix", "")), int(template.get("max", 10))
        names = [f"{prefix}{i}" for i in range(min(count, MAX_NAMES))]
    return names, int(template.get("min", 1))


def template_input(spec: InputSpec) -> tuple[str, Any, dict, bool]:
    """(type, combo choices or None, options, required) of the one inner input of the template."""
    sections = (spec.options.get("template") or {}).get("input") or {}
    for section in ("required", "optional"):
        entries = sections.get(section) or {}
        for entry in entries.values():
            if not isinstance(entry, (list, tuple)) or not entry:
                break
            kind = entry[0]
            options = dict(entry[1]) if len(entry) > 1 and isinstance(entry[1], Mapping) else {}
            if isinstance(kind, (list, tuple)):
                return "COMBO", tuple(kind), options, section == "required"
            return str(kind), None, options, section == "required"
    raise DynamicInputError(f"growing input {spec.name!r} has no template input")


def expand_dynamic_inputs(schema: NodeSchema, live_inputs: Mapping[str, Any]) -> NodeSchema:
    """`schema` with each growing input replaced by the dotted inputs this node uses (unchanged without any)."""
    if not has_dynamic_inputs(schema):
        return schema
    expanded: list[InputSpec] = []
    for spec in schema.inputs:
        if spec.type == DYNAMIC_COMBO:  # graph/dynamic_combo.py
            expanded.extend(expand_dynamic_combo(spec, live_inputs))
            continue
        if spec.type == MATCH_TYPE:
            expanded.append(expand_match_type(spec))
            continue
        if spec.type != AUTOGROW:
            expanded.append(spec)
            continue
        kind, choices, options, template_required = template_input(spec)
        names, minimum = template_names(spec)
        for index, name in enumerate(names):
            dotted = f"{spec.name}.{name}"
            required = spec.required and template_required and index < minimum
            if required or dotted in live_inputs:
                expanded.append(InputSpec(name=dotted, type=kind, required=required,
                                          options={**options, "forceInput": True} if choices is None else options,
                                          choices=choices))
    return replace(schema, inputs=tuple(expanded))
