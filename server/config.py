"""Server settings, filled from the command line by app/cmd_serve.py (or directly by tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ServerConfig:
    """Everything the server reads that is not a collaborator object."""

    # Addresses the server binds (used for the Host/Origin policy and the token rule).
    listen: tuple[str, ...] = ("127.0.0.1",)
    port: int = 8188
    # Access token; required when listening beyond loopback unless unsafe_no_token.
    token: str | None = None
    unsafe_no_token: bool = False
    max_upload_mb: float = 100.0
    # A POST /prompt body larger than this, or with more nodes, is refused with 413.
    max_prompt_bytes: int = 32 * 1024 * 1024
    max_prompt_nodes: int = 20000
    max_json_depth: int = 100
    max_queue_size: int = 10000
    history_max: int = 10000
    # Uploaded and previewed images larger than this many pixels are refused (decompression bombs).
    max_image_pixels: int = 64 * 1024 * 1024
    # Per-WebSocket send queue length (messages) before the client is disconnected.
    ws_queue_limit: int = 512
    # A client whose full queue's oldest message waited this long is not reading: disconnected.
    ws_stall_seconds: float = 5.0
    # Open WebSockets at most; one more is refused with HTTP 503 before the upgrade.
    ws_max_clients: int = 256
    # Previews for prompts whose extra_data names no preview_method (or "default"): none, as ComfyUI.
    preview_method: str = "none"
    # Static editor files served at "/" (None: a built-in page says how to build the editor).
    web_root: Path | None = None
    # SQLite durability: FULL survives power loss, NORMAL survives process death.
    db_synchronous: str = "FULL"
    extra_dirs: dict[str, Path] = field(default_factory=dict)
    # UI workflows listed in ComfyUI's Templates dialog (None: the project's workflows/ folder).
    workflows_dir: Path | None = None

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)
