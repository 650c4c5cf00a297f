"""The user's files (saved workflows, editor data) under <user dir>/default, as ComfyUI's
/userdata routes: list, read, write, delete, move.

Every path is checked as text (no NUL, backslash, absolute path or `..` part) and then its
real path (symlinks followed) must stay inside the user's folder: 400 for bad text, 403 for
escapes. Names are URL-decoded exactly once, so `%252e%252e` stays the literal name
`%2e%2e`. Files a browser would run (html, svg, js, ...) are served as attachments, always
with `X-Content-Type-Options: nosniff`.
"""

from __future__ import annotations

import asyncio
import mimetypes
import shutil
from functools import partial
from pathlib import Path

from aiohttp import web

from .atomic_write import write_atomically
from .paths import PathRefusedError, check_folders_on_the_way, check_subfolder
from .routes_files import ACTIVE_TYPES
from .state import state_of

USER = "default"


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def user_root(request: web.Request) -> Path:
    root = Path(state_of(request).folders.directory("user")) / USER
    root.mkdir(parents=True, exist_ok=True)
    return root.resolve()


def inside(root: Path, relative: str) -> Path:
    """root/relative as a real path inside root; PathRefusedError 400 (bad text) or 403 (escape)."""
    relative = relative.rstrip("/") if relative not in ("", "/") else ""
    try:
        check_subfolder(relative)
    except PathRefusedError as exc:
        raise PathRefusedError(400, str(exc).replace("subfolder", "path")) from None
    target = (root / relative).resolve()
    if target != root and root not in target.parents:
        raise PathRefusedError(403, "The path leads outside the user folder.")
    check_folders_on_the_way(root, target)
    return target


def _info(root: Path, path: Path) -> dict:
    stat = path.stat()
    return {"path": path.relative_to(root).as_posix(), "size": stat.st_size, "modified": stat.st_mtime,
            "created": stat.st_ctime}


async def list_userdata(request: web.Request) -> web.Response:
    """GET /userdata?dir=D[&recurse=true][&full_info=true][&split=true]."""
    directory = request.query.get("dir")
    if not directory:
        return _error(400, "The 'dir' query parameter is required.")
    root = user_root(request)
    try:
        base = inside(root, directory)
    except PathRefusedError as exc:
        return _error(exc.status, str(exc))
    if not base.is_dir():
        return _error(404, f"{directory!r} does not exist.")
    recurse = request.query.get("recurse") == "true"
    files = sorted(p for p in (base.rglob("*") if recurse else base.iterdir()) if p.is_file())
    files = [p for p in files if root in p.resolve().parents]  # skip symlinks pointing out
    if request.query.get("full_info") == "true":
        return web.json_response([{**_info(base, p)} for p in files])
    names = [p.relative_to(base).as_posix() for p in files]
    if request.query.get("split") == "true":
        return web.json_response([[name, *name.split("/")] for name in names])
    return web.json_response(names)


async def list_userdata_v2(request: web.Request) -> web.Response:
    """GET /v2/userdata?path=P: one folder level, folders first."""
    root = user_root(request)
    try:
        base = inside(root, request.query.get("path", ""))
    except PathRefusedError as exc:
        return _error(exc.status, str(exc))
    if not base.is_dir():
        return _error(404, "No such folder.")
    entries = []
    for path in sorted(base.iterdir(), key=lambda p: (not p.is_dir(), p.name.lower())):
        if root not in path.resolve().parents:
            continue
        entry = {"name": path.name, "path": path.relative_to(root).as_posix(),
                 "type": "directory" if path.is_dir() else "file"}
        if path.is_file():
            stat = path.stat()
            entry.update(size=stat.st_size, modified=stat.st_mtime)
        entries.append(entry)
    return web.json_response(entries)


def _file_param(request: web.Request, name: str = "file") -> str:
    return request.match_info[name]


async def get_userdata_file(request: web.Request) -> web.StreamResponse:
    root = user_root(request)
    try:
        path = inside(root, _file_param(request))
    except PathRefusedError as exc:
        return _error(exc.status, str(exc))
    if not path.is_file():
        return _error(404, "No such file.")
    headers = {"X-Content-Type-Options": "nosniff"}
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if mime in ACTIVE_TYPES:
        headers["Content-Type"] = "application/octet-stream"
        headers["Content-Disposition"] = f'attachment; filename="{path.name}"'
    return web.FileResponse(path, headers=headers)


def _write_atomically(path: Path, data: bytes, *, overwrite: bool = True) -> None:
    """Write the file whole or not at all; overwrite=False raises FileExistsError for an existing file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, data, overwrite=overwrite)


async def post_userdata_file(request: web.Request) -> web.Response:
    """Write the raw body; `overwrite=false` answers 409 when the file exists."""
    root = user_root(request)
    try:
        path = inside(root, _file_param(request))
    except PathRefusedError as exc:
        return _error(exc.status, str(exc))
    if path == root or path.is_dir():
        return _error(400, "The path names a folder, not a file.")
    overwrite = request.query.get("overwrite") != "false"
    if not overwrite and path.exists():
        return _error(409, "The file exists and overwrite=false.")
    data = await request.read()
    try:  # in a thread: the fsyncs must not stall the event loop
        await asyncio.get_running_loop().run_in_executor(None, partial(_write_atomically, path, data,
                                                                       overwrite=overwrite))
    except FileExistsError:
        if overwrite:
            raise
        return _error(409, "The file exists and overwrite=false.")  # created meanwhile, still not overwritten
    if request.query.get("full_info") == "true":
        return web.json_response(_info(root, path))
    return web.json_response(path.relative_to(root).as_posix())


async def delete_userdata_file(request: web.Request) -> web.Response:
    root = user_root(request)
    try:
        path = inside(root, _file_param(request))
    except PathRefusedError as exc:
        return _error(exc.status, str(exc))
    if not path.is_file():
        return _error(404, "No such file.")
    path.unlink()
    return web.Response(status=204)


async def move_userdata_file(request: web.Request) -> web.Response:
    root = user_root(request)
    try:
        source = inside(root, _file_param(request))
        dest = inside(root, _file_param(request, "dest"))
    except PathRefusedError as exc:
        return _error(exc.status, str(exc))
    if not source.is_file():
        return _error(404, "No such file.")
    if dest.exists() and request.query.get("overwrite") == "false":
        return _error(409, "The destination exists and overwrite=false.")
    if dest == root or dest.is_dir():
        return _error(400, "The destination names a folder, not a file.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(source), str(dest))
    if request.query.get("full_info") == "true":
        return web.json_response(_info(root, dest))
    return web.json_response(dest.relative_to(root).as_posix())


ROUTES = [("GET", "/userdata", list_userdata), ("GET", "/v2/userdata", list_userdata_v2),
          ("GET", "/userdata/{file}", get_userdata_file), ("POST", "/userdata/{file}", post_userdata_file),
          ("DELETE", "/userdata/{file}", delete_userdata_file),
          ("POST", "/userdata/{file}/move/{dest}", move_userdata_file)]
