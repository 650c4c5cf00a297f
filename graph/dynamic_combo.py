"""ComfyUI's V3 dynamic combo (COMFY_DYNAMICCOMBO_V3) and match type (COMFY_MATCHTYPE_V3) inputs, expanded.

A dynamic combo is a choice among keys, each key bringing its own inputs: ResizeImageMaskNode's
`resize_type` is "scale by multiplier" (with a `multiplier`) or "scale dimensions" (with `width`,
`height`, `crop`), ... /object_info declares it as
`["COMFY_DYNAMICCOMBO_V3", {"options": [{"key": ..., "inputs": {"required": {...}}}, ...]}]`,
and a prompt sends the chosen key under the input's name and the key's inputs under dotted
names: `"resize_type": "scale by multiplier", "resize_type.multiplier": 1.5`. `expand_dynamic_combo`
gives the specs a node with those inputs has: the key as an ordinary combo, then the chosen
key's inputs (`resize_type.multiplier`, required when the combo is). The node adapter nests
them back (`{"resize_type": "scale by multiplier", "multiplier": 1.5}`), as ComfyUI does.

A match type input takes one of its template's `allowed_types` ("IMAGE,MASK"); its expansion is
an input of that type union. As an output type (and where no allowed types are named) it is a
wildcard in ComfyUI's validation (graph/types.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from graph.schema import InputSpec

DYNAMIC_COMBO = "COMFY_DYNAMICCOMBO_V3"
MATCH_TYPE = "COMFY_MATCHTYPE_V3"


class DynamicComboError(ValueError):
    """A dynamic combo whose declared options cannot be read."""


def entry_spec(name: str, entry: Any, required: bool) -> InputSpec:
    """An /object_info entry (`[TYPE, {opts}]`, `[[choices], {opts}]`, `["COMBO", {"options": [...]}]`) as a spec."""
    if not isinstance(entry, (list, tuple)) or not entry:
        raise DynamicComboError(f"input {name!r}: entry {entry!r} is not [type, options]")
    kind = entry[0]
    options = dict(entry[1]) if len(entry) > 1 and isinstance(entry[1], Mapping) else {}
    if isinstance(kind, (list, tuple)):
        return InputSpec(name=name, type="COMBO", required=required, options=options, choices=tuple(kind))
    if kind == "COMBO" and "options" in options:
        return InputSpec(name=name, type="COMBO", required=required, options=options,
                         choices=tuple(options["options"]))
    return InputSpec(name=name, type=str(kind), required=required, options=options)


def option_keys(spec: InputSpec) -> tuple[str, ...]:
    options = spec.options.get("options")
    if not isinstance(options, (list, tuple)) or not options:
        raise DynamicComboError(f"dynamic combo {spec.name!r} declares no options")
    keys = []
    for option in options:
        if not isinstance(option, Mapping) or not isinstance(option.get("key"), str):
            raise DynamicComboError(f"dynamic combo {spec.name!r}: option {option!r} has no key")
        keys.append(option["key"])
    return tuple(keys)


def expand_dynamic_combo(spec: InputSpec, live_inputs: Mapping[str, Any]) -> list[InputSpec]:
    """The key combo and the inputs of the key chosen in `live_inputs` (none when it is linked or missing)."""
    keys = option_keys(spec)
    combo_options = {k: v for k, v in spec.options.items() if k != "options"}
    expanded = [InputSpec(name=spec.name, type="COMBO", required=spec.required, options=combo_options,
                          choices=keys)]
    chosen = live_inputs.get(spec.name)
    for option in spec.options["options"]:
        if option["key"] != chosen:
            continue
        sections = option.get("inputs") or {}
        for section in ("required", "optional"):
            for name, entry in (sections.get(section) or {}).items():
                expanded.append(entry_spec(f"{spec.name}.{name}", entry, spec.required and section == "required"))
    return expanded


def expand_match_type(spec: InputSpec) -> InputSpec:
    """A match type input as the union of its allowed types (unchanged when the template names none)."""
    allowed = (spec.options.get("template") or {}).get("allowed_types")
    if isinstance(allowed, str) and allowed.strip():
        return replace(spec, type=allowed)
    return spec
