"""`create_app`: the aiohttp application with its middlewares, routes, worker and store.

Every route of the route modules is registered twice, as-is and under `/api` (ComfyUI), except
the `/internal` routes, which ComfyUI does not mirror either. The routes custom node packs add to
`PromptServer.instance.routes` (server/pack_server.py) are mounted the same way, after the server's own
(which win a clash), and the instance is bound to the application built last.
The worker thread starts with the application and stops (putting a running prompt back in
the queue) when it shuts down.
"""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from . import (
    assets_routes_v046,
    openapi,
    packs_route,
    routes_assets,
    routes_files,
    routes_frontend,
    routes_history,
    routes_info,
    routes_internal,
    routes_jobs,
    routes_jobs_cancel,
    routes_metadata,
    routes_node_replace,
    routes_prompt,
    routes_queue,
    routes_static,
    routes_subgraphs,
    routes_templates,
    routes_user,
    routes_userdata,
    routes_v2,
    routes_v2_assets,
)
from .assets_jobs import OutputsClaimer
from .config import ServerConfig
from .console_log import ConsoleLog
from .log_relay import LogRelay
from .pack_server import PromptServer
from .packs_route import PACKS, PackReport
from .ports import NodeLibrary, PromptRunner, ServerRuntime
from .security import error_response, is_loopback, make_security_middleware
from .state import STATE, ServerState
from .store import Store
from .worker import Worker
from .ws import Hub

log = logging.getLogger("latentgraph.server")

ROUTE_MODULES = (routes_prompt, routes_queue, routes_history, routes_info, routes_user, routes_userdata, routes_jobs,
                 routes_jobs_cancel, routes_files, routes_metadata, routes_frontend, routes_templates,
                 routes_subgraphs, routes_node_replace, packs_route, openapi)
# ComfyUI serves /internal/* from a sub-application: not mirrored under /api.
# routes_assets' paths carry /api, routes_v2_assets' /api/v2 (the Comfy API v2 assets)
UNPREFIXED_ROUTE_MODULES = (routes_internal, assets_routes_v046, routes_assets, routes_v2_assets)
# Paths (without /api) whose POST bodies are JSON: browser "simple" content types are refused there.
JSON_ROUTES = frozenset({"/prompt", "/plan", "/queue", "/interrupt", "/free", "/history", "/settings", "/users",
                         "/internal/logs/subscribe", "/jobs/cancel"})


# A path too long, or under a file, that slipped past the routes' own checks.
_BAD_PATH_ERRNOS = (errno.ENAMETOOLONG, errno.ENOTDIR)


@web.middleware
async def error_middleware(request: web.Request, handler):
    """Unexpected exceptions become a JSON 500 without a traceback (logged on the server)."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status == 413:
            return error_response(413, "request_too_large", "The request body is too large.")
        raise
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except OSError as exc:
        if exc.errno in _BAD_PATH_ERRNOS:  # a route met a path the file system refuses: the client's error
            log.warning("%s %s: %s", request.method, request.path[:200], exc.strerror)
            return error_response(400, "bad_path", f"The file system refused the path: {exc.strerror}.")
        log.exception("error handling %s %s", request.method, request.path[:200])
        return error_response(500, "internal_error", "The server failed to handle this request; see its log.")
    except Exception:
        log.exception("error handling %s %s", request.method, request.path)
        return error_response(500, "internal_error", "The server failed to handle this request; see its log.")


def create_app(*, registry: NodeLibrary, runtime: ServerRuntime, store_path: str | Path,
               config: ServerConfig | None = None, executor: PromptRunner | None = None,
               validator: Callable[..., Any] | None = None, console: ConsoleLog | None = None,
               packs: PackReport | None = None) -> web.Application:
    """Build the application. `executor` defaults to graph.executor.Executor(registry, runtime=runtime),
    `validator` to graph.validate.validate_prompt(prompt, registry, partial_targets), `console` (what
    /internal/logs serves) to an empty log that only records what is written to it. /free unloads
    the runtime's models. `packs` (the plugin loader's report) is what GET /packs lists."""
    config = config or ServerConfig()
    if executor is None:
        from graph.executor import Executor

        executor = Executor(registry, runtime=runtime)
    if validator is None:
        from graph.validate import validate_prompt as validator
    store = Store.open(store_path, max_queue_size=config.max_queue_size, history_max=config.history_max,
                       synchronous=config.db_synchronous)
    if store.recovery.requeued or store.recovery.failed:
        log.warning("after restart: re-queued %s, failed by restart %s", store.recovery.requeued,
                    store.recovery.failed)
    hub = Hub(queue_limit=config.ws_queue_limit, queue_remaining=store.queue_remaining,
              paused=lambda: store.paused,
              max_upload_bytes=config.max_upload_bytes, stall_seconds=config.ws_stall_seconds,
              max_clients=config.ws_max_clients)
    prompt_server = PromptServer.instance
    # on_outputs: a finished prompt's output files get their job_id in the assets index at once
    worker = Worker(store, executor, registry=registry, publisher=prompt_server.tracking(hub), models=runtime,
                    default_extra={"preview_method": config.preview_method}, on_outputs=OutputsClaimer(runtime))
    state = ServerState(config=config, registry=registry, runtime=runtime, store=store, worker=worker, hub=hub,
                        validate=validator, logs=LogRelay(console or ConsoleLog(), hub))
    loopback_only = all(is_loopback(addr) for addr in config.listen)
    app = web.Application(
        client_max_size=config.max_upload_bytes,
        middlewares=[error_middleware,
                     make_security_middleware(loopback_only=loopback_only, token=config.token,
                                              json_routes=JSON_ROUTES)])
    app[STATE] = state
    app[PACKS] = packs
    prompt_server.bind(app, hub=hub, store=store)
    app.router.add_get("/ws", hub.handle)
    app.router.add_get("/api/ws", hub.handle)
    for module in ROUTE_MODULES:
        for method, path, handler in module.ROUTES:
            app.router.add_route(method, path, handler)
            app.router.add_route(method, "/api" + path, handler)
    for module in UNPREFIXED_ROUTE_MODULES:
        for method, path, handler in module.ROUTES:
            app.router.add_route(method, path, handler)
    routes_v2.mount(app)  # the Comfy API v2 jobs, under /api/v2 only
    prompt_server.mount_routes(app)
    routes_static.add_static_routes(app, state)
    app.on_startup.append(_on_startup)
    app.on_shutdown.append(_on_shutdown)
    app.on_cleanup.append(_on_cleanup)
    return app


async def _on_startup(app: web.Application) -> None:
    state = app[STATE]
    state.hub.loop = asyncio.get_running_loop()
    state.logs.start(state.hub.loop)
    state.worker.start()


async def _on_shutdown(app: web.Application) -> None:
    state = app[STATE]
    state.accepting = False
    state.logs.stop()
    await state.hub.close_all()


async def _on_cleanup(app: web.Application) -> None:
    state = app[STATE]
    await asyncio.get_running_loop().run_in_executor(None, state.worker.stop)
    state.store.close()
