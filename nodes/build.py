"""The registry a process starts with: the library's node families, then the custom node packs.

`build_registry(runtime, custom_node_dirs)` is what the server and the CLI call. Each module
in BUILTIN_NODE_MODULES exposes `NODES = [...]` (declared Node classes or ComfyUI classic
classes). Built-in ids win over packs; a broken pack is reported and skipped.
"""

from __future__ import annotations

from pathlib import Path

from nodes.api.plugins import PluginReport, load_custom_nodes
from nodes.api.registry import NodeRegistry, register_module
from nodes.api.runtime import NodeRuntime

# Registered at start, in this order (the order of /object_info and of the editor's palette).
BUILTIN_NODE_MODULES = [
    "nodes.library.utility.basics",
    "nodes.library.image.load_save",
    "nodes.library.latent.latent_ops",
    "nodes.library.conditioning.edit",
    "nodes.library.loaders.model_loaders",
    "nodes.library.conditioning.clip_text",
    "nodes.library.latent.vae_codec",
    "nodes.library.sampling.ksampler",
    "nodes.library.sampling.custom_sampling",
    "nodes.library.inspect.inspect_nodes",
]


def build_registry(runtime: NodeRuntime | None,
                   custom_node_dirs: list[Path] | tuple[Path, ...] = ()) -> tuple[NodeRegistry, PluginReport]:
    """The registry of built-in nodes plus the custom node packs found in `custom_node_dirs`.

    Returns (registry, PluginReport). A broken pack is in the report and skipped; a broken
    built-in module is a programming error and raises.
    """
    registry = NodeRegistry()
    for module_name in BUILTIN_NODE_MODULES:
        register_module(registry, module_name, runtime)
    report = load_custom_nodes(registry, [Path(d) for d in custom_node_dirs], runtime)
    return registry, report
