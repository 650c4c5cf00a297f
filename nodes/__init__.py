"""Node library: declarations, ComfyUI adapter, registry, plugin loader and the built-in nodes.

The package is also ComfyUI's `nodes` module for custom node packs: `nodes.MAX_RESOLUTION`,
`nodes.NODE_CLASS_MAPPINGS`, `nodes.NODE_DISPLAY_NAME_MAPPINGS` and the core node classes
(`nodes.KSampler().sample(...)`, ...) come from nodes/compat/core_nodes.py, looked up only when a
pack asks for them, so `import nodes.build` and friends stay cheap and torch-free.
"""

from __future__ import annotations

import os

MAX_RESOLUTION = 16384


def __getattr__(name: str):
    """ComfyUI's `nodes` names, built on first use (a submodule name or a dunder is never one)."""
    # Core node ids start with a capital (and ComfyUI's two unCLIP nodes): anything else is answered
    # without building the classes.
    if not (name[:1].isupper() or name.startswith("unCLIP")) or _is_submodule(name):
        raise AttributeError(f"module 'nodes' has no attribute {name!r}")
    from nodes.compat import core_nodes

    if name == "NODE_CLASS_MAPPINGS":
        return core_nodes.node_class_mappings()
    if name == "NODE_DISPLAY_NAME_MAPPINGS":
        return core_nodes.node_display_name_mappings()
    return core_nodes.core_class(name)


def _is_submodule(name: str) -> bool:
    return any(os.path.exists(os.path.join(folder, name + ".py")) or os.path.isdir(os.path.join(folder, name))
               for folder in __path__)
