"""Subgraph blueprints of custom node packs: GET /global_subgraphs and /global_subgraphs/{id} (ComfyUI
since frontend 1.27, its subgraph manager), which ComfyUI's editor lists in its node library.

A blueprint is a UI workflow file `<pack>/subgraphs/<name>.json` in a custom_nodes folder (the packs'
own folders, one level deep; hidden ones skipped). The list answers `{id: {source, name, info:
{node_pack}}}` without the files' text, which the editor fetches one by one: `/global_subgraphs/{id}`
adds `data`, the file as a string. Ids are a hash of pack and file name, so they stay the same across
restarts; only listed ids are served, so a request cannot reach any other file. The user's own
blueprints are user data (`/userdata/subgraphs%2F...`), not these.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from aiohttp import web

from .ports import FolderLayout
from .state import state_of

MAX_BLUEPRINT_BYTES = 16 * 1024 * 1024


def blueprint_files(folders: FolderLayout) -> dict[str, tuple[str, Path]]:
    """{id: (pack name, file)} for every pack's subgraphs/*.json."""
    if "custom_nodes" not in folders.known_keys():
        return {}
    found: dict[str, tuple[str, Path]] = {}
    for root in folders.model_paths("custom_nodes"):
        if not root.is_dir():
            continue
        for pack in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))):
            folder = pack / "subgraphs"
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob("*.json")):
                if path.is_file() and not path.name.startswith("."):
                    key = hashlib.sha256(f"custom_node:{pack.name}/{path.name}".encode()).hexdigest()[:16]
                    found.setdefault(key, (pack.name, path))
    return found


def _entry(pack: str, path: Path) -> dict:
    return {"source": "custom_node", "name": path.stem, "info": {"node_pack": pack}}


async def get_global_subgraphs(request: web.Request) -> web.Response:
    files = blueprint_files(state_of(request).folders)
    return web.json_response({key: _entry(pack, path) for key, (pack, path) in files.items()})


async def get_global_subgraph(request: web.Request) -> web.Response:
    found = blueprint_files(state_of(request).folders).get(request.match_info["subgraph_id"])
    if found is None:
        return web.json_response({"error": "No such subgraph blueprint."}, status=404)
    pack, path = found
    if path.stat().st_size > MAX_BLUEPRINT_BYTES:
        return web.json_response({"error": "The blueprint file is too large to serve."}, status=413)
    text = path.read_text(encoding="utf-8", errors="replace")
    return web.json_response({**_entry(pack, path), "data": text})


ROUTES = [("GET", "/global_subgraphs", get_global_subgraphs),
          ("GET", "/global_subgraphs/{subgraph_id}", get_global_subgraph)]
