"""The asset routes ComfyUI v0.46 added over the earlier cut: from-hash, the seed (start, status, cancel),
prune, and the tag histogram of a filtered listing. Answers and error codes are ComfyUI's:

- `POST /api/assets/from-hash` `{hash, name?, tags?, user_metadata?, mime_type?, preview_id?}`: a new
  reference to content the index knows, 201 with `created_new`; 404 `ASSET_NOT_FOUND` for an unknown hash,
  400 `INVALID_BODY` / `INVALID_JSON` for a bad body.
- `POST /api/assets/seed[?wait=true]` `{roots?: [models|input|output]}`: 202 `{"status": "started"}`,
  409 `{"status": "already_running"}`, with `wait` 200 `{"status": "completed", progress, errors}`;
  400 `INVALID_BODY` when no valid root is named. A body that is not JSON means the default roots.
- `GET /api/assets/seed/status`: `{state, progress, errors}`; `POST /api/assets/seed/cancel`:
  `{"status": "cancelling"}` or `{"status": "idle"}`.
- `POST /api/assets/prune`: mark missing the assets whose files are gone, 200 `{"status": "completed",
  "marked"}`, 409 `{"status": "scan_running", "marked": 0}` while a seed runs.
- `GET /api/assets/tags/refine` (the listing's filters, `limit` 1-1000, 100): `{"tag_counts": {tag: n}}`.
"""

from __future__ import annotations

from aiohttp import web

from .assets_http import (
    AssetRequestError,
    asset_answer,
    check_tags,
    existing_preview,
    handles_errors,
    in_thread,
    int_param,
    json_body,
    parse_filters,
    refresh,
    store_of,
)
from .assets_jobs import claim_recent
from .assets_seed import SEED_ROOTS, ScanInProgressError, Seeder, seeder_for
from .assets_store import HASH_RE
from .jsonbody import BodyError, read_json
from .security import refused_content_type
from .state import state_of


def _seeder(request: web.Request) -> Seeder:
    store, queue = store_of(request), state_of(request).store
    return seeder_for(store, before_scan=lambda: claim_recent(store, queue))


@handles_errors
async def create_from_hash(request: web.Request) -> web.Response:
    body = await json_body(request)
    digest = body.get("hash")
    digest = digest.strip().lower() if isinstance(digest, str) else None
    if digest is None or not HASH_RE.fullmatch(digest):
        raise AssetRequestError(400, "INVALID_BODY", "hash must be like 'blake3:<64 hex digits>'.")
    name = body.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip() or len(name) > 512):
        raise AssetRequestError(400, "INVALID_BODY", "name must be a non-empty string of at most 512 characters.")
    tags = check_tags(body.get("tags") or [], allow_empty=True, csv=True)
    metadata = body.get("user_metadata") or {}
    if not isinstance(metadata, dict):
        raise AssetRequestError(400, "INVALID_BODY", "user_metadata must be a JSON object.")
    mime_type = body.get("mime_type")
    if mime_type is not None and (not isinstance(mime_type, str) or "/" not in mime_type or len(mime_type) > 255):
        raise AssetRequestError(400, "INVALID_BODY", "mime_type must be like 'image/png'.")
    store, preview_id = store_of(request), body.get("preview_id")
    if preview_id is not None:
        await existing_preview(store, preview_id)
    made = await in_thread(lambda: store.create_from_hash(digest, (name or digest.split(":", 1)[1]).strip(), tags,
                                                          metadata, mime_type, preview_id))
    if made is None:
        raise AssetRequestError(404, "ASSET_NOT_FOUND", f"Asset content {digest} does not exist.", {"hash": digest})
    return web.json_response({**await asset_answer(store, made), "created_new": True}, status=201)


async def _seed_roots(request: web.Request) -> tuple[str, ...]:
    if refused_content_type(request) is not None:  # a cross-site form post starts no scan
        raise AssetRequestError(415, "UNSUPPORTED_MEDIA_TYPE", "The seed takes application/json.")
    try:
        body = await read_json(request, max_bytes=64 * 1024, max_depth=8) if request.can_read_body else {}
    except BodyError:
        body = {}
    roots = body.get("roots", list(SEED_ROOTS)) if isinstance(body, dict) else list(SEED_ROOTS)
    valid = tuple(r for r in SEED_ROOTS if isinstance(roots, list) and r in roots)
    if not valid:
        raise AssetRequestError(400, "INVALID_BODY", "No valid roots specified (models, input, output).")
    return valid


@handles_errors
async def seed(request: web.Request) -> web.Response:
    roots = await _seed_roots(request)
    seeder = _seeder(request)
    if not seeder.start(roots):
        return web.json_response({"status": "already_running"}, status=409)
    if request.query.get("wait", "").lower() in ("true", "1", "yes"):
        await in_thread(seeder.wait)
        status = seeder.status()
        return web.json_response({"status": "completed", "progress": status["progress"], "errors": status["errors"]})
    return web.json_response({"status": "started"}, status=202)


async def seed_status(request: web.Request) -> web.Response:
    return web.json_response(_seeder(request).status())


async def seed_cancel(request: web.Request) -> web.Response:
    return web.json_response({"status": "cancelling" if _seeder(request).cancel() else "idle"})


async def prune(request: web.Request) -> web.Response:
    try:
        marked = await in_thread(_seeder(request).prune)
    except ScanInProgressError:
        return web.json_response({"status": "scan_running", "marked": 0}, status=409)
    return web.json_response({"status": "completed", "marked": marked})


@handles_errors
async def tags_refine(request: web.Request) -> web.Response:
    filters = parse_filters(request.query)
    limit = int_param(request.query, "limit", 100, 1, 1000)
    store = store_of(request)
    await in_thread(refresh, request, store)
    return web.json_response({"tag_counts": await in_thread(store.tag_histogram, filters, limit)})


# Registered before routes_assets (app.py), so these fixed paths are matched before `/api/assets/{id}`.
ROUTES = [("POST", "/api/assets/from-hash", create_from_hash), ("POST", "/api/assets/seed", seed),
          ("GET", "/api/assets/seed/status", seed_status), ("POST", "/api/assets/seed/cancel", seed_cancel),
          ("POST", "/api/assets/prune", prune), ("GET", "/api/assets/tags/refine", tags_refine)]
