"""The node registry: every node type by class_type, exported in ComfyUI's /object_info shape.

`build_registry(runtime, custom_node_dirs)` is what the server and the CLI call: it
registers the built-in node modules listed in BUILTIN_NODE_MODULES (each exposes
`NODES = [...]`, declared Node classes or ComfyUI classic classes), then the custom node
packs. Built-in ids win over packs; a duplicate id is refused with a message.
"""

from __future__ import annotations

import importlib
import logging
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph.schema import InputSpec, NodeSchema, NodeType
from nodes.api.classic import ClassicNodeType, is_classic_node_class
from nodes.api.declare import DeclaredNodeType, Node

log = logging.getLogger("latentgraph.nodes")

# Modules whose NODES list is registered at start, in this order. Later issues append
# "nodes.library.loaders.model_loaders", "nodes.library.sampling.ksampler", ... here.
BUILTIN_NODE_MODULES = ["nodes.library.utility.basics", "nodes.library.image.load_save", "nodes.library.latent.latent_ops", "nodes.library.conditioning.edit", "nodes.library.loaders.model_loaders",
                        "nodes.library.conditioning.clip_text", "nodes.library.latent.vae_codec", "nodes.library.sampling.ksampler", "nodes.library.sampling.custom_sampling",
                        "nodes.library.inspect.inspect_nodes"]


class DuplicateNodeError(ValueError):
    """A node id that is already registered."""


@dataclass
class RegisteredNode:
    node_type: NodeType
    class_type: str
    display_name: str | None
    python_module: str
    source: str  # who registered it: "built-in" or the pack name


class NodeRegistry:
    """graph.schema.Registry plus object_info export and the packs' web directories."""

    def __init__(self) -> None:
        self._nodes: dict[str, RegisteredNode] = {}
        self._web_dirs: dict[str, Path] = {}

    # -- graph.schema.Registry

    def get(self, class_type: str) -> NodeType | None:
        entry = self._nodes.get(class_type)
        return entry.node_type if entry else None

    def class_types(self) -> list[str]:
        return list(self._nodes)

    def __contains__(self, class_type: object) -> bool:
        return class_type in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    # -- registration

    def register(self, node_type: NodeType, display_name: str | None = None, python_module: str | None = None,
                 *, source: str = "built-in") -> str:
        """Adds `node_type` under its class_type and returns that id.

        Raises DuplicateNodeError (naming who registered it first) when the id is taken.
        """
        class_type = getattr(node_type, "class_type", None) or node_type.schema().class_type
        existing = self._nodes.get(class_type)
        if existing is not None:
            raise DuplicateNodeError(
                f"node id {class_type!r} from {source} is already registered by {existing.source}; "
                f"the {existing.source} definition is kept"
            )
        module = python_module or getattr(node_type, "python_module", None) or "nodes"
        self._nodes[class_type] = RegisteredNode(node_type, class_type, display_name, module, source)
        return class_type

    def register_class(self, node_class: type, runtime: Any = None, *, class_type: str | None = None,
                       display_name: str | None = None, python_module: str | None = None,
                       source: str = "built-in") -> str:
        """Adapts a declared Node subclass or a classic class and registers it."""
        node_type = adapt_node_class(node_class, runtime, class_type=class_type, python_module=python_module,
                                     display_name=display_name)
        return self.register(node_type, display_name=display_name, python_module=python_module, source=source)

    def source_of(self, class_type: str) -> str | None:
        entry = self._nodes.get(class_type)
        return entry.source if entry else None

    def add_web_directory(self, pack_name: str, path: Path) -> None:
        self._web_dirs[pack_name] = Path(path)

    def web_directories(self) -> dict[str, Path]:
        """Pack name -> directory served at /extensions/<pack name>/."""
        return dict(self._web_dirs)

    # -- object_info

    def object_info(self) -> dict[str, dict]:
        """Every node in ComfyUI's classic /object_info shape; a node whose schema fails is logged and left out."""
        info = {}
        for class_type in self._nodes:
            node_info = self._safe_node_info(class_type)
            if node_info is not None:
                info[class_type] = node_info
        return info

    def object_info_for(self, class_type: str) -> dict[str, dict]:
        """`{class_type: info}` for one node ({} if unknown or its schema fails), as /object_info/{class}."""
        if class_type not in self._nodes:
            return {}
        node_info = self._safe_node_info(class_type)
        return {} if node_info is None else {class_type: node_info}

    def _safe_node_info(self, class_type: str) -> dict | None:
        entry = self._nodes[class_type]
        try:
            return node_info(entry.node_type.schema(), entry.display_name, entry.python_module)
        except Exception:
            log.exception("node %s: could not describe it for object_info; skipped", class_type)
            return None


