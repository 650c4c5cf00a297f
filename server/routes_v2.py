"""The Comfy API v2 jobs surface, served natively on the durable queue (see server/README.md, "API v2").

    POST /api/v2/jobs                         submit {"workflow": <API-format graph>} -> 201 Job
    GET  /api/v2/jobs                         list, newest first (cursor, limit, status, metadata[k]=v)
    GET  /api/v2/jobs/{id}                    the Job: status, progress, outputs, error, urls
    POST /api/v2/jobs/{id}/cancel             cancel (queued: removed; running: interrupted) -> Job
    GET  /api/v2/jobs/{id}/events             server-sent events (routes_v2_events.py)
    GET  /api/v2/jobs/{id}/outputs/{output}   an output file's bytes (ours; also /api/v2/assets/{id}/content)
    GET  /api/v2/openapi.json                 the OpenAPI document of this surface

Submission goes through the same steps as POST /prompt (routes_prompt: field checks, packs'
on-prompt hooks, node replacements, missing node types, the validator off the loop, the store's durable add), so
a job is a prompt: it shows in /queue, /history and /api/jobs too. Errors use the v2 envelope
`{"error": {"code", "message", "details"}}`; a workflow that fails validation answers 422
`invalid_workflow` whose `details` is ComfyUI's validation answer (`error`, `node_errors`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import json
import sqlite3
import time
import uuid

from aiohttp import web

from .jsonbody import BodyError, read_json
from .pack_server import PromptServer
from .paths import PathRefusedError
from .routes_files import ACTIVE_TYPES, locate
from .routes_jobs_cancel import cancel_ids
from .routes_prompt import (
    SENSITIVE_EXTRA_KEYS,
    check_request_fields,
    missing_node_type,
    replace_deprecated_nodes,
    request_fingerprint,
    validate_off_loop,
)
from .routes_v2_events import job_events
from .routes_v2_jobs import STATUSES, find_job, finished_job, queued_job, record, running_job
from .routes_v2_live import LIVE, LiveJobs
from .routes_v2_openapi import document
from .security import refused_content_type
from .state import STATE, ServerState, state_of
from .store import DuplicatePromptIdError, QueueFullError

_IDEMPOTENCY_NAMESPACE = uuid.UUID("0f3b6c1e-7d2a-4f59-a0c4-8e1d2b3c4a5f")
_MAX_METADATA = 16
_MAX_LIST = 100


def fail(status: int, code: str, message: str, details: dict | None = None, headers: dict | None = None):
    """The v2 error envelope."""
    return web.json_response({"error": {"code": code, "message": message, "details": details}}, status=status,
                             headers=headers)


def _not_found(job_id: str) -> web.Response:
    return fail(404, "not_found", f"No job with id {job_id[:80]!r} is queued, running or in the history.")


# ---------------------------------------------------------------------------------------- submit
def _check_body(body, max_nodes: int) -> web.Response | None:
    if not isinstance(body, dict) or not isinstance(body.get("workflow"), dict):
        return fail(400, "invalid_request", "The body must be a JSON object with a 'workflow' object: the "
                    "API-format graph, nodes keyed by id.")
    for reserved in ("webhook_url", "inputs"):
        if reserved in body:
            return fail(400, "invalid_request", f"'{reserved}' is reserved by the Comfy API v2 and not accepted yet.")
    workflow = body["workflow"]
    if isinstance(workflow.get("nodes"), list) and "links" in workflow:
        return fail(422, "workflow_format_ui", "This is a UI-format workflow (the editor's save with nodes and "
                    "links); submit the API-format graph (the editor's 'Export (API)').")
    if len(workflow) > max_nodes:
        return fail(413, "prompt_too_large", f"The workflow has {len(workflow)} nodes; the limit is {max_nodes}.")
    metadata = body.get("metadata", {})
    if not isinstance(metadata, dict) or len(metadata) > _MAX_METADATA or not all(
            isinstance(k, str) and isinstance(v, str) and len(k) <= 64 and len(v) <= 256 for k, v in metadata.items()):
        return fail(400, "invalid_request", f"'metadata' must be an object of at most {_MAX_METADATA} string labels "
                    "(keys up to 64 characters, values up to 256).")
    return None


def _comfy_error(response: web.Response) -> dict:
    """The JSON body of one of routes_prompt's ComfyUI-shaped error answers."""
    return json.loads(response.body)


