"""`/api/assets` and `/api/tags`: ComfyUI v0.46's asset routes over the index of server/assets_store.py.

List (filters, sort, offset or cursor pages), get, download, upload (multipart, or by a known hash),
rename / set metadata and preview, delete, add and remove tags, "is this hash known" (HEAD), and the tag
counts; from-hash, seed, prune and the tag histogram are in assets_routes_v046.py. Paths carry `/api`
themselves (ComfyUI serves them only there; the editor's own static `/assets/*.js` stay free). Errors
have ComfyUI's asset shape `{"error": {"code", "message", "details"}}`: 400 `INVALID_QUERY` for a bad
query, `INVALID_CURSOR` for a cursor this server did not mint, `INVALID_BODY`/`INVALID_JSON` for a bad
body, 404 `ASSET_NOT_FOUND` for an unknown id (any id, not only a well-formed UUID), 413 for an upload
over the limit.
"""

from __future__ import annotations

import io
import json
import mimetypes
from urllib.parse import quote

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from .assets_http import (
    FIELD_LIMIT,
    TAG_RE,
    UPLOAD_ROOTS,
    AssetRequestError,
    asset_answer,
    asset_json,
    check_tags,
    error,
    existing,
    existing_preview,
    handles_errors,
    in_thread,
    int_param,
    json_body,
    parse_list_query,
    refresh,
    store_of,
)
from .assets_store import HASH_RE, store_for
from .paths import PathRefusedError, base_folder, check_filename, resolve_inside
from .routes_files import ACTIVE_TYPES, save_upload
from .state import state_of

# Re-exported: routes_v2_assets checks its tags and answers its refusals with these.
__all__ = ["ROUTES", "AssetRequestError", "check_tags", "error", "TAG_RE"]

# ---------------------------------------------------------------------------------------- routes
@handles_errors
async def list_assets(request: web.Request) -> web.Response:
    """One page; `has_more` by mode, as ComfyUI: with `after`, whether there is a `next_cursor`; with
    offsets, whether offset + page size < total. `next_cursor` comes on every page that has a next one
    (sorts other than last_access_time), so a first offset page can lead into cursor pages."""
    query = parse_list_query(request.query)
    store = store_of(request)
    await in_thread(refresh, request, store)
    assets, total, next_cursor = await in_thread(store.list, query)
    body = {"assets": await in_thread(lambda: [asset_json(a, store) for a in assets]), "total": total,
            "has_more": next_cursor is not None if query.after is not None else query.offset + len(assets) < total}
    if next_cursor is not None:
        body["next_cursor"] = next_cursor
    return web.json_response(body)


@handles_errors
async def get_asset(request: web.Request) -> web.Response:
    store, asset = await existing(request)
    return web.json_response(await asset_answer(store, asset))


@handles_errors
async def asset_content(request: web.Request) -> web.StreamResponse:
    store, asset = await existing(request)
    try:
        path = await in_thread(store.file_path, asset)
    except (ValueError, OSError):  # a model file that left its folder
        path = None
    if path is None or not path.is_file():
        raise AssetRequestError(404, "FILE_NOT_FOUND", "The asset's file is no longer on disk.")
    await in_thread(store.touch, asset.id)
    disposition = request.query.get("disposition", "attachment").lower()
    mime = asset.mime_type or mimetypes.guess_type(asset.name)[0] or "application/octet-stream"
    if mime in ACTIVE_TYPES or mime.startswith("text/html") or disposition not in ("inline", "attachment"):
        mime, disposition = "application/octet-stream", "attachment"
    headers = {"Content-Type": mime, "X-Content-Type-Options": "nosniff",
               "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(asset.name)}"}
    return web.FileResponse(path, headers=headers)


