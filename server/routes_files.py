"""GET /view, POST /upload/image and POST /upload/mask, confined to input/output/temp.

Uploads must carry an image extension and decode as an image within the pixel limit; they
are written to a temporary file in the target folder and then linked into place, so a failed
or concurrent write never leaves a partial file or overwrites another upload. Files whose
type a browser would execute (html, svg, js, ...) are served as attachments; every /view
answer carries `X-Content-Type-Options: nosniff`.

ComfyUI v0.46: `/view?filename=blake3:<hex>` serves the asset with that content hash (server/assets_store.py),
and an upload's answer carries its `asset` object (id, name, asset_hash, size, mime_type, tags).
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import logging
import mimetypes
import os
import sqlite3
from pathlib import Path

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from PIL import PngImagePlugin

from .assets_store import HASH_RE, store_for
from .atomic_write import StagedFile
from .images import IMAGE_EXTENSIONS, ImageRefusedError, open_image, plain_reason, preview_bytes
from .paths import PathRefusedError, base_folder, check_filename, check_subfolder, resolve_inside, split_annotation
from .ports import FolderLayout
from .state import state_of

ACTIVE_TYPES = ("text/html", "application/xhtml+xml", "image/svg+xml", "text/javascript", "application/javascript",
                "text/css", "application/xml", "text/xml")
_FIELD_LIMIT = 64 * 1024
log = logging.getLogger("latentgraph.server")


def _error(status: int, type_: str, message: str) -> web.Response:
    return web.json_response({"error": {"type": type_, "message": message, "details": "", "extra_info": {}}},
                             status=status)


def _refused(exc: PathRefusedError) -> web.Response:
    kind = {413: "request_too_large", 404: "not_found"}.get(exc.status, "bad_path")
    return _error(exc.status, kind, str(exc))


async def _in_thread(func, *args):
    return await asyncio.get_running_loop().run_in_executor(None, func, *args)


# ---------------------------------------------------------------------------------------- /view
def locate(folders: FolderLayout, filename: str, file_type: str, subfolder: str) -> Path:
    """The real path a /view query names; PathRefusedError when it is not allowed."""
    filename, annotated = split_annotation(filename)
    base = base_folder(folders, annotated or file_type)
    check_filename(filename)
    return resolve_inside(base, subfolder, filename)


def locate_hash(folders: FolderLayout, name: str) -> Path:
    """The file of the asset whose content hash is `name` ('blake3:<hex>'); PathRefusedError 400 for a
    malformed hash, 404 when no asset has it (the index is brought up to date once before giving up)."""
    digest = name.strip().lower()
    if not HASH_RE.fullmatch(digest):
        raise PathRefusedError(400, "A content-hash name must be 'blake3:' and 64 hex digits.")
    store = store_for(folders)
    asset = store.by_hash(digest)
    if asset is None and store.hasher is not None:  # without hashes a sync cannot find one
        store.sync()
        asset = store.by_hash(digest)
    if asset is None:
        why = "" if store.hasher is not None else " (content hashes are off: the blake3 package is not installed)"
        raise PathRefusedError(404, f"No asset has the content hash {digest[:80]}{why}.")
    if asset.root == "models":
        try:
            return store.file_path(asset)
        except (ValueError, OSError):
            raise PathRefusedError(404, "The file of that asset is no longer in its model folder.") from None
    subfolder, _, name = asset.rel_path.rpartition("/")
    return resolve_inside(base_folder(folders, asset.root), subfolder, name)


async def view(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    query = request.query
    filename = query.get("filename")
    if not filename:
        return _error(404, "not_found", "No filename given.")
    try:
        if filename.startswith("blake3:"):
            path = await _in_thread(locate_hash, state.folders, filename)
        else:
            path = locate(state.folders, filename, query.get("type", "output"), query.get("subfolder", ""))
    except PathRefusedError as exc:
        return _refused(exc)
    if not path.is_file():
        return _error(404, "not_found", f"{filename[:80]!r} does not exist.")
    headers = {"X-Content-Type-Options": "nosniff", "Content-Disposition": f'filename="{_quote(path.name)}"'}
    preview, channel = query.get("preview"), query.get("channel")
    if preview or channel in ("rgb", "a"):
        try:
            image = await _in_thread(open_image, path, state.config.max_image_pixels)
            data, mime = await _in_thread(preview_bytes, image, preview, channel)
        except ImageRefusedError as exc:
            return _error(400, "not_an_image", str(exc))
        return web.Response(body=data, content_type=mime, headers=headers)
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if mime in ACTIVE_TYPES or mime.startswith("text/html"):
        mime = "application/octet-stream"
        headers["Content-Disposition"] = f'attachment; filename="{_quote(path.name)}"'
    headers["Content-Type"] = mime
    return web.FileResponse(path, headers=headers)


def _quote(name: str) -> str:
    return name.replace("\\", "_").replace('"', "_").replace("\r", "_").replace("\n", "_")


# ---------------------------------------------------------------------------------------- uploads
class UploadForm:
    """The multipart fields of an upload, read with limits."""

    def __init__(self) -> None:
        self.file_name: str | None = None
        self.file_bytes: bytes | None = None
        self.fields: dict[str, str] = {}


async def read_upload_form(request: web.Request, max_bytes: int) -> UploadForm:
    """The form's fields and image part; PathRefusedError for a malformed or oversized body."""
    if not request.content_type.startswith("multipart/"):
        raise PathRefusedError(400, "Uploads must be multipart/form-data with an 'image' file part.")
    try:
        return await _read_parts(request, max_bytes)
    except (HttpProcessingError, ValueError, AssertionError, UnicodeError) as exc:
        detail = plain_reason(exc)
        raise PathRefusedError(400, "The multipart body is malformed" + (f": {detail}." if detail else ".")) from None


