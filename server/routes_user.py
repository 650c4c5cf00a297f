"""Single-user stubs ComfyUI's editor needs: /users and /settings (stored in the user folder)."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from .atomic_write import write_atomically
from .jsonbody import BodyError, read_json
from .routes_queue import _bad
from .state import state_of

SETTINGS_FILE = "comfy.settings.json"
_MAX_SETTINGS_BYTES = 4 << 20


def settings_path(request: web.Request) -> Path:
    return Path(state_of(request).folders.directory("user")) / "default" / SETTINGS_FILE


def load_settings(path: Path) -> dict:
    """The stored settings; a missing or corrupt file reads as {} (ComfyUI)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # nested too deep for the decoder: corrupt too
        return {}
    return value if isinstance(value, dict) else {}


def save_settings(path: Path, settings: dict) -> None:
    """Atomic write: a crash never leaves a half-written settings file (the old one stays whole)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(settings, indent=1).encode("utf-8"))


async def get_users(request: web.Request) -> web.Response:
    return web.json_response({"storage": "server", "migrated": True})


async def get_settings(request: web.Request) -> web.Response:
    return web.json_response(load_settings(settings_path(request)))


async def get_setting(request: web.Request) -> web.Response:
    return web.json_response(load_settings(settings_path(request)).get(request.match_info["setting_id"]))


async def _body(request: web.Request):
    return await read_json(request, max_bytes=_MAX_SETTINGS_BYTES, max_depth=state_of(request).config.max_json_depth)


async def post_settings(request: web.Request) -> web.Response:
    """Merge a dict of settings."""
    try:
        body = await _body(request)
    except BodyError as exc:
        return exc.response()
    if not isinstance(body, dict):
        return _bad("The settings body must be a JSON object.")
    path = settings_path(request)
    save_settings(path, {**load_settings(path), **body})
    return web.Response(status=200)


async def post_setting(request: web.Request) -> web.Response:
    """Store the JSON body as the value of one setting."""
    try:
        body = await _body(request)
    except BodyError as exc:
        return exc.response()
    path = settings_path(request)
    save_settings(path, {**load_settings(path), request.match_info["setting_id"]: body})
    return web.Response(status=200)


ROUTES = [("GET", "/users", get_users), ("GET", "/settings", get_settings), ("POST", "/settings", post_settings),
          ("GET", "/settings/{setting_id}", get_setting), ("POST", "/settings/{setting_id}", post_setting)]
