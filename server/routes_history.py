"""GET/POST /history and GET /history/{prompt_id}, from the durable store."""

from __future__ import annotations

from aiohttp import web

from .jsonbody import BodyError, read_json
from .routes_queue import _bad, string_list
from .state import state_of


def _int_param(request: web.Request, name: str) -> int | None | web.Response:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        return _bad(f"'{name}' must be a whole number, not {raw!r}.", name)
    if value < 0:
        return _bad(f"'{name}' must not be negative.", name)
    return value


async def get_history(request: web.Request) -> web.Response:
    max_items = _int_param(request, "max_items")
    offset = _int_param(request, "offset")
    for value in (max_items, offset):
        if isinstance(value, web.Response):
            return value
    return web.json_response(state_of(request).store.history(max_items=max_items, offset=offset))


async def get_history_item(request: web.Request) -> web.Response:
    return web.json_response(state_of(request).store.history(prompt_id=request.match_info["prompt_id"]))


async def post_history(request: web.Request) -> web.Response:
    """{"clear": true} and/or {"delete": [ids]}."""
    state = state_of(request)
    try:
        body = await read_json(request, max_bytes=1 << 20, max_depth=state.config.max_json_depth)
    except BodyError as exc:
        return exc.response()
    if not isinstance(body, dict):
        return _bad("The body must be a JSON object with 'clear' and/or 'delete'.")
    if body.get("clear") is True:
        state.store.delete_history(None)
    if "delete" in body:
        ids = string_list(body["delete"], "delete")
        if isinstance(ids, web.Response):
            return ids
        state.store.delete_history(ids)
    return web.Response(status=200)


ROUTES = [("GET", "/history", get_history), ("GET", "/history/{prompt_id}", get_history_item),
          ("POST", "/history", post_history)]
