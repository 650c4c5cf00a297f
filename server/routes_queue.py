"""GET/POST /queue, POST /interrupt and POST /free."""

from __future__ import annotations

from aiohttp import web

from .jsonbody import BodyError, read_json
from .state import state_of

_SMALL_BODY = 1 << 20


def _bad(message: str, details: str = "") -> web.Response:
    return web.json_response({"error": {"type": "invalid_request", "message": message, "details": details,
                                        "extra_info": {}}}, status=400)


def string_list(value, field: str) -> list[str] | web.Response:
    """A list of strings from a request field, or the 400 response."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return _bad(f"'{field}' must be a list of prompt ids.", field)
    return value


async def get_queue(request: web.Request) -> web.Response:
    """Running and pending items; assembled from each item's cached JSON (cheap with a long queue)."""
    running, pending = state_of(request).store.queue()
    text = ('{"queue_running": [' + ", ".join(item.as_json() for item in running) + '], "queue_pending": ['
            + ", ".join(item.as_json() for item in pending) + "]}")
    return web.Response(text=text, content_type="application/json")


async def post_queue(request: web.Request) -> web.Response:
    """{"clear": true} and/or {"delete": [ids]}: pending prompts only; the running one is untouched."""
    state = state_of(request)
    try:
        body = await read_json(request, max_bytes=_SMALL_BODY, max_depth=state.config.max_json_depth)
    except BodyError as exc:
        return exc.response()
    if not isinstance(body, dict):
        return _bad("The body must be a JSON object with 'clear' and/or 'delete'.")
    changed = False
    if body.get("clear") is True:
        changed |= bool(state.store.delete_pending(None))
    if "delete" in body:
        ids = string_list(body["delete"], "delete")
        if isinstance(ids, web.Response):
            return ids
        changed |= bool(state.store.delete_pending(ids))
    if changed:
        state.hub.broadcast_status()
    return web.Response(status=200)


async def post_interrupt(request: web.Request) -> web.Response:
    """Interrupt the running prompt; with {"prompt_id": id} only if that prompt is running.
    An empty or unreadable body means a global interrupt (ComfyUI)."""
    state = state_of(request)
    try:
        body = await read_json(request, max_bytes=_SMALL_BODY, max_depth=state.config.max_json_depth,
                               allow_empty=True)
    except BodyError:
        body = None
    prompt_id = body.get("prompt_id") if isinstance(body, dict) else None
    state.worker.interrupt(prompt_id if isinstance(prompt_id, str) else None)
    return web.Response(status=200)


async def post_free(request: web.Request) -> web.Response:
    """{"unload_models": bool, "free_memory": bool}: done by the worker between prompts."""
    state = state_of(request)
    try:
        body = await read_json(request, max_bytes=_SMALL_BODY, max_depth=state.config.max_json_depth)
    except BodyError as exc:
        return exc.response()
    if not isinstance(body, dict):
        return _bad("The body must be a JSON object.")
    state.worker.request_free(unload_models=body.get("unload_models") is True,
                              free_memory=body.get("free_memory") is True)
    return web.Response(status=200)


ROUTES = [("GET", "/queue", get_queue), ("POST", "/queue", post_queue), ("POST", "/interrupt", post_interrupt),
          ("POST", "/free", post_free)]