async def _read_parts(request: web.Request, max_bytes: int) -> UploadForm:
    form = UploadForm()
    reader = await request.multipart()
    while True:
        part = await reader.next()
        if part is None:
            break
        if part.name == "image" and part.filename is not None:
            data = bytearray()
            while chunk := await part.read_chunk(1 << 16):
                data += chunk
                if len(data) > max_bytes:
                    raise PathRefusedError(413, f"The upload is larger than {max_bytes} bytes.")
            form.file_name, form.file_bytes = part.filename, bytes(data)
        elif part.name:
            value = await part.read(decode=False)
            if len(value) > _FIELD_LIMIT:
                raise PathRefusedError(400, f"The form field {part.name!r} is too long.")
            form.fields[part.name] = value.decode("utf-8", "replace")
    return form


def _same_content(path: Path, data: bytes) -> bool:
    try:
        return hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(data).digest()
    except OSError:
        return False


def save_upload(folder: Path, name: str, data: bytes, overwrite: bool) -> str:
    """Write `data` as folder/name (or 'name (n).ext'); returns the final name.

    Without overwrite an existing file is never replaced: the same bytes reuse its name, other bytes take
    the next free 'name (n).ext' (claimed by a hard link, so two concurrent uploads never share one name).
    """
    folder.mkdir(parents=True, exist_ok=True)
    stem, ext = os.path.splitext(name)
    with StagedFile(folder, label="upload") as staged:
        staged.write(data)
        candidate, n = name, 0
        while True:
            target = folder / candidate
            if overwrite:
                staged.publish(target)
                return candidate
            if target.exists() and _same_content(target, data):
                return candidate
            try:
                staged.publish(target, overwrite=False)
                return candidate
            except FileExistsError:
                n += 1
                candidate = f"{stem} ({n}){ext}"


