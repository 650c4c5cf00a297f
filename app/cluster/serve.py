"""`serve --ray`: connect to (or start) a Ray cluster, start the worker pool, list it in /system_stats.

`connect(address)` starts a local cluster ("local") or joins one ("auto" or an address; a cluster
already initialised in this process is used as it is). `build_pool(args, folders, database)` starts `--ray-workers`
workers (default: one per GPU of the cluster, else one) from the same engine flags as `serve`; it
returns once every worker is placed (with `--ray-worker-gpus 1`, when enough GPU machines joined). Its
actors are named after the queue database, so a coordinator restarted on the same base directory
reattaches to the workers of the one before (pool.py), and the files they write are brought into the
coordinator's output and temp folders unless `--shared-output` (outputs.py).
`attach(app, pool, ...)` adds the workers to GET /system_stats (key `workers`) and ends the pool
when the application is cleaned up. Everything here imports Ray; cmd_serve imports it only for --ray.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from aiohttp import web

from app.cluster.outputs import FILE_TYPES
from app.cluster.pool import ActorSpec, RayRunnerPool

ROOT = Path(__file__).resolve().parents[2]
log = logging.getLogger("latentgraph.cluster")
STATS_PATHS = ("/system_stats", "/api/system_stats")


def connect(address: str, namespace: str) -> bool:
    """Start or join the cluster; True when it was joined (it outlives this process), False when started."""
    import ray

    if ray.is_initialized():
        return True
    runtime_env = {"env_vars": {"PYTHONPATH": str(ROOT)}}
    if address == "local":
        ray.init(namespace=namespace, runtime_env=runtime_env, configure_logging=False)
        return False
    ray.init(address=address, namespace=namespace, runtime_env=runtime_env, configure_logging=False)
    return True


def build_pool(args: argparse.Namespace, folders: Any, database: Path) -> tuple[RayRunnerPool, bool]:
    """The pool for `serve --ray`, and whether its cluster was joined (its workers are then detached).
    `folders` are the coordinator's (their output and temp folders receive the workers' files unless
    `--shared-output`); `database` names the workers, so a restart on it reattaches to them."""
    import ray

    joined = connect(args.ray, args.ray_namespace)
    gpus = 0 if args.cpu else int(ray.cluster_resources().get("GPU", 0))
    count = args.ray_workers or max(1, gpus)
    per_worker = args.ray_worker_gpus if args.ray_worker_gpus is not None else (1 if gpus >= count else 0)
    deliver_to = None if args.shared_output else {
        kind: str(Path(folders.directory(kind)).resolve()) for kind in FILE_TYPES}
    spec = ActorSpec(engine_args=engine_namespace(args), num_gpus=per_worker, num_cpus=args.ray_worker_cpus,
                     namespace=args.ray_namespace, prefix=worker_prefix(database), detached=joined,
                     deliver_to=deliver_to)
    log.info("starting %d Ray worker(s) (%s GPU each); the cluster has %s", count, spec.num_gpus,
             ray.cluster_resources())
    return RayRunnerPool(spec, count), joined


def worker_prefix(database: Path) -> str:
    """The actor-name prefix of the workers of the coordinator whose queue is `database` (stable across restarts)."""
    digest = hashlib.sha256(str(Path(database).resolve()).encode()).hexdigest()[:10]
    return f"latentgraph-{digest}-w"


def engine_namespace(args: argparse.Namespace) -> argparse.Namespace:
    """The parsed flags without the serve-only ones that cannot travel (paths become strings as given)."""
    return argparse.Namespace(**{key: value for key, value in vars(args).items() if not callable(value)})


def attach(app: web.Application, pool: RayRunnerPool, *, kill_on_exit: bool = True) -> None:
    """List the workers in /system_stats and end the pool with the application."""

    @web.middleware
    async def workers_in_stats(request: web.Request, handler):
        response = await handler(request)
        if (request.method == "GET" and request.path in STATS_PATHS and response.status == 200
                and isinstance(response, web.Response) and response.body is not None):
            data = json.loads(bytes(response.body))
            data["workers"] = await asyncio.get_running_loop().run_in_executor(None, pool.describe)
            return web.json_response(data)
        return response

    async def end_pool(_app: web.Application) -> None:
        await asyncio.get_running_loop().run_in_executor(None, lambda: pool.shutdown(kill=kill_on_exit))

    app.middlewares.append(workers_in_stats)
    app.on_cleanup.append(end_pool)
