"""Node replacement: deprecated node types in an API prompt rewritten to their successors before validation.

ComfyUI v0.46 keeps one registry per process (`server.PromptServer.instance.node_replace_manager`);
packs fill it from their V3 `on_load` with `await ComfyAPI().node_replacement.register(io.NodeReplace(...))`
and the server applies it to every prompt before it is validated. `NODE_REPLACEMENTS` is that registry
here (nodes/compat/comfy_api/latest registers into it, server/ applies it and serves `GET /node_replacements`).

A `NodeReplace` says which class replaces which, how the new node's inputs are filled (`input_mapping`:
`{"new_id", "old_id"}` carries an old input over under a new name, `{"new_id", "set_value"}` sets a fixed
value) and which output slot of the new node stands for which old one (`output_mapping`: `{"old_idx",
"new_idx"}`; links from the replaced node to other nodes are moved to the new slots).

As ComfyUI: only a node whose class is not installed is replaced, by the first replacement registered
for its class; registering the same (old, new) pair twice is ignored; output slots not in the mapping
keep their index. Beyond ComfyUI:
- a replacement whose target is itself a replaced, uninstalled class is followed (A -> B -> C), the
  input and output mappings composed step by step; a chain that loops or ends at a class that is not
  installed is reported (`Unresolved`) instead of being silently skipped;
- without an `input_mapping` the inputs are carried over by name (a plain rename; ComfyUI leaves the
  new node with no inputs); an `old_id` the old node did not set is left out (ComfyUI: a KeyError);
- the prompt given is not changed: `apply_replacements` returns a rewritten copy.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graph.prompt import is_link, link_index


class NodeReplaceError(ValueError):
    """A replacement declared wrongly (names not strings, malformed mapping entries)."""


class NodeReplace:
    """One replacement, declared as ComfyUI's `comfy_api.latest.io.NodeReplace` is (same arguments).

    `old_widget_ids` (the old node's widget inputs in their saved order) matters to editors migrating
    UI-format workflows; it is kept and served, not used on API prompts.
    """

    def __init__(self, new_node_id: str, old_node_id: str, old_widget_ids: list[str] | None = None,
                 input_mapping: list[dict] | None = None, output_mapping: list[dict] | None = None) -> None:
        for name, value in (("new_node_id", new_node_id), ("old_node_id", old_node_id)):
            if not isinstance(value, str) or not value:
                raise NodeReplaceError(f"NodeReplace {name} must be a non-empty class name, not {value!r}")
        if new_node_id == old_node_id:
            raise NodeReplaceError(f"NodeReplace replaces {old_node_id!r} by itself")
        if old_widget_ids is not None and not all(isinstance(w, str) for w in old_widget_ids):
            raise NodeReplaceError(f"NodeReplace {old_node_id!r}: old_widget_ids must be a list of input names")
        self.new_node_id = new_node_id
        self.old_node_id = old_node_id
        self.old_widget_ids = list(old_widget_ids) if old_widget_ids is not None else None
        self.input_mapping = [_input_map(old_node_id, m) for m in input_mapping] if input_mapping else None
        self.output_mapping = [_output_map(old_node_id, m) for m in output_mapping] if output_mapping else None

    def as_dict(self) -> dict:
        """The JSON form `GET /node_replacements` serves (ComfyUI's keys)."""
        return {"new_node_id": self.new_node_id, "old_node_id": self.old_node_id,
                "old_widget_ids": self.old_widget_ids, "input_mapping": self.input_mapping,
                "output_mapping": self.output_mapping}

    def new_inputs(self, old_inputs: dict) -> dict:
        """The new node's inputs from the old node's (see the module docstring for the rules)."""
        if self.input_mapping is None:
            return dict(old_inputs)
        inputs = {}
        for entry in self.input_mapping:
            if "set_value" in entry:
                inputs[entry["new_id"]] = copy.deepcopy(entry["set_value"])
            elif entry["old_id"] in old_inputs:
                inputs[entry["new_id"]] = old_inputs[entry["old_id"]]
        return inputs

    def new_slot(self, old_index: int) -> int:
        """The new node's output slot standing for the old node's `old_index`."""
        for entry in self.output_mapping or ():
            if entry["old_idx"] == old_index:
                return entry["new_idx"]
        return old_index

    def __repr__(self) -> str:
        return f"NodeReplace({self.old_node_id!r} -> {self.new_node_id!r})"


def _input_map(old: str, entry: Any) -> dict:
    ok = isinstance(entry, dict) and isinstance(entry.get("new_id"), str) and (
        "set_value" in entry or isinstance(entry.get("old_id"), str))
    if not ok:
        raise NodeReplaceError(f"NodeReplace {old!r}: each input_mapping entry is {{'new_id': str, 'old_id': str}} "
                               f"or {{'new_id': str, 'set_value': value}}, not {entry!r}")
    return dict(entry)


def _output_map(old: str, entry: Any) -> dict:
    def index(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if not (isinstance(entry, dict) and index(entry.get("old_idx")) and index(entry.get("new_idx"))):
        raise NodeReplaceError(f"NodeReplace {old!r}: each output_mapping entry is {{'old_idx': int, "
                               f"'new_idx': int}} (slot numbers from 0), not {entry!r}")
    return dict(entry)


@dataclass(frozen=True)
class Replaced:
    """A node of the prompt rewritten: its id, its old class and the classes it went through to the new one."""

    node_id: str
    old_class_type: str
    chain: tuple[str, ...]

    @property
    def new_class_type(self) -> str:
        return self.chain[-1]

    def as_dict(self) -> dict:
        return {"node_id": self.node_id, "old_class_type": self.old_class_type,
                "new_class_type": self.new_class_type}


@dataclass(frozen=True)
class Unresolved:
    """A node whose class has a replacement that leads to no installed class (or loops)."""

    node_id: str
    old_class_type: str
    chain: tuple[str, ...]
    loops: bool

    def message(self) -> str:
        path = " -> ".join((self.old_class_type, *self.chain))
        if self.loops:
            return f"Node '{self.old_class_type}' has node replacements that go round in a circle ({path})."
        return (f"Node '{self.old_class_type}' is replaced by '{self.chain[-1]}' ({path}), which is not installed. "
                "The custom node that provides it may be missing.")


@dataclass(frozen=True)
class Outcome:
    """What `apply_replacements` did: the rewritten prompt, the nodes replaced, the nodes it could not replace."""

    prompt: dict
    replaced: list[Replaced]
    unresolved: list[Unresolved]


class NodeReplaceRegistry:
    """Replacements by old class name, in registration order (the first one is used)."""

    def __init__(self) -> None:
        self._by_old: dict[str, list[NodeReplace]] = {}

    def register(self, replacement: NodeReplace) -> None:
        """Add `replacement`; the same (old, new) pair registered again is ignored (a pack reloaded)."""
        if not isinstance(replacement, NodeReplace):
            raise NodeReplaceError(f"register() takes an io.NodeReplace, not {type(replacement).__name__}")
        entries = self._by_old.setdefault(replacement.old_node_id, [])
        if all(entry.new_node_id != replacement.new_node_id for entry in entries):
            entries.append(replacement)

    def unregister(self, old_node_id: str) -> None:
        """Forget every replacement of `old_node_id` (tests, packs unloaded)."""
        self._by_old.pop(old_node_id, None)

    def get_replacement(self, old_node_id: str) -> list[NodeReplace] | None:
        return self._by_old.get(old_node_id)

    def has_replacement(self, old_node_id: str) -> bool:
        return old_node_id in self._by_old

    def as_dict(self) -> dict[str, list[dict]]:
        """{old class: [replacement as JSON, ...]}, ComfyUI's `GET /node_replacements` answer."""
        return {old: [entry.as_dict() for entry in entries] for old, entries in self._by_old.items()}

    def chain_for(self, class_type: str, installed: Callable[[str], bool]) -> tuple[list[NodeReplace], str]:
        """The replacements followed from `class_type`, and where they end: "installed" (a class the
        registry has), "missing" (a class with no replacement that is not installed) or "loop"."""
        steps: list[NodeReplace] = []
        seen = {class_type}
        current = class_type
        while not installed(current) and self.has_replacement(current):
            step = self._by_old[current][0]
            steps.append(step)
            current = step.new_node_id
            if current in seen:
                return steps, "loop"
            seen.add(current)
        return steps, "installed" if installed(current) else "missing"

    def apply_replacements(self, prompt: dict, installed: Callable[[str], bool]) -> Outcome:
        """`prompt` with every uninstalled, replaced node rewritten and the links from it moved to the new slots."""
        result = dict(prompt)
        slot_maps: dict[str, list[NodeReplace]] = {}
        replaced, unresolved = [], []
        for node_id, node in prompt.items():
            class_type = node.get("class_type") if isinstance(node, dict) else None
            if not isinstance(class_type, str) or installed(class_type) or not self.has_replacement(class_type):
                continue
            steps, end = self.chain_for(class_type, installed)
            chain = tuple(step.new_node_id for step in steps)
            if end != "installed":
                unresolved.append(Unresolved(str(node_id), class_type, chain, loops=end == "loop"))
                continue
            inputs = node.get("inputs", {})
            if isinstance(inputs, dict):  # malformed inputs are left for validation to report
                for step in steps:
                    inputs = step.new_inputs(inputs)
            new_node = {**node, "class_type": chain[-1], "inputs": inputs}
            if isinstance(node.get("_meta"), dict):
                new_node["_meta"] = dict(node["_meta"])
            result[node_id] = new_node
            slot_maps[str(node_id)] = steps
            replaced.append(Replaced(str(node_id), class_type, chain))
        if slot_maps:
            for node_id, node in result.items():
                if isinstance(node, dict) and isinstance(node.get("inputs"), dict):
                    moved = _moved_links(node["inputs"], slot_maps)
                    if moved is not None:
                        result[node_id] = {**node, "inputs": moved}
        return Outcome(result, replaced, unresolved)


def _moved_links(inputs: dict, slot_maps: dict[str, list[NodeReplace]]) -> dict | None:
    """`inputs` with the links from replaced nodes pointing at the new slots, or None when none moves."""
    moved = None
    for name, value in inputs.items():
        if not is_link(value) or value[0] not in slot_maps or link_index(value[1]) is None:
            continue
        slot = link_index(value[1])
        for step in slot_maps[value[0]]:
            slot = step.new_slot(slot)
        if slot != value[1]:
            moved = dict(inputs) if moved is None else moved
            moved[name] = [value[0], slot]
    return moved


NODE_REPLACEMENTS = NodeReplaceRegistry()
"""The process's registry, as ComfyUI's one `node_replace_manager` (packs register, the server applies)."""