def _upload_target(state, form: UploadForm) -> tuple[Path, str, str, str]:
    """(folder, file name, subfolder, type) for an upload, all checked."""
    if form.file_bytes is None or not form.file_name:
        raise PathRefusedError(400, "The 'image' file part is missing or has no file name.")
    file_type = form.fields.get("type", "input") or "input"
    subfolder = form.fields.get("subfolder", "")
    base = base_folder(state.folders, file_type)
    check_subfolder(subfolder)
    name = form.file_name
    check_filename(name)
    if not name.lower().endswith(IMAGE_EXTENSIONS):
        raise PathRefusedError(400, f"{name[:80]!r} does not have an image extension ({', '.join(IMAGE_EXTENSIONS)}).")
    folder = resolve_inside(base, subfolder)
    target = resolve_inside(base, subfolder, name)
    if target.exists() and not target.is_file():
        raise PathRefusedError(400, f"{name[:80]!r} exists and is not a file.")
    return folder, name, subfolder, file_type


async def _finish_upload(state, form: UploadForm, data: bytes) -> web.Response:
    folder, name, subfolder, file_type = _upload_target(state, form)
    overwrite = form.fields.get("overwrite", "").lower() in ("true", "1")
    try:
        final = await _in_thread(save_upload, folder, name, data, overwrite)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            return _error(507, "disk_full", "The disk is full; the upload was not stored.")
        raise
    answer = {"name": final, "subfolder": subfolder, "type": file_type}
    try:
        rel = (folder / final).relative_to(base_folder(state.folders, file_type).resolve()).as_posix()
        asset, _ = await _in_thread(store_for(state.folders).register_file, file_type, rel)
        answer["asset"] = asset.upload_summary()
    except (OSError, ValueError, sqlite3.Error):  # the upload stands; only its asset entry is missing
        log.warning("could not index the upload %r as an asset", final, exc_info=True)
    return web.json_response(answer)


async def upload_image(request: web.Request) -> web.Response:
    state = state_of(request)
    try:
        form = await read_upload_form(request, state.config.max_upload_bytes)
        _upload_target(state, form)
        await _in_thread(open_image, form.file_bytes, state.config.max_image_pixels)
        return await _finish_upload(state, form, form.file_bytes)
    except PathRefusedError as exc:
        return _refused(exc)
    except ImageRefusedError as exc:
        return _error(400, "not_an_image", str(exc))


def compose_mask(original_path: Path, mask_bytes: bytes, max_pixels: int) -> bytes:
    """The original image with its alpha replaced by the mask's alpha, PNG text chunks kept."""
    import io

    original = open_image(original_path, max_pixels)
    mask = open_image(mask_bytes, max_pixels).convert("RGBA")
    alpha = mask.getchannel("A")
    if alpha.size != original.size:
        alpha = alpha.resize(original.size)
    info = PngImagePlugin.PngInfo()
    for key, value in getattr(original, "text", {}).items():
        info.add_text(key, value)
    result = original.convert("RGBA")
    result.putalpha(alpha)
    out = io.BytesIO()
    result.save(out, "PNG", pnginfo=info, compress_level=4)
    return out.getvalue()


async def upload_mask(request: web.Request) -> web.Response:
    state = state_of(request)
    try:
        form = await read_upload_form(request, state.config.max_upload_bytes)
        _upload_target(state, form)
        try:
            ref = json.loads(form.fields.get("original_ref", ""))
        except (ValueError, RecursionError):  # not JSON, or nested too deep for the decoder
            ref = None
        if not isinstance(ref, dict) or not isinstance(ref.get("filename"), str):
            raise PathRefusedError(400, "original_ref must be JSON {\"filename\", \"subfolder\", \"type\"}.")
        original = locate(state.folders, ref["filename"], str(ref.get("type") or "input"),
                          str(ref.get("subfolder") or ""))
        if not original.is_file():
            raise PathRefusedError(404, "The original image of the mask does not exist.")
        data = await _in_thread(compose_mask, original, form.file_bytes, state.config.max_image_pixels)
        return await _finish_upload(state, form, data)
    except PathRefusedError as exc:
        return _refused(exc)
    except ImageRefusedError as exc:
        return _error(400, "not_an_image", str(exc))


ROUTES = [("GET", "/view", view), ("POST", "/upload/image", upload_image), ("POST", "/upload/mask", upload_mask)]
