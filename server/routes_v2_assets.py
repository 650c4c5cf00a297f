"""The Comfy API v2 assets (docs.comfy.org/api-reference/v2, assets part) over the assets index of assets_store.py.

    POST   /api/v2/assets                     upload (multipart: file, content_type, file_path, expected_hash?,
                                              tags?, expires_in?) -> 201 new content / 200 content already known
    POST   /api/v2/assets/from-hash           {"hash", "file_path"?, "tags"?} -> an asset over known content
    HEAD   /api/v2/assets/by-hash/{hash}      200 when content with that blake3 hash is known, else 404
    GET    /api/v2/assets/{id}                the Asset
    DELETE /api/v2/assets/{id}                204; 409 `asset_in_use` for a job's output
    GET    /api/v2/assets/{id}/content        the bytes (Range requests work)

An asset is a file of the input, output or temp folder (or a model file) as the index knows it: the same
ids as /api/assets, and a job's outputs are assets too (routes_v2_jobs.py registers them with their
`job_id`). Uploads go into the input folder at `file_path`, so a workflow's LoadImage can name them;
the same bytes at the same path are the same asset. Where we differ from the published contract:
`url` is this server's content route and never expires (`url_expires_at`, `expires_at` null,
`expires_in` is checked and ignored); the `Idempotency-Key` header is not kept (an upload of the
same bytes to the same path answers the same asset anyway); the served content type comes from the
file name; uploads into model folders are refused; errors use the v2 envelope.
"""

from __future__ import annotations

import asyncio
import io
import json
import mimetypes
from urllib.parse import quote

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from .assets_scan import REF_ROOT
from .assets_store import HASH_RE, Asset, AssetsStore, store_for
from .jsonbody import BodyError, read_json
from .paths import PathRefusedError, check_filename, resolve_inside
from .routes_assets import AssetRequestError, check_tags
from .routes_files import ACTIVE_TYPES, save_upload
from .routes_v2 import fail
from .routes_v2_jobs import iso
from .security import refused_content_type
from .state import state_of

V2_ASSETS = "/api/v2/assets"
_FIELD_LIMIT = 64 * 1024
_EXPIRES_IN = (60, 604800)


