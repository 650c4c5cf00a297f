"""`comfy_api.latest.ComfyAPI` / `ComfyAPISync`: the API object packs make with `api = ComfyAPI()`.

Only the part packs use at load time is provided: `node_replacement.register(io.NodeReplace(...))`,
awaited in ComfyAPI (`await api.node_replacement.register(...)` from an extension's `on_load`) and plain
in ComfyAPISync. Both register into the process's registry (graph.node_replace.NODE_REPLACEMENTS), which
the server applies to each prompt before validation, as ComfyUI v0.46's `node_replace_manager`.
"""

from __future__ import annotations

from graph.node_replace import NODE_REPLACEMENTS, NodeReplace, NodeReplaceRegistry


class NodeReplacement:
    """`api.node_replacement` of ComfyAPI (async register)."""

    def __init__(self, registry: NodeReplaceRegistry = NODE_REPLACEMENTS) -> None:
        self._registry = registry

    async def register(self, node_replace: NodeReplace) -> None:
        """Register a replacement of a deprecated node class (applied to prompts before validation)."""
        self._registry.register(node_replace)


class NodeReplacementSync(NodeReplacement):
    """`api.node_replacement` of ComfyAPISync (the same, called without await)."""

    def register(self, node_replace: NodeReplace) -> None:  # type: ignore[override]
        self._registry.register(node_replace)


class ComfyAPI:
    """ComfyUI's `ComfyAPI_latest` as far as packs need it to register node replacements."""

    VERSION = "latest"
    STABLE = False

    def __init__(self) -> None:
        self.node_replacement = NodeReplacement()


class ComfyAPISync:
    """The synchronous face of ComfyAPI."""

    VERSION = "latest"
    STABLE = False

    def __init__(self) -> None:
        self.node_replacement = NodeReplacementSync()
