"""POST /prompt (validate, commit to the durable queue, answer) and GET /prompt.

Decisions beyond ComfyUI (documented in the OpenAPI document too):
- a `prompt_id` already queued or in the history answers 409 `duplicate_prompt_id`;
- a full queue answers 429 `queue_full`; a store that cannot write answers 503 and nothing
  is accepted; a body over `max_prompt_bytes` or with more than `max_prompt_nodes` nodes 413;
- wrongly typed `number`, `front`, `extra_data`, `client_id`, `prompt_id` or
  `partial_execution_targets` answer 400 `invalid_request` naming the field.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import sqlite3
import time
import uuid
from typing import Any

from aiohttp import web

from .jsonbody import BodyError, read_json
from .state import state_of
from .store import DuplicatePromptIdError, QueueFullError

log = logging.getLogger("latentgraph.server.prompt")

SENSITIVE_EXTRA_KEYS = ("auth_token_comfy_org", "api_key_comfy_org")
MAX_ID_LENGTH = 200


def _error(status: int, type_: str, message: str, details: str = "", **extra_info: Any) -> web.Response:
    body = {"error": {"type": type_, "message": message, "details": details, "extra_info": extra_info},
            "node_errors": {}}
    return web.json_response(body, status=status)


def _invalid(field: str, message: str) -> web.Response:
    return _error(400, "invalid_request", message, field, field=field)


def _number_out(number: float) -> float | int:
    return int(number) if float(number).is_integer() else number


def check_request_fields(body: dict) -> web.Response | None:
    """The 400 for a wrongly typed optional field, or None."""
    if "number" in body:
        number = body["number"]
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
            return _invalid("number", f"'number' must be a finite number, not {number!r}.")
    if "front" in body and not isinstance(body["front"], bool):
        return _invalid("front", f"'front' must be true or false, not {body['front']!r}.")
    if "extra_data" in body and not isinstance(body["extra_data"], dict):
        return _invalid("extra_data", "'extra_data' must be an object.")
    if "client_id" in body and body["client_id"] is not None and not isinstance(body["client_id"], str):
        return _invalid("client_id", "'client_id' must be a string.")
    if "prompt_id" in body and body["prompt_id"] is not None:
        pid = body["prompt_id"]
        if not isinstance(pid, str) or not pid.strip() or len(pid) > MAX_ID_LENGTH or "\x00" in pid:
            return _invalid("prompt_id", f"'prompt_id' must be a non-empty string of at most {MAX_ID_LENGTH} characters.")
    targets = body.get("partial_execution_targets")
    if targets is not None and (not isinstance(targets, list) or not all(isinstance(t, str) for t in targets)):
        return _invalid("partial_execution_targets", "'partial_execution_targets' must be a list of node ids.")
    return None


async def post_prompt(request: web.Request) -> web.Response:
    state = state_of(request)
    if not state.accepting:
        return _error(503, "shutting_down", "The server is shutting down and accepts no new prompts.")
    config = state.config
    try:
        body = await read_json(request, max_bytes=config.max_prompt_bytes, max_depth=config.max_json_depth)
    except BodyError as exc:
        return exc.response(node_errors={})
    if not isinstance(body, dict) or "prompt" not in body:
        return _error(400, "no_prompt", "No prompt provided", "The body must be a JSON object with a 'prompt' key.")
    prompt = body["prompt"]
    if not isinstance(prompt, dict):
        return _error(400, "invalid_prompt", "Invalid prompt: 'prompt' must be an object of nodes keyed by id.",
                      f"got {type(prompt).__name__}")
    if len(prompt) > config.max_prompt_nodes:
        return _error(413, "prompt_too_large", f"The prompt has {len(prompt)} nodes; the limit is "
                      f"{config.max_prompt_nodes}.")
    bad = check_request_fields(body)
    if bad is not None:
        return bad
    prompt_id = body.get("prompt_id") or str(uuid.uuid4())
    if state.store.status_of(prompt_id) is not None:
        return _duplicate(prompt_id)

    result = await validate_off_loop(state, prompt, body.get("partial_execution_targets"))
    if not result.ok:
        return web.json_response(result.to_json(), status=400)

    extra_data = dict(body.get("extra_data") or {})
    if body.get("client_id") is not None:
        extra_data["client_id"] = body["client_id"]
    extra_data["create_time"] = int(time.time() * 1000)
    sensitive = {key: extra_data.pop(key) for key in SENSITIVE_EXTRA_KEYS if key in extra_data}
    add = functools.partial(state.store.add, prompt_id, result.prompt, extra_data, list(result.outputs),
                            number=body.get("number"), front=bool(body.get("front", False)), sensitive=sensitive)
    try:
        # The commit waits for the disk; other requests are served meanwhile.
        item = await asyncio.get_running_loop().run_in_executor(None, add)
    except QueueFullError as exc:
        return _error(429, "queue_full", str(exc))
    except DuplicatePromptIdError:
        return _duplicate(prompt_id)
    except (OSError, sqlite3.Error) as exc:
        log.exception("could not commit prompt %s", prompt_id)
        return _error(503, "queue_write_failed", "The prompt could not be saved to the queue, so it was not "
                      "accepted.", str(exc))
    state.hub.broadcast_status()
    return web.json_response({"prompt_id": prompt_id, "number": _number_out(item.number),
                              "node_errors": result.node_errors})


async def validate_off_loop(state, prompt: dict, targets):
    """Validation reads node schemas (file lists for combos): done in a thread so the loop keeps serving."""
    return await asyncio.get_running_loop().run_in_executor(None, state.validate, prompt, state.registry, targets)


def _duplicate(prompt_id: str) -> web.Response:
    return _error(409, "duplicate_prompt_id", f"A prompt with id {prompt_id!r} is already queued or in the history.",
                  prompt_id)


async def get_prompt(request: web.Request) -> web.Response:
    return web.json_response({"exec_info": {"queue_remaining": state_of(request).store.queue_remaining()}})


async def post_plan(request: web.Request) -> web.Response:
    """POST /plan {"prompt", "partial_execution_targets"?} (ours): which nodes a run would execute
    and which come from the cache, without queueing anything: {"run": [ids], "cached": [ids]}."""
    state = state_of(request)
    config = state.config
    try:
        body = await read_json(request, max_bytes=config.max_prompt_bytes, max_depth=config.max_json_depth)
    except BodyError as exc:
        return exc.response(node_errors={})
    if not isinstance(body, dict) or not isinstance(body.get("prompt"), dict):
        return _error(400, "no_prompt", "No prompt provided", "The body must be a JSON object with a 'prompt' object.")
    if len(body["prompt"]) > config.max_prompt_nodes:
        return _error(413, "prompt_too_large", f"The prompt has more than {config.max_prompt_nodes} nodes.")
    bad = check_request_fields(body)
    if bad is not None:
        return bad
    result = await validate_off_loop(state, body["prompt"], body.get("partial_execution_targets"))
    if not result.ok:
        return web.json_response(result.to_json(), status=400)
    try:
        plan = state.worker.executor.preview_plan(result.prompt, list(result.outputs))
    except Exception as exc:  # a prompt the planner refuses (cycle, unknown type) is the client's error
        return _error(400, "invalid_prompt", "The prompt cannot be planned.", str(exc))
    return web.json_response({"run": list(plan["run"]), "cached": list(plan["cached"])})


ROUTES = [("POST", "/prompt", post_prompt), ("GET", "/prompt", get_prompt), ("POST", "/plan", post_plan)]