async def post_job(request: web.Request) -> web.Response:
    state = state_of(request)
    if not state.accepting:
        return fail(503, "shutting_down", "The server is shutting down and accepts no new jobs.")
    bad_type = refused_content_type(request)
    if bad_type is not None:
        return fail(415, "unsupported_media_type", f"POST /api/v2/jobs takes application/json, not {bad_type}.")
    config = state.config
    try:
        body = await read_json(request, max_bytes=config.max_prompt_bytes, max_depth=config.max_json_depth)
    except BodyError as exc:
        return fail(exc.status, "request_too_large" if exc.status == 413 else "invalid_request", exc.error["message"])
    refused = _check_body(body, config.max_prompt_nodes)
    if refused is not None:
        return refused
    prompt_body = PromptServer.instance.trigger_on_prompt(
        {"prompt": body["workflow"], **({"extra_data": body["extra_data"]} if "extra_data" in body else {})})
    if not isinstance(prompt_body, dict):
        return fail(400, "invalid_request", "An on-prompt hook of a custom node pack returned no request object.")
    bad = check_request_fields(prompt_body)
    if bad is not None:
        error = _comfy_error(bad)["error"]
        return fail(400, "invalid_request", error["message"], {"field": error["extra_info"].get("field")})
    workflow = prompt_body.get("prompt")
    if not isinstance(workflow, dict):
        return fail(400, "invalid_request", "An on-prompt hook of a custom node pack removed the workflow.")

    key = request.headers.get("Idempotency-Key")
    job_id, request_hash = str(uuid.uuid4()), None
    if key is not None and not 1 <= len(key) <= 255:
        return fail(400, "invalid_request", "Idempotency-Key must be 1 to 255 characters (a UUID is recommended).")
    if key:
        job_id, request_hash = str(uuid.uuid5(_IDEMPOTENCY_NAMESPACE, key)), request_fingerprint(body)
        if state.store.status_of(job_id) is not None:
            return _replay(state, request.app[LIVE], job_id, request_hash)

    workflow, _, missing = replace_deprecated_nodes(request, workflow, state.registry)
    missing = missing or missing_node_type(workflow, state.registry)
    if missing is not None:
        details = _comfy_error(missing)
        return fail(422, "invalid_workflow", details["error"]["message"], details)
    result = await validate_off_loop(state, workflow, None)
    if not result.ok:
        details = result.to_json()
        return fail(422, "invalid_workflow", (details.get("error") or {}).get("message", "Invalid workflow"), details)

    extra_data = dict(prompt_body.get("extra_data") or {})
    extra_data["create_time"] = int(time.time() * 1000)
    extra_data["v2_metadata"] = dict(body.get("metadata") or {})
    sensitive = {k: extra_data.pop(k) for k in SENSITIVE_EXTRA_KEYS if k in extra_data}
    add = functools.partial(state.store.add, job_id, result.prompt, extra_data, list(result.outputs),
                            sensitive=sensitive, request_hash=request_hash, node_errors=result.node_errors)
    try:
        await asyncio.get_running_loop().run_in_executor(None, add)
    except QueueFullError as exc:
        return fail(429, "queue_full", str(exc), headers={"Retry-After": "5"})
    except DuplicatePromptIdError:  # the same Idempotency-Key twice at once
        return _replay(state, request.app[LIVE], job_id, request_hash or "")
    except (OSError, sqlite3.Error) as exc:
        return fail(503, "queue_write_failed", f"The job could not be saved to the queue, so it was not accepted: "
                    f"{exc}")
    state.hub.broadcast_status()
    job = find_job(state, request.app[LIVE], job_id) or queued_job(job_id, extra_data, 0)
    return web.json_response(job, status=201)


def _replay(state: ServerState, live: LiveJobs, job_id: str, request_hash: str) -> web.Response:
    """The same Idempotency-Key and body again: the job it made, marked replayed; another body: 422."""
    job = find_job(state, live, job_id)
    if job is None or state.store.first_answer(job_id, request_hash) is None:
        return fail(422, "idempotency_key_reuse", "This Idempotency-Key was already used with a different request "
                    "body; use a new key for a new job.")
    return web.json_response(job, status=201, headers={"Idempotency-Replayed": "true"})


# ---------------------------------------------------------------------------------------- read
async def get_job(request: web.Request) -> web.Response:
    job_id = request.match_info["id"]
    job = find_job(state_of(request), request.app[LIVE], job_id)
    return web.json_response(job) if job is not None else _not_found(job_id)


def _cursor_key(job: dict, created: dict[str, int]) -> tuple[int, str]:
    return created.get(job["id"], 0), job["id"]


def _decode_cursor(text: str) -> tuple[int, str] | None:
    try:
        value = json.loads(base64.urlsafe_b64decode(text.encode("ascii") + b"==="))
    except (ValueError, binascii.Error, UnicodeError):
        return None
    ok = isinstance(value, list) and len(value) == 2 and isinstance(value[0], int) and isinstance(value[1], str)
    return (value[0], value[1]) if ok else None


