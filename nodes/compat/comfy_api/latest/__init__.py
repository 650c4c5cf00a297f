"""`comfy_api.latest`: ComfyUI's V3 node API as packs import it (`from comfy_api.latest import ComfyExtension, io, ui`).

A pack exposes `async def comfy_entrypoint() -> ComfyExtension`; nodes/api/plugins.py awaits it,
runs the extension's `on_load()`, then registers the classes `get_node_list()` returns.
`ComfyAPI()` / `ComfyAPISync()` (_api.py) let `on_load()` register node replacements (`io.NodeReplace`).
"""

from __future__ import annotations

from nodes.compat.comfy_api.latest import _io as io
from nodes.compat.comfy_api.latest import _ui as ui
from nodes.compat.comfy_api.latest._api import ComfyAPI, ComfyAPISync

IO = io
UI = ui

__all__ = ["IO", "UI", "ComfyAPI", "ComfyAPISync", "ComfyExtension", "io", "ui"]


class ComfyExtension:
    """A V3 pack: `get_node_list()` returns its node classes; `on_load()` runs first (optional)."""

    async def on_load(self) -> None:
        return None

    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        raise NotImplementedError(f"{type(self).__name__} does not define get_node_list()")
