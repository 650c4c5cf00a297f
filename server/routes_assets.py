"""`/api/assets` and `/api/tags`: ComfyUI v0.46's asset routes over the index of server/assets_store.py.

List (filters, sort, limit/offset pages), get, download, upload (multipart), rename / set metadata,
delete, add and remove tags, "is this hash known" (HEAD), and the tag counts. Paths carry `/api`
themselves (ComfyUI serves them only there; the editor's own static `/assets/*.js` stay free). Errors
have ComfyUI's asset shape `{"error": {"code", "message", "details"}}`: 400 for a bad query, body or tag,
404 for an unknown id (any id, not only a well-formed UUID), 413 for an upload over the limit.
"""

from __future__ import annotations

import asyncio
import io
import json
import mimetypes
import re
from datetime import datetime, timezone
from urllib.parse import quote

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from .assets_store import HASH_RE, SORT_FIELDS, Asset, AssetsStore, ListQuery, store_for
from .jsonbody import BodyError, read_json
from .paths import PathRefusedError, base_folder, check_filename, resolve_inside
from .routes_files import ACTIVE_TYPES, save_upload
from .security import refused_content_type
from .state import state_of

TAG_RE = re.compile(r"[^\x00-\x1f\x7f,]{1,128}")
UPLOAD_ROOTS = ("input", "output")
_FIELD_LIMIT = 64 * 1024


class AssetRequestError(Exception):
    """A request the asset routes refuse: becomes `{"error": {code, message, details}}` with `status`."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.details = status, code, details or {}


def error(status: int, code: str, message: str, details: dict | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, "details": details or {}}}, status=status)


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone.utc).replace(tzinfo=None).isoformat()


def preview_url(asset: Asset) -> str | None:
    """The /api/view address of an input/output/temp file (None for models)."""
    if asset.root == "models":
        return None
    subfolder, _, filename = asset.rel_path.rpartition("/")
    url = f"/api/view?type={asset.root}&filename={quote(filename, safe='')}"
    return url + (f"&subfolder={quote(subfolder, safe='')}" if subfolder else "")


def asset_json(asset: Asset) -> dict:
    """ComfyUI's `Asset` object; fields that are null are left out, as ComfyUI does."""
    body = {"id": asset.id, "name": asset.name, "hash": asset.hash, "asset_hash": asset.hash,
            "loader_path": asset.rel_path if asset.root == "models" else None, "display_name": asset.name,
            "size": asset.size, "mime_type": asset.mime_type, "tags": asset.tags, "preview_url": preview_url(asset),
            "user_metadata": asset.user_metadata, "job_id": asset.job_id, "prompt_id": asset.job_id,
            "created_at": _iso(asset.created_at), "updated_at": _iso(asset.updated_at),
            "last_access_time": _iso(asset.last_access_time)}
    return {key: value for key, value in body.items() if value is not None}


async def _in_thread(func, *args):
    return await asyncio.get_running_loop().run_in_executor(None, func, *args)


def _store(request: web.Request) -> AssetsStore:
    return store_for(state_of(request).folders)


# ---------------------------------------------------------------------------------------- input checks
def check_tags(value, *, field_name: str = "tags", allow_empty: bool = False, csv: bool = False) -> list[str]:
    """Tags from a list (or, with `csv`, a comma-separated string): stripped, lower-cased, de-duplicated,
    each 1-128 characters without commas or control characters; AssetRequestError(400) otherwise."""
    if csv and isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or any(not isinstance(tag, str) for tag in value):
        raise AssetRequestError(400, "INVALID_BODY", f"{field_name} must be a list of strings.")
    tags: list[str] = []
    for tag in value:
        tag = tag.strip().lower()
        if not TAG_RE.fullmatch(tag):
            raise AssetRequestError(400, "INVALID_TAG", f"The tag {tag[:80]!r} is not allowed: a tag is 1-128 "
                                    "characters without commas or control characters.", {"tag": tag[:200]})
        if tag not in tags:
            tags.append(tag)
    if not tags and not allow_empty:
        raise AssetRequestError(400, "INVALID_BODY", f"{field_name} must name at least one tag.")
    return tags


def _int_param(query, name: str, default: int, low: int, high: int | None) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise AssetRequestError(400, "INVALID_QUERY", f"{name} must be an integer, not {raw[:40]!r}.") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise AssetRequestError(400, "INVALID_QUERY", f"{name} must be {bounds}, not {value}.")
    return value