@handles_errors
async def update_asset(request: web.Request) -> web.Response:
    store, asset = await existing(request)
    body = await json_body(request)
    name, metadata, preview_id = body.get("name"), body.get("user_metadata"), body.get("preview_id")
    if name is not None and (not isinstance(name, str) or not name.strip() or len(name) > 512):
        raise AssetRequestError(400, "INVALID_BODY", "name must be a non-empty string of at most 512 characters.")
    if metadata is not None and not isinstance(metadata, dict):
        raise AssetRequestError(400, "INVALID_BODY", "user_metadata must be a JSON object.")
    if preview_id is not None:
        await existing_preview(store, preview_id)
    if name is None and metadata is None and preview_id is None:
        raise AssetRequestError(400, "INVALID_BODY", "Give name, user_metadata and/or preview_id.")
    updated = await in_thread(lambda: store.update(asset.id, name=name, user_metadata=metadata,
                                                    preview_id=preview_id))
    return web.json_response(await asset_answer(store, updated))


@handles_errors
async def delete_asset(request: web.Request) -> web.Response:
    store, asset = await existing(request)
    await in_thread(store.delete, asset.id)
    return web.Response(status=204)


@handles_errors
async def add_tags(request: web.Request) -> web.Response:
    store, asset = await existing(request)
    tags = check_tags((await json_body(request)).get("tags"))
    added, present, total = await in_thread(store.add_tags, asset.id, tags)
    return web.json_response({"added": added, "already_present": present, "total_tags": total})


@handles_errors
async def remove_tags(request: web.Request) -> web.Response:
    store, asset = await existing(request)
    tags = check_tags((await json_body(request)).get("tags"))
    removed, absent, protected, total = await in_thread(store.remove_tags, asset.id, tags)
    return web.json_response({"removed": removed, "not_present": absent, "total_tags": total,
                              "protected": protected})


@handles_errors
async def head_hash(request: web.Request) -> web.Response:
    digest = request.match_info["hash"].strip().lower()
    if not HASH_RE.fullmatch(digest):
        raise AssetRequestError(400, "INVALID_HASH", "hash must be like 'blake3:<64 hex digits>'")
    found = await in_thread(store_of(request).by_hash, digest)
    return web.Response(status=200 if found is not None else 404)


@handles_errors
async def list_tags(request: web.Request) -> web.Response:
    query = request.query
    prefix = (query.get("prefix") or "").strip().lower()
    order = query.get("order", "count_desc")
    if order not in ("count_desc", "name_asc"):
        raise AssetRequestError(400, "INVALID_QUERY", "order must be count_desc or name_asc.")
    limit, offset = int_param(query, "limit", 100, 1, 1000), int_param(query, "offset", 0, 0, None)
    store = store_of(request)
    await in_thread(refresh, request, store)
    counts = [(name, n) for name, n in (await in_thread(store.tag_counts)).items() if name.startswith(prefix)]
    counts.sort(key=(lambda item: (-item[1], item[0])) if order == "count_desc" else (lambda item: item[0]))
    page = counts[offset:offset + limit]
    return web.json_response({"tags": [{"name": name, "count": n} for name, n in page], "total": len(counts),
                              "has_more": offset + len(page) < len(counts)})


# ---------------------------------------------------------------------------------------- upload
async def _read_upload(request: web.Request, max_bytes: int) -> tuple[str | None, bytes | None, dict[str, str]]:
    if not request.content_type.startswith("multipart/"):
        raise AssetRequestError(400, "INVALID_BODY", "Uploads must be multipart/form-data with a 'file' part.")
    file_name, data, fields = None, None, {}
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if part.name == "file" and part.filename is not None:
                buffer = bytearray()
                while chunk := await part.read_chunk(1 << 16):
                    buffer += chunk
                    if len(buffer) > max_bytes:
                        raise AssetRequestError(413, "FILE_TOO_LARGE", f"The upload is larger than {max_bytes} bytes.")
                file_name, data = part.filename, bytes(buffer)
            elif part.name:
                value = await part.read(decode=False)
                if len(value) > FIELD_LIMIT:
                    raise AssetRequestError(400, "INVALID_BODY", f"The form field {part.name[:40]!r} is too long.")
                fields[part.name] = value.decode("utf-8", "replace")
    except (HttpProcessingError, ValueError, AssertionError, UnicodeError):
        raise AssetRequestError(400, "INVALID_BODY", "The multipart body is malformed.") from None
    return file_name, data, fields


