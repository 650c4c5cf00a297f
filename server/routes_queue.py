"""GET/POST /queue, POST /interrupt and POST /free.

POST /queue takes ComfyUI's keys ({"clear": true}, {"delete": [ids]}) and ours: {"pause": true},
{"resume": true}, {"move": {"prompt_id": id, "to": "front"|"back"}} and
{"move": {"prompt_id": id, "before": id}}. Every key is checked before any is applied, so a refused
request (400) changes nothing; while paused, GET /queue and the WebSocket status add `"paused": true`."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from .jsonbody import BodyError, read_json
from .state import state_of
from .store import MoveError

_SMALL_BODY = 1 << 20


def _bad(message: str, details: str = "") -> web.Response:
    return web.json_response({"error": {"type": "invalid_request", "message": message, "details": details,
                                        "extra_info": {}}}, status=400)


def string_list(value, field: str) -> list[str] | web.Response:
    """A list of strings from a request field, or the 400 response."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return _bad(f"'{field}' must be a list of prompt ids.", field)
    return value


@dataclass
class Move:
    prompt_id: str
    to: str | None = None
    before: str | None = None


@dataclass
class QueueRequest:
    """A checked POST /queue body; `paused` None leaves the pause as it is."""

    clear: bool = False
    delete: list[str] | None = None
    paused: bool | None = None
    move: Move | None = None


def _flag(body: dict, key: str) -> bool | str:
    value = body.get(key, False)
    return value if isinstance(value, bool) else f"'{key}' must be true or false, not {value!r}."


def _move(value) -> Move | str:
    """The shape of a `move` (types and keys); what it may do with the queue the store decides (MoveError)."""
    if not isinstance(value, dict):
        return "'move' must be an object: {\"prompt_id\": id, \"to\": \"front\"|\"back\"} or {\"prompt_id\": id, \"before\": id}."
    unknown = sorted(set(value) - {"prompt_id", "to", "before"})
    if unknown:
        return f"'move' has unknown keys {unknown}; it takes 'prompt_id' and one of 'to' and 'before'."
    prompt_id, to, before = value.get("prompt_id"), value.get("to"), value.get("before")
    if not isinstance(prompt_id, str):
        return "'move.prompt_id' must be the id (a string) of a pending prompt."
    if to is not None and not isinstance(to, str):
        return f"'move.to' must be \"front\" or \"back\", not {to!r}."
    if before is not None and not isinstance(before, str):
        return "'move.before' must be the id (a string) of a pending prompt."
    return Move(prompt_id, to, before)


def parse_queue_request(body) -> QueueRequest | str:
    """The checked body, or the sentence saying what is wrong with it."""
    if not isinstance(body, dict):
        return "The body must be a JSON object with 'clear', 'delete', 'pause', 'resume' and/or 'move'."
    req = QueueRequest(clear=body.get("clear") is True)  # ComfyUI: anything but true is no clear
    if "delete" in body:
        value = body["delete"]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return "'delete' must be a list of prompt ids."
        req.delete = value
    pause, resume = _flag(body, "pause"), _flag(body, "resume")
    for flag in (pause, resume):
        if isinstance(flag, str):
            return flag
    if pause and resume:
        return "'pause' and 'resume' cannot both be true."
    req.paused = True if pause else False if resume else None
    if "move" in body:
        move = _move(body["move"])
        if isinstance(move, str):
            return move
        req.move = move
    return req


async def get_queue(request: web.Request) -> web.Response:
    """Running and pending items; assembled from each item's cached JSON (cheap with a long queue). ComfyUI's
    exact body, with our `"paused": true` added only while the queue is paused."""
    running, pending = state_of(request).store.queue()
    text = ('{"queue_running": [' + ", ".join(item.as_json() for item in running) + '], "queue_pending": ['
            + ", ".join(item.as_json() for item in pending) + "]"
            + (', "paused": true}' if state_of(request).store.paused else "}"))
    return web.Response(text=text, content_type="application/json")


async def post_queue(request: web.Request) -> web.Response:
    """Clear/delete pending prompts, pause/resume, move one pending prompt; the running one is untouched."""
    state = state_of(request)
    try:
        body = await read_json(request, max_bytes=_SMALL_BODY, max_depth=state.config.max_json_depth)
    except BodyError as exc:
        return exc.response()
    parsed = parse_queue_request(body)
    if isinstance(parsed, str):
        return _bad(parsed)
    try:
        changed = _apply(state.store, parsed)
    except MoveError as exc:
        return _bad(str(exc), "move")
    if changed:
        state.hub.broadcast_status()
    return web.Response(status=200)


def _apply(store, req: QueueRequest) -> bool:
    """The move first (the only step that can still be refused, under the store's lock), then the rest."""
    changed = False
    if req.move is not None:
        store.move_pending(req.move.prompt_id, to=req.move.to, before=req.move.before)
        changed = True
    if req.clear:
        changed |= bool(store.delete_pending(None))
    if req.delete is not None:
        changed |= bool(store.delete_pending(req.delete))
    if req.paused is not None:
        changed |= store.set_paused(req.paused)
    return changed


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