def parse_list_query(query) -> ListQuery:
    """ComfyUI's ListAssetsQuery: tags as CSV or repeated, metadata_filter as a JSON object."""
    include = check_tags(",".join(query.getall("include_tags", [])), field_name="include_tags", allow_empty=True,
                         csv=True)
    exclude = check_tags(",".join(query.getall("exclude_tags", [])), field_name="exclude_tags", allow_empty=True,
                         csv=True)
    metadata_filter = None
    if query.get("metadata_filter", "").strip():
        try:
            metadata_filter = json.loads(query["metadata_filter"])
        except ValueError:
            metadata_filter = None
        if not isinstance(metadata_filter, dict):
            raise AssetRequestError(400, "INVALID_QUERY", "metadata_filter must be a JSON object.")
    sort = query.get("sort", "created_at") or "created_at"
    order = (query.get("order", "desc") or "desc").lower()
    if sort not in SORT_FIELDS:
        raise AssetRequestError(400, "INVALID_QUERY", f"sort must be one of {', '.join(SORT_FIELDS)}.")
    if order not in ("asc", "desc"):
        raise AssetRequestError(400, "INVALID_QUERY", "order must be asc or desc.")
    if query.get("after"):
        raise AssetRequestError(400, "INVALID_CURSOR", "Cursor pages are not supported here; use offset.")
    return ListQuery(include, exclude, query.get("name_contains") or None, metadata_filter,
                     _int_param(query, "limit", 20, 1, 500), _int_param(query, "offset", 0, 0, None), sort, order)


async def _json_body(request: web.Request) -> dict:
    bad = refused_content_type(request)
    if bad is not None:
        raise AssetRequestError(415, "UNSUPPORTED_MEDIA_TYPE", f"{request.path} takes application/json, not {bad}.")
    try:
        body = await read_json(request, max_bytes=_FIELD_LIMIT, max_depth=32)
    except BodyError as exc:
        code = "INVALID_JSON" if exc.status == 400 else "BODY_TOO_LARGE"
        raise AssetRequestError(exc.status, code, f"Request body must be a JSON object: {exc}") from None
    if not isinstance(body, dict):
        raise AssetRequestError(400, "INVALID_BODY", "The body must be a JSON object.")
    return body


def handles_errors(handler):
    """Turn AssetRequestError into its JSON answer."""
    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except AssetRequestError as exc:
            return error(exc.status, exc.code, str(exc), exc.details)
    wrapper.__name__, wrapper.__doc__ = handler.__name__, handler.__doc__
    return wrapper


async def _existing(request: web.Request) -> tuple[AssetsStore, Asset]:
    store, asset_id = _store(request), request.match_info["id"]
    asset = await _in_thread(store.get, asset_id)
    if asset is None:
        raise AssetRequestError(404, "ASSET_NOT_FOUND", f"No asset has the id {asset_id[:80]!r}.",
                                {"id": asset_id[:200]})
    return store, asset


# ---------------------------------------------------------------------------------------- routes
@handles_errors
async def list_assets(request: web.Request) -> web.Response:
    query = parse_list_query(request.query)
    store = _store(request)
    await _in_thread(store.sync)
    assets, total = await _in_thread(store.list, query)
    return web.json_response({"assets": [asset_json(a) for a in assets], "total": total,
                              "has_more": query.offset + len(assets) < total})


@handles_errors
async def get_asset(request: web.Request) -> web.Response:
    _, asset = await _existing(request)
    return web.json_response(asset_json(asset))


@handles_errors
async def asset_content(request: web.Request) -> web.StreamResponse:
    store, asset = await _existing(request)
    try:
        path = store.file_path(asset)
    except (ValueError, OSError):  # a model file that left its folder
        path = None
    if path is None or not path.is_file():
        raise AssetRequestError(404, "FILE_NOT_FOUND", "The asset's file is no longer on disk.")
    await _in_thread(store.touch, asset.id)
    disposition = request.query.get("disposition", "attachment").lower()
    mime = asset.mime_type or mimetypes.guess_type(asset.name)[0] or "application/octet-stream"
    if mime in ACTIVE_TYPES or mime.startswith("text/html") or disposition not in ("inline", "attachment"):
        mime, disposition = "application/octet-stream", "attachment"
    headers = {"Content-Type": mime, "X-Content-Type-Options": "nosniff",
               "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(asset.name)}"}
    return web.FileResponse(path, headers=headers)