def _upload_tags(raw: str) -> list[str]:
    try:
        value = json.loads(raw) if raw.strip().startswith("[") else raw
    except ValueError:
        raise AssetRequestError(400, "INVALID_BODY", "tags must be a JSON list or comma-separated.") from None
    tags = check_tags(value, csv=True)
    if tags[0] not in UPLOAD_ROOTS:
        raise AssetRequestError(400, "INVALID_BODY", "The first tag says where the file goes: input or output "
                                "(uploading into model folders is not supported here).")
    return tags


@handles_errors
async def upload_asset(request: web.Request) -> web.Response:
    state = state_of(request)
    file_name, data, fields = await _read_upload(request, state.config.max_upload_bytes)
    tags = _upload_tags(fields.get("tags", ""))
    metadata = {}
    if fields.get("user_metadata", "").strip():
        try:
            metadata = json.loads(fields["user_metadata"])
        except ValueError:
            metadata = None
        if not isinstance(metadata, dict):
            raise AssetRequestError(400, "INVALID_BODY", "user_metadata must be a JSON object.")
    expected = fields.get("hash", "").strip().lower() or None
    if expected is not None and not HASH_RE.fullmatch(expected):
        raise AssetRequestError(400, "INVALID_HASH", "hash must be like 'blake3:<64 hex digits>'")
    if data is None or not file_name:
        return await _upload_by_hash(request, expected, tags, metadata, (fields.get("name") or "").strip())
    name = (fields.get("name") or "").strip() or file_name
    try:
        check_filename(name)
        folder = resolve_inside(base_folder(state.folders, tags[0]), "")
    except PathRefusedError as exc:
        raise AssetRequestError(400, "INVALID_NAME", str(exc)) from None
    store = store_for(state.folders)
    if expected is not None and store.hasher is not None:
        actual = await in_thread(store.hasher, io.BytesIO(data))
        if actual != expected:
            raise AssetRequestError(400, "HASH_MISMATCH", f"The file's hash is {actual}, not {expected}.")
    final = await in_thread(save_upload, folder, name, data, False)
    asset, created = await in_thread(store.register_file, tags[0], final)
    if len(tags) > 1:
        await in_thread(store.add_tags, asset.id, tags[1:])
    if metadata:
        await in_thread(lambda: store.update(asset.id, name=None, user_metadata={"filename": final, **metadata}))
    asset = await in_thread(store.get, asset.id)
    return web.json_response({**await asset_answer(store, asset), "created_new": created},
                             status=201 if created else 200)


async def _upload_by_hash(request: web.Request, digest: str | None, tags: list[str], metadata: dict,
                          name: str) -> web.Response:
    """ComfyUI's upload fast path: no file, but the hash of known content -> a new reference to it (201)."""
    store = store_of(request)
    made = None
    if digest is not None:
        made = await in_thread(lambda: store.create_from_hash(digest, name or digest.split(":", 1)[1], tags,
                                                              metadata))
    if made is None:
        raise AssetRequestError(400, "MISSING_INPUT", "No file was uploaded and no known content has the hash given.")
    return web.json_response({**await asset_answer(store, made), "created_new": True}, status=201)


# Any one path segment is an id (aiohttp's default pattern refuses braces): unknown ones answer a JSON 404.
_ID = "/api/assets/{id:[^/]+}"
ROUTES = [("GET", "/api/assets", list_assets), ("POST", "/api/assets", upload_asset),
          ("GET", _ID, get_asset), ("PUT", _ID, update_asset), ("DELETE", _ID, delete_asset),
          ("GET", _ID + "/content", asset_content), ("POST", _ID + "/tags", add_tags),
          ("DELETE", _ID + "/tags", remove_tags), ("HEAD", "/api/assets/hash/{hash:[^/]+}", head_hash),
          ("GET", "/api/tags", list_tags)]
