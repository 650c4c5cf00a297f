"""POST /prompt (validate, commit to the durable queue, answer) and GET /prompt.

Decisions beyond ComfyUI (documented in the OpenAPI document too):
- a `prompt_id` already queued or in the history answers 409 `duplicate_prompt_id`, except when
  the body is the same as the one that queued it (a client retrying after a lost answer): that
  gets the first answer again (200, same number), and nothing is queued twice;
- `number` must be a finite number within +-2**53 (it decides the queue position);
- a full queue answers 429 `queue_full`; a store that cannot write answers 503 and nothing
  is accepted; a body over `max_prompt_bytes` or with more than `max_prompt_nodes` nodes 413;
- wrongly typed `number`, `front`, `extra_data`, `client_id` or
  `partial_execution_targets` answer 400 `invalid_request` naming the field.

Since ComfyUI v0.8 (followed here): a client-supplied `prompt_id` that is not a canonical UUID
answers 400 `invalid_prompt_id`; a node whose class type is not installed (or that has none)
answers 400 `missing_node_type` before any other validation.

Since ComfyUI v0.46 (followed here): deprecated node types are rewritten to their registered
successors before validation (graph/node_replace.py, `replace_deprecated_nodes`). Beyond ComfyUI: the
answer lists the nodes rewritten (`node_replacements`) and the log says so; a replacement leading to
no installed class answers `missing_node_type` naming the replacement.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import math
import sqlite3
import time
import uuid
from typing import Any

from aiohttp import web

from graph.node_replace import Replaced

from .jsonbody import BodyError, read_json
from .pack_server import PromptServer
from .routes_node_replace import replacements_of
from .state import state_of
from .store import DuplicatePromptIdError, QueueFullError

log = logging.getLogger("latentgraph.server.prompt")

SENSITIVE_EXTRA_KEYS = ("auth_token_comfy_org", "api_key_comfy_org")
# The store keeps `number` as a float64 (SQLite REAL, and SQLite refuses ints beyond 64 bits with an
# OverflowError): integers up to 2**53 survive exactly, so a restart keeps the same queue order.
MAX_NUMBER = 2**53


def _error(status: int, type_: str, message: str, details: str = "", **extra_info: Any) -> web.Response:
    body = {"error": {"type": type_, "message": message, "details": details, "extra_info": extra_info},
            "node_errors": {}}
    return web.json_response(body, status=status)


def _invalid(field: str, message: str) -> web.Response:
    return _error(400, "invalid_request", message, field, field=field)


def number_ok(number: Any) -> bool:
    """A usable queue position: a finite int or float within +-2**53 (stored exactly by the store)."""
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        return False
    if isinstance(number, float) and not math.isfinite(number):
        return False
    return -MAX_NUMBER <= number <= MAX_NUMBER


def _short(value: Any) -> str:
    """A value for an error message, cut so a huge number or string cannot blow up the reply."""
    try:
        text = repr(value)
    except ValueError:  # an int with more digits than Python converts to text
        return "a number too long to show"
    return text if len(text) <= 60 else text[:57] + "..."


def _number_out(number: float) -> float | int:
    return int(number) if float(number).is_integer() else number


def is_canonical_uuid(value: Any) -> bool:
    """A prompt id as ComfyUI (since v0.8) accepts it from a client: a UUID written canonically."""
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def missing_node_type(prompt: dict, registry) -> web.Response | None:
    """ComfyUI's `missing_node_type` 400 for the first node without a class_type or with one the
    registry does not have (node_errors empty, as ComfyUI, whose editor then opens its Missing Nodes
    dialog); `extra_info.missing_nodes` (ours) lists every such node."""
    missing = []
    for node_id, node in prompt.items():
        if not isinstance(node, dict):
            continue
        meta = node.get("_meta")
        title = meta.get("title") if isinstance(meta, dict) and isinstance(meta.get("title"), str) else None
        if "class_type" not in node:
            missing.append((node_id, None, title))
        elif isinstance(node["class_type"], str) and registry.get(node["class_type"]) is None:
            missing.append((node_id, node["class_type"], title or node["class_type"]))
        if len(missing) > 100:
            break
    if not missing:
        return None
    node_id, class_type, title = missing[0]
    if class_type is None:
        message = (f"Node '{title or f'ID #{node_id}'}' has no class_type. The workflow may be corrupted or a "
                   "custom node is missing.")
    else:
        message = f"Node '{title}' not found. The custom node may not be installed."
    return _error(400, "missing_node_type", message, f"Node ID '#{node_id}'", node_id=node_id,
                  class_type=class_type, node_title=title,
                  missing_nodes=[{"node_id": n, "class_type": c, "node_title": t} for n, c, t in missing[:100]])


def replace_deprecated_nodes(request: web.Request, prompt: dict, registry) -> tuple[dict, list[Replaced],
                                                                                 web.Response | None]:
    """ComfyUI v0.46's step before validation: (the prompt with the replaced nodes rewritten, the nodes
    rewritten, None), or the `missing_node_type` 400 for a node whose replacement leads to no installed class."""
    outcome = replacements_of(request.app).apply_replacements(prompt, lambda name: registry.get(name) is not None)
    if outcome.unresolved:
        first = outcome.unresolved[0]
        title = _title(prompt.get(first.node_id)) or first.old_class_type
        return prompt, [], _error(400, "missing_node_type", first.message(), f"Node ID '#{first.node_id}'",
                                  node_id=first.node_id, class_type=first.old_class_type, node_title=title,
                                  replaced_by=list(first.chain))
    for done in outcome.replaced:
        log.warning("node %s: %s is deprecated, replaced by %s", done.node_id, done.old_class_type,
                    " -> ".join(done.chain))
    return outcome.prompt, outcome.replaced, None


def _title(node: Any) -> str | None:
    meta = node.get("_meta") if isinstance(node, dict) else None
    return meta.get("title") if isinstance(meta, dict) and isinstance(meta.get("title"), str) else None


def check_request_fields(body: dict) -> web.Response | None:
    """The 400 for a wrongly typed optional field, or None."""
    if "number" in body and not number_ok(body["number"]):
        return _invalid("number", f"'number' must be a finite number between {-MAX_NUMBER} and {MAX_NUMBER} "
                        f"(it decides the queue position), not {_short(body['number'])}.")
    if "front" in body and not isinstance(body["front"], bool):
        return _invalid("front", f"'front' must be true or false, not {_short(body['front'])}.")
    if "extra_data" in body and not isinstance(body["extra_data"], dict):
        return _invalid("extra_data", "'extra_data' must be an object.")
    if "client_id" in body and body["client_id"] is not None and not isinstance(body["client_id"], str):
        return _invalid("client_id", "'client_id' must be a string.")
    extra_client = body.get("extra_data", {}).get("client_id")
    if extra_client is not None and not isinstance(extra_client, str):
        return _invalid("extra_data.client_id", "'extra_data.client_id' must be a string.")
    if "prompt_id" in body and body["prompt_id"] is not None and not is_canonical_uuid(body["prompt_id"]):
        return _error(400, "invalid_prompt_id", "Invalid prompt_id: it must be a UUID in its canonical form "
                      "(lowercase hex, 8-4-4-4-12, as uuid4() writes it).", _short(body["prompt_id"]),
                      field="prompt_id")
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
    if isinstance(body, dict):  # packs' add_on_prompt_handler hooks see (and may change) the request first
        body = PromptServer.instance.trigger_on_prompt(body)
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
    prompt, replaced, bad = replace_deprecated_nodes(request, prompt, state.registry)
    bad = bad or missing_node_type(prompt, state.registry)
    if bad is not None:
        return bad
    prompt_id = body.get("prompt_id") or str(uuid.uuid4())
    request_hash = request_fingerprint(body) if body.get("prompt_id") else None
    if state.store.status_of(prompt_id) is not None:
        return _repeat_or_duplicate(state, prompt_id, request_hash)

    result = await validate_off_loop(state, prompt, body.get("partial_execution_targets"))
    if not result.ok:
        return web.json_response(result.to_json(), status=400)

    extra_data = dict(body.get("extra_data") or {})
    if body.get("client_id") is not None:
        extra_data["client_id"] = body["client_id"]
    extra_data["create_time"] = int(time.time() * 1000)
    sensitive = {key: extra_data.pop(key) for key in SENSITIVE_EXTRA_KEYS if key in extra_data}
    add = functools.partial(state.store.add, prompt_id, result.prompt, extra_data, list(result.outputs),
                            number=body.get("number"), front=bool(body.get("front", False)), sensitive=sensitive,
                            request_hash=request_hash, node_errors=result.node_errors)
    try:
        # The commit waits for the disk; other requests are served meanwhile.
        item = await asyncio.get_running_loop().run_in_executor(None, add)
    except QueueFullError as exc:
        return _error(429, "queue_full", str(exc))
    except DuplicatePromptIdError:  # the same id arrived twice at once
        return _repeat_or_duplicate(state, prompt_id, request_hash)
    except (OSError, sqlite3.Error) as exc:
        log.exception("could not commit prompt %s", prompt_id)
        return _error(503, "queue_write_failed", "The prompt could not be saved to the queue, so it was not "
                      "accepted.", str(exc))
    state.hub.broadcast_status()
    answer = {"prompt_id": prompt_id, "number": _number_out(item.number), "node_errors": result.node_errors}
    if replaced:
        answer["node_replacements"] = [done.as_dict() for done in replaced]
    return web.json_response(answer)


async def validate_off_loop(state, prompt: dict, targets):
    """Validation reads node schemas (file lists for combos): done in a thread so the loop keeps serving."""
    return await asyncio.get_running_loop().run_in_executor(None, state.validate, prompt, state.registry, targets)


def request_fingerprint(body: dict) -> str:
    """A hash of the whole request body, independent of key order and spacing."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _repeat_or_duplicate(state, prompt_id: str, request_hash: str | None) -> web.Response:
    """A client repeating the exact request it made (its answer was lost) gets the first answer again;
    another request with a prompt_id in use gets 409."""
    if request_hash is not None:
        first = state.store.first_answer(prompt_id, request_hash)
        if first is not None:
            return web.json_response(first)
    return _duplicate(prompt_id)


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
    prompt, _, bad = replace_deprecated_nodes(request, body["prompt"], state.registry)
    bad = bad or missing_node_type(prompt, state.registry)
    if bad is not None:
        return bad
    result = await validate_off_loop(state, prompt, body.get("partial_execution_targets"))
    if not result.ok:
        return web.json_response(result.to_json(), status=400)
    try:
        plan = state.worker.executor.preview_plan(result.prompt, list(result.outputs))
    except Exception as exc:  # a prompt the planner refuses (cycle, unknown type) is the client's error
        return _error(400, "invalid_prompt", "The prompt cannot be planned.", str(exc))
    return web.json_response({"run": list(plan["run"]), "cached": list(plan["cached"])})


ROUTES = [("POST", "/prompt", post_prompt), ("GET", "/prompt", get_prompt), ("POST", "/plan", post_plan)]