class AssetRefusedError(Exception):
    """A request refused with the v2 error envelope."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def asset_v2(asset: Asset, *, created_new: bool | None = None) -> dict:
    """The v2 `Asset` object (`job_id` only for a job's output, `created_new` only on create answers)."""
    body = {"id": asset.id, "hash": asset.hash, "size_bytes": asset.size,
            "content_type": asset.mime_type or mimetypes.guess_type(asset.name)[0] or "application/octet-stream",
            "file_path": file_path_of(asset), "created_at": iso(asset.created_at * 1000),
            "url": f"{V2_ASSETS}/{asset.id}/content", "url_expires_at": None, "expires_at": None}
    if asset.job_id is not None:
        body["job_id"] = asset.job_id
    if created_new is not None:
        body["created_new"] = created_new
    return body


def file_path_of(asset: Asset) -> str | None:
    """Where the asset lies, from the namespace root: an input file by its name in the input folder (what
    LoadImage takes), others under their folder (`output/...`, `temp/...`, `models/<key>/...`); None for a
    reference made from a hash (it has no file of its own)."""
    if asset.root == REF_ROOT:
        return None
    if asset.root == "input":
        return asset.rel_path
    if asset.root == "models":
        return f"models/{asset.category}/{asset.rel_path}"
    return f"{asset.root}/{asset.rel_path}"


async def _in_thread(func, *args):
    return await asyncio.get_running_loop().run_in_executor(None, func, *args)


def refusals(handler):
    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except AssetRefusedError as exc:
            return fail(exc.status, exc.code, str(exc))
    wrapper.__name__ = handler.__name__
    wrapper.__doc__ = handler.__doc__
    return wrapper


async def _existing(request: web.Request) -> tuple[AssetsStore, Asset]:
    store = store_for(state_of(request).folders)
    asset_id = request.match_info["id"]
    asset = await _in_thread(store.get, asset_id)
    if asset is None:
        raise AssetRefusedError(404, "not_found", f"No asset with id {asset_id[:80]!r}.")
    return store, asset


def _input_target(file_path: str) -> tuple[str, str]:
    """(subfolder, file name) inside the input folder for a `file_path`, or AssetRefusedError."""
    if not isinstance(file_path, str) or not file_path.strip():
        raise AssetRefusedError(422, "validation_error", "file_path is required: the file's name (or sub/folder/name) in "
                      "the input folder.")
    subfolder, _, name = file_path.strip().rpartition("/")
    if subfolder.split("/", 1)[0] == "models":
        raise AssetRefusedError(422, "validation_error", "Uploads into model folders are not accepted here.")
    try:
        check_filename(name)
    except PathRefusedError as exc:
        raise AssetRefusedError(422, "validation_error", str(exc)) from None
    return subfolder, name


def _tags(raw_values: list[str]) -> list[str]:
    """Tags from repeated form fields, a JSON list or a comma list; the folder tag `input` is implied."""
    values: list[str] = []
    for raw in raw_values:
        try:
            parsed = json.loads(raw) if raw.strip().startswith("[") else raw
        except ValueError:
            raise AssetRefusedError(422, "validation_error", "tags must be a JSON list or comma-separated.") from None
        if parsed in ("", []):
            continue
        try:
            values += check_tags(parsed, csv=True)
        except AssetRequestError as exc:
            raise AssetRefusedError(422, "validation_error", str(exc)) from None
    return [t for t in dict.fromkeys(values) if t != "input"]


def _check_expires_in(value) -> None:
    low, high = _EXPIRES_IN
    if value is None or value == "":
        return
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        seconds = None
    if seconds is None or isinstance(value, bool) or not low <= seconds <= high:
        raise AssetRefusedError(422, "validation_error", f"expires_in must be a whole number of seconds from {low} to {high}.")


async def _read_form(request: web.Request, max_bytes: int) -> tuple[bytes | None, dict[str, list[str]]]:
    if not request.content_type.startswith("multipart/"):
        raise AssetRefusedError(422, "validation_error", "Uploads are multipart/form-data with a 'file' part.")
    data, fields = None, {}
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if part.name == "file":
                buffer = bytearray()
                while chunk := await part.read_chunk(1 << 16):
                    buffer += chunk
                    if len(buffer) > max_bytes:
                        raise AssetRefusedError(413, "request_too_large", f"The upload is larger than {max_bytes} bytes.")
                data = bytes(buffer)
            elif part.name:
                value = await part.read(decode=False)
                if len(value) > _FIELD_LIMIT:
                    raise AssetRefusedError(422, "validation_error", f"The form field {part.name[:40]!r} is too long.")
                fields.setdefault(part.name, []).append(value.decode("utf-8", "replace"))
    except (HttpProcessingError, ValueError, AssertionError, UnicodeError):
        raise AssetRefusedError(422, "validation_error", "The multipart body is malformed.") from None
    return data, fields


async def _mint(store: AssetsStore, file_path: str, data: bytes, tags: list[str]) -> tuple[Asset, bool]:
    """Write `data` at `file_path` in the input folder (the same bytes already there are kept, another
    file of that name gets ` (n)`): (its asset, whether the index had no row for it before)."""
    subfolder, name = _input_target(file_path)
    try:
        folder = resolve_inside(store.folders.directory("input"), subfolder)
    except PathRefusedError as exc:
        raise AssetRefusedError(422, "validation_error", str(exc)) from None
    final = await _in_thread(save_upload, folder, name, data, False)
    rel_path = f"{subfolder}/{final}" if subfolder else final
    asset, new_row = await _in_thread(store.register_file, "input", rel_path)
    if tags:
        await _in_thread(store.add_tags, asset.id, tags)
        asset = await _in_thread(store.get, asset.id)
    return asset, new_row


@refusals
async def upload(request: web.Request) -> web.Response:
    state = state_of(request)
    data, fields = await _read_form(request, state.config.max_upload_bytes)
    if data is None:
        raise AssetRefusedError(422, "validation_error", "The 'file' part is missing.")
    one = {key: values[-1] for key, values in fields.items()}
    if not one.get("content_type", "").strip():
        raise AssetRefusedError(422, "validation_error", "content_type is required (for example image/png).")
    _check_expires_in(one.get("expires_in"))
    tags = _tags(fields.get("tags", []))
    expected = one.get("expected_hash", "").strip().lower() or None
    if expected is not None and not HASH_RE.fullmatch(expected):
        raise AssetRefusedError(422, "validation_error", "expected_hash must be like 'blake3:<64 hex digits>'.")
    store = store_for(state.folders)
    digest = await _in_thread(store.hasher, io.BytesIO(data)) if store.hasher is not None else None
    if expected is not None and digest is not None and digest != expected:
        raise AssetRefusedError(409, "hash_mismatch", f"The uploaded bytes hash to {digest}, not {expected}; nothing was "
                      "stored.")
    known = digest is not None and await _in_thread(store.by_hash, digest) is not None
    asset, _ = await _mint(store, one.get("file_path", ""), data, tags)
    return web.json_response(asset_v2(asset, created_new=not known), status=200 if known else 201)


@refusals
async def from_hash(request: web.Request) -> web.Response:
    state = state_of(request)
    bad_type = refused_content_type(request)
    if bad_type is not None:
        raise AssetRefusedError(415, "unsupported_media_type", f"This route takes application/json, not {bad_type}.")
    try:
        body = await read_json(request, max_bytes=_FIELD_LIMIT, max_depth=state.config.max_json_depth)
    except BodyError as exc:
        raise AssetRefusedError(exc.status, "invalid_request", exc.error["message"]) from None
    digest = body.get("hash") if isinstance(body, dict) else None
    if not isinstance(digest, str) or not HASH_RE.fullmatch(digest.strip().lower()):
        raise AssetRefusedError(422, "validation_error", "hash is required, written 'blake3:<64 hex digits>'.")
    _check_expires_in(body.get("expires_in"))
    raw_tags = body.get("tags")
    tags = _tags([raw_tags if isinstance(raw_tags, str) else json.dumps(raw_tags)] if raw_tags is not None else [])
    store = store_for(state.folders)
    source = await _in_thread(store.by_hash, digest.strip().lower())
    if source is None:
        raise AssetRefusedError(404, "blob_not_found", "No content with that hash is known here.")
    file_path = body.get("file_path")
    if file_path is None or (source.root == "input" and file_path == source.rel_path):
        return web.json_response(asset_v2(source, created_new=False))
    try:
        data = await _in_thread(store.file_path(source).read_bytes)
    except (OSError, ValueError):
        raise AssetRefusedError(404, "blob_not_found", "The content with that hash is no longer on disk.") from None
    asset, new_row = await _mint(store, file_path, data, tags)
    return web.json_response(asset_v2(asset, created_new=False), status=201 if new_row else 200)


@refusals
async def head_by_hash(request: web.Request) -> web.Response:
    digest = request.match_info["hash"].strip().lower()
    if not HASH_RE.fullmatch(digest):
        return web.Response(status=404)
    found = await _in_thread(store_for(state_of(request).folders).by_hash, digest)
    return web.Response(status=200 if found is not None else 404)


@refusals
async def get_asset(request: web.Request) -> web.Response:
    _, asset = await _existing(request)
    return web.json_response(asset_v2(asset))


@refusals
async def delete_asset(request: web.Request) -> web.Response:
    store, asset = await _existing(request)
    if asset.job_id is not None:
        raise AssetRefusedError(409, "asset_in_use", "The asset cannot be deleted while the platform still depends on it.")
    await _in_thread(store.delete, asset.id)
    return web.Response(status=204)


@refusals
async def content(request: web.Request) -> web.StreamResponse:
    store, asset = await _existing(request)
    try:
        path = store.file_path(asset)
    except (ValueError, OSError):  # a model file that left its folder
        path = None
    if path is None or not path.is_file():
        raise AssetRefusedError(404, "not_found", "The asset's file is no longer on disk.")
    await _in_thread(store.touch, asset.id)
    mime = asset_v2(asset)["content_type"]
    disposition = "inline"
    if mime in ACTIVE_TYPES or mime.startswith("text/html"):
        mime, disposition = "application/octet-stream", "attachment"
    return web.FileResponse(path, headers={"Content-Type": mime, "X-Content-Type-Options": "nosniff",
                                           "Content-Disposition": f"{disposition}; filename*=UTF-8''"
                                                                  f"{quote(asset.name)}"})


_ID = V2_ASSETS + "/{id:[^/]+}"
ROUTES = [("POST", V2_ASSETS, upload), ("POST", V2_ASSETS + "/from-hash", from_hash),
          ("HEAD", V2_ASSETS + "/by-hash/{hash:[^/]+}", head_by_hash), ("GET", _ID, get_asset),
          ("DELETE", _ID, delete_asset), ("GET", _ID + "/content", content)]
