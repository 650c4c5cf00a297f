"""ComfyUI's V3 dynamic combo and match type inputs, declared (graph/dynamic_combo.py expands them).

    MatchType("input", template_id="input_type", allowed_types=("IMAGE", "MASK"))
    DynamicCombo("resize_type", [
        ("scale by multiplier", [Float("multiplier", default=1.0, min=0.01, max=8.0, step=0.01)]),
        ("scale dimensions", [Int("width", default=512), Int("height", default=512)]),
    ])

/object_info shows them as ComfyUI does. The node's `run` receives a dynamic combo as one dict:
the chosen key under the input's own name plus the chosen key's inputs by their names
(`{"resize_type": "scale by multiplier", "multiplier": 1.5}`); a match type input receives the
linked value. A node whose output has the input's type declares it `Out(MATCH_TYPE, "name")`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any

from graph.dynamic_combo import DYNAMIC_COMBO, MATCH_TYPE
from nodes.api.inputs import Input
from nodes.api.object_info import input_entry

__all__ = ["DYNAMIC_COMBO", "MATCH_TYPE", "DynamicCombo", "MatchType"]


@dataclass(frozen=True)
class MatchType(Input):
    """An input of one of `allowed_types`, whose type the node's match-type outputs share."""

    _: KW_ONLY
    type: str = MATCH_TYPE
    template_id: str = ""
    allowed_types: tuple[str, ...] = ()

    def type_options(self) -> dict[str, Any]:
        return {"template": {"allowed_types": ",".join(self.allowed_types), "template_id": self.template_id}}


@dataclass(frozen=True)
class DynamicCombo(Input):
    """A choice among keys, each with its own inputs: `options` is [(key, [Input, ...]), ...]."""

    options: Sequence[tuple[str, Sequence[Input]]] = ()
    _: KW_ONLY
    type: str = DYNAMIC_COMBO

    def __post_init__(self) -> None:
        keys = [key for key, _ in self.options]
        if not keys or len(set(keys)) != len(keys) or not all(isinstance(k, str) for k in keys):
            raise TypeError(f"dynamic combo {self.name!r}: options need distinct string keys, got {keys!r}")
        for key, inputs in self.options:
            if any(not isinstance(i, Input) or isinstance(i, DynamicCombo) for i in inputs):
                raise TypeError(f"dynamic combo {self.name!r}, option {key!r}: inputs must be plain inputs")

    def type_options(self) -> dict[str, Any]:
        declared = []
        for key, inputs in self.options:
            sections: dict[str, dict[str, list]] = {}
            for item in inputs:
                spec = item.to_spec(None)
                entry = input_entry(spec)  # always [type, {options}] inside, as ComfyUI writes them
                sections.setdefault("required" if spec.required else "optional", {})[spec.name] = (
                    entry if len(entry) == 2 else [*entry, {}])
            declared.append({"inputs": sections, "key": key})
        return {"options": declared}