def _encode_cursor(key: tuple[int, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode("ascii").rstrip("=")


def _list_filters(query) -> tuple[dict, web.Response | None]:
    wanted = set(STATUSES)
    if query.get("status"):
        wanted = {s.strip() for s in query["status"].split(",") if s.strip()}
        unknown = sorted(wanted - set(STATUSES))
        if unknown:
            return {}, fail(400, "invalid_request", f"Unknown status {unknown[0]!r}; use a comma list of "
                            f"{', '.join(STATUSES)}.")
    labels = {}
    for name, value in query.items():
        if name.startswith("metadata[") and name.endswith("]"):
            label = name[9:-1]
            if label in labels or len(labels) == 3 or not label:
                return {}, fail(400, "invalid_metadata_filter", "At most 3 metadata[<key>]=<value> filters, each "
                                "key once.")
            labels[label] = value
    try:
        limit = int(query.get("limit") or 20)
    except ValueError:
        limit = 0
    if not 1 <= limit <= _MAX_LIST:
        return {}, fail(400, "invalid_request", f"limit must be a whole number from 1 to {_MAX_LIST}.")
    cursor = _decode_cursor(query["cursor"]) if query.get("cursor") else None
    if query.get("cursor") and cursor is None:
        return {}, fail(400, "invalid_cursor", "cursor must be a next_cursor value from an earlier answer.")
    return {"statuses": wanted, "labels": labels, "limit": limit, "cursor": cursor}, None


async def list_jobs(request: web.Request) -> web.Response:
    filters, refused = _list_filters(request.query)
    if refused is not None:
        return refused
    state = state_of(request)
    live: LiveJobs = request.app[LIVE]
    running, pending = state.store.queue()
    created: dict[str, int] = {}
    jobs = []
    for item in running:
        created[item.prompt_id] = item.extra_data.get("create_time") or 0
        jobs.append(running_job(item.prompt_id, item.extra_data, live.jobs.get(item.prompt_id),
                                item.prompt_id in live.canceling, None))
    for position, item in enumerate(pending):
        created[item.prompt_id] = item.extra_data.get("create_time") or 0
        jobs.append(queued_job(item.prompt_id, item.extra_data, position))
    for job_id, (entry, store_status) in state.store.history_rows().items():
        created[job_id] = entry["prompt"][3].get("create_time") or 0
        jobs.append(finished_job(job_id, entry, store_status, None))
    jobs = [j for j in jobs if j["status"] in filters["statuses"]
            and all(j["metadata"].get(k) == v for k, v in filters["labels"].items())]
    jobs.sort(key=lambda j: _cursor_key(j, created), reverse=True)
    if filters["cursor"] is not None:
        jobs = [j for j in jobs if _cursor_key(j, created) < filters["cursor"]]
    page = jobs[:filters["limit"]]
    answer: dict = {"jobs": [record(j) for j in page]}
    if len(jobs) > len(page):
        answer["next_cursor"] = _encode_cursor(_cursor_key(page[-1], created))
    return web.json_response(answer)


# ---------------------------------------------------------------------------------------- cancel, download
async def cancel_job(request: web.Request) -> web.Response:
    state = state_of(request)
    job_id = request.match_info["id"]
    answer = cancel_ids(state, [job_id])
    if answer["not_found"]:
        return _not_found(job_id)
    if answer["interrupted"]:
        request.app[LIVE].mark_canceling(job_id)
    job = find_job(state, request.app[LIVE], job_id)
    return web.json_response(job) if job is not None else _not_found(job_id)


def _quote(name: str) -> str:
    return "".join(c if c.isprintable() and c not in '"\\' else "_" for c in name)


async def get_output(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    job_id, output_id = request.match_info["id"], request.match_info["output_id"]
    job = find_job(state, request.app[LIVE], job_id)
    if job is None:
        return _not_found(job_id)
    output = next((o for o in job["outputs"] if o["id"] == output_id), None)
    if output is None:
        return fail(404, "not_found", f"Job {job_id} has no output {output_id[:80]!r}.")
    try:
        path = locate(state.folders, output["name"], output["folder_type"], output["subfolder"])
    except PathRefusedError as exc:
        return fail(404, "not_found", f"The output file cannot be served: {exc}")
    if not path.is_file():
        return fail(404, "not_found", f"The output file {output['name'][:80]!r} is gone from the disk.")
    mime = output["content_type"]
    headers = {"X-Content-Type-Options": "nosniff", "Content-Disposition": f'filename="{_quote(path.name)}"'}
    if mime in ACTIVE_TYPES or mime.startswith("text/html"):
        mime = "application/octet-stream"
        headers["Content-Disposition"] = f'attachment; filename="{_quote(path.name)}"'
    headers["Content-Type"] = mime
    return web.FileResponse(path, headers=headers)


async def get_openapi(request: web.Request) -> web.Response:
    return web.json_response(document())


ROUTES = [("POST", "/jobs", post_job), ("GET", "/jobs", list_jobs), ("GET", "/jobs/{id}", get_job),
          ("POST", "/jobs/{id}/cancel", cancel_job), ("GET", "/jobs/{id}/events", job_events),
          ("GET", "/jobs/{id}/outputs/{output_id}", get_output), ("GET", "/openapi.json", get_openapi)]


def mount(app: web.Application) -> None:
    """Serve ROUTES under /api/v2 and put the live-state recorder in front of the worker's publisher."""
    state = app[STATE]

    def prompt_of(prompt_id: str) -> dict | None:
        running, _ = state.store.queue()
        return next((item.prompt for item in running if item.prompt_id == prompt_id), None)

    live = LiveJobs(state.worker.publisher, prompt_of, lambda: state.hub.loop)
    state.worker.publisher = live
    app[LIVE] = live
    for method, path, handler in ROUTES:
        app.router.add_route(method, "/api/v2" + path, handler)
