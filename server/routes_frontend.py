"""Small routes ComfyUI's editor asks for at start-up, answered with what this server has:
no translations of custom nodes, no custom-node workflow templates, and the model browser's folder
lists. The Templates dialog's files: routes_templates.py; subgraph blueprints: routes_subgraphs.py."""

from __future__ import annotations

from aiohttp import web

from .routes_info import list_model_files, model_keys
from .state import state_of


async def get_i18n(request: web.Request) -> web.Response:
    return web.json_response({})


async def get_workflow_templates(request: web.Request) -> web.Response:
    return web.json_response({})


async def get_experiment_models(request: web.Request) -> web.Response:
    """[{name, folders: [paths]}] for every model folder key except configs."""
    folders = state_of(request).folders
    result = []
    for key in model_keys(folders):
        if key == "configs":
            continue
        result.append({"name": key, "folders": [str(path) for path in folders.model_paths(key)]})
    return web.json_response(result)


async def get_experiment_models_folder(request: web.Request) -> web.Response:
    """[{name, pathIndex}] of one model folder key; 404 for unknown keys."""
    files = list_model_files(state_of(request).folders, request.match_info["folder"])
    if files is None:
        return web.json_response({"error": "No such model folder."}, status=404)
    return web.json_response([{"name": name, "pathIndex": 0} for name in files])


ROUTES = [("GET", "/i18n", get_i18n), ("GET", "/workflow_templates", get_workflow_templates),
          ("GET", "/experiment/models", get_experiment_models),
          ("GET", "/experiment/models/{folder}", get_experiment_models_folder)]
