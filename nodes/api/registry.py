"""The node registry: every node type by class_type, exported in ComfyUI's /object_info shape.

Declared Node subclasses, ComfyUI V3 nodes (`io.ComfyNode`, nodes/compat/comfy_api/adapter.py) and
ComfyUI classic classes are adapted on registration; a
duplicate id is refused with a message naming who registered it first. What is registered
at start (the library's families, then custom packs) is decided by `nodes/build.py`.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph.schema import NodeType
from nodes.api.classic import ClassicNodeType, is_classic_node_class
from nodes.api.declare import DeclaredNodeType, Node
from nodes.api.object_info import node_info
from nodes.compat.comfy_api.adapter import V3NodeType, is_v3_node_class

log = logging.getLogger("latentgraph.nodes")


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
            if isinstance(entry.node_type, V3NodeType):  # ComfyUI writes V3 nodes' entries its own way
                return entry.node_type.object_info()
            return node_info(entry.node_type.schema(), entry.display_name, entry.python_module)
        except Exception:
            log.exception("node %s: could not describe it for object_info; skipped", class_type)
            return None


def adapt_node_class(node_class: Any, runtime: Any = None, *, class_type: str | None = None,
                     python_module: str | None = None, display_name: str | None = None) -> NodeType:
    """A NodeType for a declared Node subclass, a ComfyUI V3 node (io.ComfyNode) or a ComfyUI classic class."""
    if isinstance(node_class, type) and issubclass(node_class, Node):
        if class_type and class_type != (node_class.node_id or node_class.__name__):
            raise ValueError(f"declared node {node_class.__name__} has node_id "
                             f"{node_class.node_id!r} but is mapped as {class_type!r}")
        return DeclaredNodeType(node_class, runtime, python_module=python_module)
    if is_v3_node_class(node_class):
        return V3NodeType(node_class, runtime, class_type=class_type, python_module=python_module,
                          display_name=display_name)
    if is_classic_node_class(node_class):
        return ClassicNodeType(node_class, class_type, runtime, python_module=python_module or "nodes",
                               display_name=display_name)
    raise TypeError(f"{node_class!r} is neither a declared Node subclass, a ComfyUI V3 node (io.ComfyNode) "
                    "nor a ComfyUI classic node class (INPUT_TYPES, RETURN_TYPES, FUNCTION)")


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