@handles_errors
async def update_asset(request: web.Request) -> web.Response:
    store, asset = await _existing(request)
    body = await _json_body(request)
    name, metadata = body.get("name"), body.get("user_metadata")
    if name is not None and (not isinstance(name, str) or not name.strip() or len(name) > 512):
        raise AssetRequestError(400, "INVALID_BODY", "name must be a non-empty string of at most 512 characters.")
    if metadata is not None and not isinstance(metadata, dict):
        raise AssetRequestError(400, "INVALID_BODY", "user_metadata must be a JSON object.")
    if name is None and metadata is None:
        raise AssetRequestError(400, "INVALID_BODY", "Give name and/or user_metadata.")
    updated = await _in_thread(lambda: store.update(asset.id, name=name, user_metadata=metadata))
    return web.json_response(asset_json(updated))


@handles_errors
async def delete_asset(request: web.Request) -> web.Response:
    store, asset = await _existing(request)
    await _in_thread(store.delete, asset.id)
    return web.Response(status=204)


@handles_errors
async def add_tags(request: web.Request) -> web.Response:
    store, asset = await _existing(request)
    tags = check_tags((await _json_body(request)).get("tags"))
    added, present, total = await _in_thread(store.add_tags, asset.id, tags)
    return web.json_response({"added": added, "already_present": present, "total_tags": total})


@handles_errors
async def remove_tags(request: web.Request) -> web.Response:
    store, asset = await _existing(request)
    tags = check_tags((await _json_body(request)).get("tags"))
    removed, absent, protected, total = await _in_thread(store.remove_tags, asset.id, tags)
    return web.json_response({"removed": removed, "not_present": absent, "total_tags": total,
                              "protected": protected})


@handles_errors
async def head_hash(request: web.Request) -> web.Response:
    digest = request.match_info["hash"].strip().lower()
    if not HASH_RE.fullmatch(digest):
        raise AssetRequestError(400, "INVALID_HASH", "hash must be like 'blake3:<64 hex digits>'")
    found = await _in_thread(_store(request).by_hash, digest)
    return web.Response(status=200 if found is not None else 404)


@handles_errors
async def list_tags(request: web.Request) -> web.Response:
    query = request.query
    prefix = (query.get("prefix") or "").strip().lower()
    order = query.get("order", "count_desc")
    if order not in ("count_desc", "name_asc"):
        raise AssetRequestError(400, "INVALID_QUERY", "order must be count_desc or name_asc.")
    limit, offset = _int_param(query, "limit", 100, 1, 1000), _int_param(query, "offset", 0, 0, None)
    store = _store(request)
    await _in_thread(store.sync)
    counts = [(name, n) for name, n in (await _in_thread(store.tag_counts)).items() if name.startswith(prefix)]
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
                if len(value) > _FIELD_LIMIT:
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
        raise AssetRequestError(400, "MISSING_INPUT", "The 'file' part is missing or has no file name.")
    name = (fields.get("name") or "").strip() or file_name
    try:
        check_filename(name)
        folder = resolve_inside(base_folder(state.folders, tags[0]), "")
    except PathRefusedError as exc:
        raise AssetRequestError(400, "INVALID_NAME", str(exc)) from None
    store = store_for(state.folders)
    if expected is not None and store.hasher is not None:
        actual = await _in_thread(store.hasher, io.BytesIO(data))
        if actual != expected:
            raise AssetRequestError(400, "HASH_MISMATCH", f"The file's hash is {actual}, not {expected}.")
    final = await _in_thread(save_upload, folder, name, data, False)
    asset, created = await _in_thread(store.register_file, tags[0], final)
    if len(tags) > 1:
        await _in_thread(store.add_tags, asset.id, tags[1:])
    if metadata:
        await _in_thread(lambda: store.update(asset.id, name=None, user_metadata={"filename": final, **metadata}))
    asset = await _in_thread(store.get, asset.id)
    return web.json_response({**asset_json(asset), "created_new": created}, status=201 if created else 200)


# Any one path segment is an id (aiohttp's default pattern refuses braces): unknown ones answer a JSON 404.
_ID = "/api/assets/{id:[^/]+}"
ROUTES = [("GET", "/api/assets", list_assets), ("POST", "/api/assets", upload_asset),
          ("GET", _ID, get_asset), ("PUT", _ID, update_asset), ("DELETE", _ID, delete_asset),
          ("GET", _ID + "/content", asset_content), ("POST", _ID + "/tags", add_tags),
          ("DELETE", _ID + "/tags", remove_tags), ("HEAD", "/api/assets/hash/{hash:[^/]+}", head_hash),
          ("GET", "/api/tags", list_tags)]
