"""Read-only facts: /object_info, /system_stats, /embeddings, /models, /extensions, /features."""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import os
import platform
import sys
from pathlib import Path

import psutil
from aiohttp import web

from .ports import FolderLayout, NodeLibrary
from .state import state_of
from .store import Store
from .ws import server_feature_flags

log = logging.getLogger("latentgraph.server.info")

VERSION = "0.1.0"
# The ComfyUI editor this server is tested with (pyproject.toml's `comfyui` extra pins it); the editor
# compares its own version with this and says when it is older.
REQUIRED_FRONTEND_VERSION = "1.58.1"
# Packages ComfyUI reports in system_stats.comfy_package_versions: (name, the version we require).
COMFY_PACKAGES = (("comfyui-frontend-package", REQUIRED_FRONTEND_VERSION), ("comfyui-workflow-templates", ""),
                  ("comfyui-embedded-docs", ""))
_EMBEDDING_EXTENSIONS = (".safetensors", ".pt", ".bin", ".pth", ".ckpt")


async def get_object_info(request: web.Request) -> web.Response:
    registry = state_of(request).registry
    info = await asyncio.get_running_loop().run_in_executor(None, registry.object_info)
    return web.json_response(info)


async def get_object_info_one(request: web.Request) -> web.Response:
    registry = state_of(request).registry
    return web.json_response(registry.object_info_for(request.match_info["node_class"]))


def _torch_facts() -> tuple[str, list[dict]]:
    """(version, devices); torch is only asked if something already imported it."""
    torch = sys.modules.get("torch")
    if torch is None:
        try:
            return importlib.metadata.version("torch"), []
        except importlib.metadata.PackageNotFoundError:
            return "", []
    devices = []
    try:
        if torch.cuda.is_available():
            for index in range(torch.cuda.device_count()):
                free, total = torch.cuda.mem_get_info(index)
                devices.append({"name": torch.cuda.get_device_name(index), "type": "cuda", "index": index,
                                "vram_total": total, "vram_free": free, "torch_vram_total": total,
                                "torch_vram_free": free})
    except Exception:
        log.exception("could not query CUDA devices")
    return torch.__version__, devices


def installed_version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return ""


def comfy_package_versions() -> list[dict]:
    """ComfyUI's list of `{name, installed, required}` (empty strings when not installed / no pin)."""
    return [{"name": name, "installed": installed_version(name), "required": required}
            for name, required in COMFY_PACKAGES]


async def get_system_stats(request: web.Request) -> web.Response:
    memory = psutil.virtual_memory()
    torch_version, devices = _torch_facts()
    if not devices:
        devices = [{"name": "cpu", "type": "cpu", "index": None, "vram_total": memory.total,
                    "vram_free": memory.available, "torch_vram_total": memory.total,
                    "torch_vram_free": memory.available}]
    return web.json_response({
        "system": {"os": os.name, "ram_total": memory.total, "ram_free": memory.available,
                   "comfyui_version": VERSION, "required_frontend_version": REQUIRED_FRONTEND_VERSION,
                   "installed_templates_version": installed_version("comfyui-workflow-templates"),
                   "required_templates_version": "", "comfy_package_versions": comfy_package_versions(),
                   "deploy_environment": "local", "python_version": sys.version,
                   "pytorch_version": torch_version, "embedded_python": False, "argv": sys.argv,
                   "platform": platform.platform()},
        "devices": devices,
        # ours, beside ComfyUI's keys: what the model manager keeps on the device (or streams), LRU first
        "models": state_of(request).runtime.resident_models(),
        "queue_database": queue_database_facts(state_of(request).store)})


def queue_database_facts(store: Store) -> dict:
    """Ours, beside ComfyUI's keys: whether the queue database was found damaged (or empty) at start,
    where the damaged file went and what was kept."""
    report = store.repair
    if report is None:
        return {"status": "ok"}
    status = "repaired" if report.damaged_file else "found_empty"
    return {"status": status, "message": report.sentence(), **report.as_json()}


def model_keys(folders: FolderLayout) -> list[str]:
    """The model folder keys (never custom_nodes: its code files are nobody's business)."""
    return [key for key in folders.known_keys() if key != "custom_nodes"]


def list_model_files(folders: FolderLayout, key: str) -> list[str] | None:
    """Relative file names of a model folder key, or None when the key is unknown."""
    if key not in model_keys(folders):
        return None
    try:
        return list(folders.list_files(key))
    except (KeyError, ValueError):
        return None
    except OSError:
        return []


async def get_embeddings(request: web.Request) -> web.Response:
    files = list_model_files(state_of(request).folders, "embeddings") or []
    return web.json_response([Path(name).with_suffix("").as_posix() if name.lower().endswith(_EMBEDDING_EXTENSIONS)
                              else name for name in files])


async def get_models(request: web.Request) -> web.Response:
    return web.json_response(model_keys(state_of(request).folders))


async def get_models_folder(request: web.Request) -> web.Response:
    files = list_model_files(state_of(request).folders, request.match_info["folder"])
    if files is None:
        return web.json_response({"error": {"type": "unknown_folder", "message": "No such model folder.",
                                            "details": request.match_info["folder"], "extra_info": {}}}, status=404)
    return web.json_response(files)


def web_directories(registry: NodeLibrary) -> dict[str, Path]:
    return {name: Path(path) for name, path in registry.web_directories().items()}


async def get_extensions(request: web.Request) -> web.Response:
    state = state_of(request)
    urls = []
    root = state.config.web_root
    if root is not None and (Path(root) / "extensions").is_dir():
        urls += ["/" + p.relative_to(root).as_posix() for p in sorted((Path(root) / "extensions").rglob("*.js"))]
    for name, directory in sorted(web_directories(state.registry).items()):
        if directory.is_dir():
            urls += [f"/extensions/{name}/{p.relative_to(directory).as_posix()}" for p in sorted(directory.rglob("*.js"))]
    return web.json_response(urls)


async def get_features(request: web.Request) -> web.Response:
    return web.json_response(server_feature_flags(state_of(request).config.max_upload_bytes))


ROUTES = [("GET", "/object_info", get_object_info), ("GET", "/object_info/{node_class}", get_object_info_one),
          ("GET", "/system_stats", get_system_stats), ("GET", "/embeddings", get_embeddings),
          ("GET", "/models", get_models), ("GET", "/models/{folder}", get_models_folder),
          ("GET", "/extensions", get_extensions), ("GET", "/features", get_features)]
