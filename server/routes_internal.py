"""ComfyUI's editor-only `/internal` routes: `/internal/files/{type}`, `/internal/folder_paths` and
the console log (`/internal/logs`, `/internal/logs/raw`, `PATCH /internal/logs/subscribe`).

ComfyUI serves these from a separate sub-application, so they are NOT mirrored under `/api`;
`create_app` registers `ROUTES` as they are. They are marked "do not depend" upstream, but
its editor calls `/internal/folder_paths` (missing-models dialog), may list files, and its
terminal panel reads and subscribes to the logs.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from aiohttp import web

from .console_log import terminal_size
from .jsonbody import BodyError, read_json
from .log_relay import TooManySubscribersError
from .paths import FILE_TYPES
from .ports import FolderLayout
from .routes_info import model_keys
from .state import state_of


def _error(status: int, type_: str, message: str) -> web.Response:
    return web.json_response({"error": {"type": type_, "message": message, "details": "", "extra_info": {}}},
                             status=status)


def newest_first(directory: Path) -> list[str]:
    """Names of the non-hidden regular files directly in `directory`, newest modification first
    (ties by name). A missing folder lists nothing; a symlink to a file outside the folder is not
    listed (/view would refuse it anyway)."""
    found: list[tuple[float, str]] = []
    real_directory = os.path.realpath(directory)
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    if entry.is_symlink() and not os.path.realpath(entry.path).startswith(real_directory + os.sep):
                        continue
                    if entry.is_file():
                        found.append((entry.stat().st_mtime, entry.name))
                except OSError:  # vanished or unreadable meanwhile: not listed
                    continue
    except (FileNotFoundError, NotADirectoryError):
        return []
    found.sort(key=lambda item: (-item[0], item[1]))
    return [name for _, name in found]


async def get_files(request: web.Request) -> web.Response:
    """GET /internal/files/{directory_type}: output, input or temp; anything else is a 400."""
    file_type = request.match_info["directory_type"]
    if file_type not in FILE_TYPES:
        return _error(400, "invalid_directory_type",
                      f"The directory type must be one of {', '.join(FILE_TYPES)}, not {file_type[:40]!r}.")
    directory = Path(state_of(request).folders.directory(file_type))
    names = await asyncio.get_running_loop().run_in_executor(None, newest_first, directory)
    return web.json_response(names)


def folder_paths(folders: FolderLayout) -> dict[str, list[str]]:
    """`{model folder key: [absolute search paths]}` for every model key the folders object knows."""
    result: dict[str, list[str]] = {}
    for key in model_keys(folders):
        try:
            result[key] = [str(path) for path in folders.model_paths(key)]
        except (KeyError, ValueError):
            continue
    return result


async def get_folder_paths(request: web.Request) -> web.Response:
    """GET /internal/folder_paths: where each kind of model is looked for (ComfyUI's editor shows it
    in the missing-models dialog)."""
    return web.json_response(folder_paths(state_of(request).folders))


async def get_logs(request: web.Request) -> web.Response:
    """GET /internal/logs: the kept console output as one JSON string."""
    return web.json_response(state_of(request).logs.console.text())


async def get_logs_raw(request: web.Request) -> web.Response:
    """GET /internal/logs/raw: the kept entries ({"t": ISO time, "m": text}) and the terminal size."""
    return web.json_response({"entries": state_of(request).logs.console.entries(), "size": terminal_size()})


MAX_CLIENT_ID_CHARS = 256


async def subscribe_logs(request: web.Request) -> web.Response:
    """PATCH /internal/logs/subscribe {"clientId": str, "enabled": bool}: that WebSocket client gets
    (or stops getting) `logs` events with each new console output."""
    try:
        body = await read_json(request, max_bytes=4096, max_depth=4)
    except BodyError as exc:
        return exc.response()
    if not isinstance(body, dict):
        return _error(400, "invalid_body", 'The body must be a JSON object {"clientId": ..., "enabled": ...}.')
    client_id, enabled = body.get("clientId"), body.get("enabled")
    if not isinstance(client_id, str) or not client_id or len(client_id) > MAX_CLIENT_ID_CHARS:
        return _error(400, "invalid_client_id",
                      f"clientId must be a non-empty string of at most {MAX_CLIENT_ID_CHARS} characters.")
    if not isinstance(enabled, bool):
        return _error(400, "invalid_enabled", f"enabled must be true or false, not {str(enabled)[:40]!r}.")
    try:
        state_of(request).logs.subscribe(client_id, enabled)
    except TooManySubscribersError as exc:
        return _error(429, "too_many_subscribers", f"{exc}; unsubscribe one first.")
    return web.Response(status=200)


ROUTES = [("GET", "/internal/files/{directory_type}", get_files),
          ("GET", "/internal/folder_paths", get_folder_paths),
          ("GET", "/internal/logs", get_logs),
          ("GET", "/internal/logs/raw", get_logs_raw),
          ("PATCH", "/internal/logs/subscribe", subscribe_logs)]
