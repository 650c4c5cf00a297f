"""The runtime handed to the graph executor and, through `ctx.runtime`, to every node.

It carries the folders, the device string, a logger and a free-form `services` dict
that later layers fill (the model manager, for instance). Nodes read what they need
from it; nothing here is global.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from folders.layout import Folders


def default_device(cpu: bool = False) -> str:
    """"cuda" when a CUDA build of torch sees a GPU (and `cpu` is False), else "cpu".

    torch is imported only here and only if installed, so the graph layer stays torch-free.
    """
    if cpu:
        return "cpu"
    try:
        import torch
    except ImportError:
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


@dataclass
class Runtime:
    """What nodes may use from the process: folders, device, logger, named services."""

    folders: Folders
    device: str = "cpu"
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("latentgraph"))
    services: dict[str, Any] = field(default_factory=dict)
    # ComfyUI's --disable-metadata: SaveImage writes no prompt/workflow text chunks.
    disable_metadata: bool = False

    @classmethod
    def create(cls, folders: Folders, *, cpu: bool = False, logger: logging.Logger | None = None) -> Runtime:
        """The runtime for a real process: picks the device (see default_device)."""
        return cls(folders=folders, device=default_device(cpu), logger=logger or logging.getLogger("latentgraph"))

    @classmethod
    def for_directory(cls, base_dir: str | Path) -> Runtime:
        """A CPU runtime whose folders all live under `base_dir` (handy in tests)."""
        return cls(folders=Folders(Path(base_dir)))

    def service(self, name: str) -> Any:
        """A service registered by a later layer; a clear KeyError names what is missing."""
        try:
            return self.services[name]
        except KeyError:
            known = ", ".join(sorted(self.services)) or "none"
            raise KeyError(f"runtime service {name!r} is not available (registered: {known})") from None
