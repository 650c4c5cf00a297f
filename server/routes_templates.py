"""The Templates dialog of ComfyUI's editor (frontend 1.58), answered from the project's workflows/.

The editor reads `/templates/index.json` (a list of categories, each `{moduleName, title, type,
templates: [{name, title, description, mediaType, mediaSubtype, ...}]}` — the shape of ComfyUI's
`comfyui-workflow-templates` package), `/templates/index_logo.json` (`{name: logo path}`) and, when
a template is opened, `/templates/{name}.json`. Here every UI-format workflow `workflows/<name>_ui.json`
is one template named `<name>` in one category, "latentgraph workflows"; there are no thumbnails and
no logos (the editor shows its placeholder). A localized index (`index.<locale>.json`) is not served:
the editor falls back to the English one. Only names listed in the index are served, so a request
can never leave the folder.
"""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from .state import state_of

CATEGORY_TITLE = "latentgraph workflows"
UI_SUFFIX = "_ui.json"
# The project's example workflows, beside server/ (ServerConfig.workflows_dir overrides it).
DEFAULT_WORKFLOWS_DIR = Path(__file__).resolve().parent.parent / "workflows"


def workflows_dir(request: web.Request) -> Path:
    configured = state_of(request).config.workflows_dir
    return Path(configured) if configured is not None else DEFAULT_WORKFLOWS_DIR


def template_files(folder: Path) -> dict[str, Path]:
    """{template name: file} for the UI-format workflows directly in `folder` (sorted by name)."""
    if not folder.is_dir():
        return {}
    files = sorted(p for p in folder.iterdir() if p.name.endswith(UI_SUFFIX) and p.is_file())
    return {p.name[: -len(UI_SUFFIX)]: p for p in files}


def template_entry(name: str, path: Path) -> dict:
    title = name.replace("_", " ")
    try:
        nodes = json.loads(path.read_text(encoding="utf-8")).get("nodes") or []
    except (OSError, ValueError, AttributeError):
        nodes = []
    kinds = sorted({str(n.get("type")) for n in nodes if isinstance(n, dict) and n.get("type")})
    return {"name": name, "title": title, "description": f"workflows/{path.name}: {', '.join(kinds)}",
            "mediaType": "image", "mediaSubtype": "webp", "tags": ["latentgraph"], "models": []}


async def get_templates_index(request: web.Request) -> web.Response:
    files = template_files(workflows_dir(request))
    if not files:
        return web.json_response([])
    return web.json_response([{"moduleName": "default", "title": CATEGORY_TITLE, "type": "image",
                               "templates": [template_entry(name, path) for name, path in files.items()]}])


async def get_templates_logos(request: web.Request) -> web.Response:
    return web.json_response({})


async def get_template(request: web.Request) -> web.Response:
    path = template_files(workflows_dir(request)).get(request.match_info["name"])
    if path is None:
        return web.json_response({"error": "No such template."}, status=404)
    return web.Response(body=path.read_bytes(), content_type="application/json")


ROUTES = [("GET", "/templates/index.json", get_templates_index),
          ("GET", "/templates/index_logo.json", get_templates_logos),
          ("GET", "/templates/{name}.json", get_template)]
