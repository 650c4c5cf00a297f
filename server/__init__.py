"""aiohttp application: ComfyUI-compatible HTTP/WebSocket API over a durable queue.

Custom node packs written for ComfyUI import this package under ComfyUI's module name `server`:
`from server import PromptServer` (and `BinaryEventTypes`) gives them server/pack_server.py's
facade. The names are resolved on first use, so `import server` alone stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

# Names ComfyUI's `server` module has that packs import, and the module of ours that provides each.
_PACK_NAMES = {"PromptServer": ".pack_server", "BinaryEventTypes": ".pack_server"}


def __getattr__(name: str) -> Any:
    module = _PACK_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_PACK_NAMES])
