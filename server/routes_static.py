"""Static files: the editor at "/" (web/dist or a chosen root) and custom node web folders.

Without a built editor, "/" answers a small page saying how to build it.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from .routes_info import web_directories
from .state import ServerState

NOT_BUILT_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>latentgraph</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>latentgraph server is running</h1>
<p>The editor has not been built, so there is nothing to show here yet.
Build it with <code>cd web &amp;&amp; npm install &amp;&amp; npm run build</code> (it lands in
<code>web/dist/</code>) and reload this page.</p>
<p>The HTTP API works already: see <a href="/openapi.json">/openapi.json</a>.</p>
</body></html>
"""
_NO_CACHE = {"Cache-Control": "no-cache"}


def add_static_routes(app: web.Application, state: ServerState) -> None:
    """Register "/" and the static folders (not mirrored under /api, as ComfyUI)."""
    root = state.config.web_root
    for name, directory in sorted(web_directories(state.registry).items()):
        if directory.is_dir():
            app.router.add_static(f"/extensions/{name}/", directory, follow_symlinks=False)
    if root is not None and (Path(root) / "index.html").is_file():
        index = Path(root) / "index.html"

        async def serve_index(request: web.Request) -> web.StreamResponse:
            return web.FileResponse(index, headers=_NO_CACHE)

        app.router.add_get("/", serve_index)
        app.router.add_static("/", root, follow_symlinks=False)
    else:
        async def not_built(request: web.Request) -> web.Response:
            return web.Response(text=NOT_BUILT_PAGE, content_type="text/html", headers=_NO_CACHE)

        app.router.add_get("/", not_built)