def adapt_node_class(node_class: Any, runtime: Any = None, *, class_type: str | None = None,
                     python_module: str | None = None, display_name: str | None = None) -> NodeType:
    """A NodeType for a declared Node subclass or a ComfyUI classic class."""
    if isinstance(node_class, type) and issubclass(node_class, Node):
        if class_type and class_type != (node_class.node_id or node_class.__name__):
            raise ValueError(f"declared node {node_class.__name__} has node_id "
                             f"{node_class.node_id!r} but is mapped as {class_type!r}")
        return DeclaredNodeType(node_class, runtime, python_module=python_module)
    if is_classic_node_class(node_class):
        return ClassicNodeType(node_class, class_type, runtime, python_module=python_module or "nodes",
                               display_name=display_name)
    raise TypeError(f"{node_class!r} is neither a declared Node subclass nor a ComfyUI classic node class "
                    "(INPUT_TYPES, RETURN_TYPES, FUNCTION)")


# ---------------------------------------------------------------------------- object_info shape


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
    return info


# ---------------------------------------------------------------------------- sizes for the cache


def tensor_sizeof(obj: Any) -> int:
    """Approximate bytes held by a node output, for the cache's byte bound.

    Duck-typed, no torch import: `nbytes`, or `element_size() * numel()`, or an object's
    `get_ram_usage()`, or a model handle's weights (see `_model_bytes`); tuples, lists and
    dicts are summed recursively (each object counted once); anything else counts its
    sys.getsizeof.
    """
    return _sizeof(obj, set())


def _sizeof(obj: Any, seen: set[int]) -> int:
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, (list, tuple, set, frozenset)):
        return sys.getsizeof(obj) + sum(_sizeof(item, seen) for item in obj)
    if isinstance(obj, dict):
        return sys.getsizeof(obj) + sum(_sizeof(k, seen) + _sizeof(v, seen) for k, v in obj.items())
    for measure in (_nbytes, _element_bytes, _ram_usage, _model_bytes):
        size = measure(obj)
        if size is not None:
            return size
    try:
        return sys.getsizeof(obj)
    except TypeError:
        return 0


def _nbytes(obj: Any) -> int | None:
    value = getattr(obj, "nbytes", None)
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _element_bytes(obj: Any) -> int | None:
    element_size, numel = getattr(obj, "element_size", None), getattr(obj, "numel", None)
    if callable(element_size) and callable(numel):
        try:
            return int(element_size()) * int(numel())
        except Exception:
            return None
    return None


def _ram_usage(obj: Any) -> int | None:
    usage = getattr(obj, "get_ram_usage", None)
    if callable(usage):
        try:
            return int(usage())
        except Exception:
            return None
    return None


def _module_bytes(module: Any) -> int | None:
    parameters = getattr(module, "parameters", None)
    if not callable(parameters):
        return None
    try:
        return sum(int(p.numel()) * int(p.element_size()) for p in parameters())
    except Exception:
        return None


def _model_bytes(obj: Any) -> int | None:
    """Weights behind a MODEL / CLIP / VAE handle: `model_size_bytes()` (a ModelPatcher), the sum
    over `patchers()` (a CLIP handle), or the parameters of its `model` module (a VAE handle).
    Clones that share weights are each counted in full: an over-estimate, never an under-one."""
    size = getattr(obj, "model_size_bytes", None)
    if callable(size):
        try:
            return int(size())
        except Exception:
            return None
    patchers = getattr(obj, "patchers", None)
    if callable(patchers):
        try:
            return sum(_model_bytes(p) or 0 for p in patchers())
        except Exception:
            return None
    model = getattr(obj, "model", None)
    return _module_bytes(model) if model is not None else None


# ---------------------------------------------------------------------------- building


def register_module(registry: NodeRegistry, module_name: str, runtime: Any) -> list[str]:
    """Registers every class in `module_name`.NODES as a built-in node; returns the ids."""
    module = importlib.import_module(module_name)
    node_classes = getattr(module, "NODES", None)
    if not isinstance(node_classes, (list, tuple)):
        raise TypeError(f"built-in node module {module_name} must define NODES = [node classes]")
    ids = []
    for node_class in node_classes:
        ids.append(registry.register_class(node_class, runtime, python_module=module_name, source="built-in"))
    return ids


def build_registry(runtime: Any, custom_node_dirs: list[Path] | tuple[Path, ...] = ()) -> tuple[NodeRegistry, Any]:
    """The registry of built-in nodes plus the custom node packs found in `custom_node_dirs`.

    Returns (registry, PluginReport). A broken pack is in the report and skipped; a broken
    built-in module is a programming error and raises.
    """
    from nodes.api.plugins import load_custom_nodes  # plugins imports this module

    registry = NodeRegistry()
    for module_name in BUILTIN_NODE_MODULES:
        register_module(registry, module_name, runtime)
    report = load_custom_nodes(registry, [Path(d) for d in custom_node_dirs], runtime)
    return registry, report
