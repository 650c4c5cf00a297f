"""`python main.py` (or `main.py serve`): start the HTTP/WebSocket server with the editor.

With `--ray [ADDRESS]` the prompts of the same API and durable queue run on Ray workers, several at
once (app/cluster/); without it nothing changes and Ray is not imported."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

from app.engine import add_engine_arguments, build_engine, positive_int

HELP = "start the server with the editor (the default command)"
ROOT = Path(__file__).resolve().parent.parent
PREVIEW_METHODS = ("none", "auto", "latent2rgb", "taesd")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--listen", nargs="?", const="0.0.0.0,::", default="127.0.0.1", metavar="ADDR",
                        help="address(es) to listen on, comma separated (default 127.0.0.1; "
                        "without a value: all IPv4 and IPv6 addresses)")
    parser.add_argument("--port", type=int, default=8188, help="port (default 8188)")
    parser.add_argument("--token", default=None, help="access token clients must send (Authorization: Bearer "
                        "<token> or ?token=<token>); required when listening beyond loopback")
    parser.add_argument("--unsafe-no-token", action="store_true",
                        help="allow listening beyond loopback without a token (anyone on the network can use it)")
    parser.add_argument("--front-end", choices=("ours", "comfyui"), default="ours",
                        help="editor to serve: ours (web/dist) or ComfyUI's (needs comfyui-frontend-package)")
    parser.add_argument("--front-end-root", type=Path, default=None, help="serve the editor from this folder")
    parser.add_argument("--max-upload-size", type=float, default=100.0, metavar="MB",
                        help="largest request body in MB (default 100)")
    parser.add_argument("--preview-method", choices=PREVIEW_METHODS, default="none",
                        help="live previews while sampling for prompts that do not ask (extra_data.preview_method); "
                             "default none, as ComfyUI")
    parser.add_argument("--database", type=Path, default=None,
                        help="queue and history database (default <user dir>/latentgraph.db)")
    add_engine_arguments(parser)  # folder flags, --cpu, --disable-all-custom-nodes
    cluster = parser.add_argument_group("running prompts on a Ray cluster (pip install -e \".[ray]\")")
    cluster.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                         help="run prompts on Ray workers: without a value start a cluster on this machine; "
                              "'auto' or ADDRESS (host:port, ray://...) join a running one")
    cluster.add_argument("--ray-workers", "--workers", type=positive_int, default=None, metavar="N",
                         help="Ray workers, one prompt each at a time (default: one per GPU of the cluster, else 1)")
    cluster.add_argument("--ray-worker-cpus", type=float, default=1.0, metavar="N",
                         help="CPUs Ray reserves for each worker (default 1)")
    cluster.add_argument("--ray-worker-gpus", type=float, default=None, metavar="N",
                         help="GPUs each worker takes (default: 1 when the cluster has a GPU per worker, else 0); "
                              "give 1 to wait for machines that join with `main.py worker --ray ADDRESS`")
    cluster.add_argument("--ray-namespace", default="latentgraph",
                         help="Ray namespace of the workers; a restarted server reattaches to its workers there")
    cluster.add_argument("--shared-output", action="store_true",
                         help="the workers write into the same output and temp folders as this server (one "
                              "machine, or a shared file system); without it each file a worker's output names is "
                              "sent here and written into this server's folders, so /view serves it")


def listen_addresses(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def front_end_root(args: argparse.Namespace) -> Path | None:
    """The folder of static editor files, or None (the server shows a "not built" page).
    Raises SystemExit with a clear message when --front-end comfyui is asked but not installed."""
    if args.front_end_root is not None:
        return args.front_end_root
    if args.front_end == "comfyui":
        try:
            package = importlib.import_module("comfyui_frontend_package")
        except ImportError:
            raise SystemExit("--front-end comfyui needs the optional package comfyui-frontend-package: "
                             "install it with `.venv/bin/python -m pip install comfyui-frontend-package`.") from None
        return Path(package.__file__).parent / "static"
    dist = ROOT / "web" / "dist"
    return dist if (dist / "index.html").is_file() else None


def run(args: argparse.Namespace) -> int:
    from server.console_log import ConsoleLog, capture_console

    console = ConsoleLog()
    capture_console(console)  # before logging binds its handler to sys.stderr: log records are kept too
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from server.app import create_app
    from server.config import ServerConfig
    from server.runner import run_server
    from server.security import InsecureListenError, check_listen_security

    hosts = listen_addresses(args.listen)
    try:
        check_listen_security(hosts, args.token, args.unsafe_no_token)
    except InsecureListenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    web_root = front_end_root(args)
    engine = build_engine(args)
    config = ServerConfig(listen=tuple(hosts), port=args.port, token=args.token,
                          unsafe_no_token=args.unsafe_no_token, max_upload_mb=args.max_upload_size,
                          preview_method=args.preview_method, web_root=web_root)
    database = args.database or Path(engine.folders.user_dir) / "latentgraph.db"
    engine.folders.ensure_dirs()
    if args.ray is None:
        from graph.executor import Executor

        executor = Executor(engine.registry, cache=engine.cache, runtime=engine.runtime)
        app = create_app(registry=engine.registry, runtime=engine.runtime, store_path=database, config=config,
                         executor=executor, console=console, packs=engine.plugins)
        return run_server(app, hosts=hosts, port=args.port)
    from app.cluster.serve import attach, build_pool

    pool, joined = build_pool(args, engine.folders, database)
    app = create_app(registry=engine.registry, runtime=engine.runtime, store_path=database, config=config,
                     executor=pool, console=console, packs=engine.plugins)
    attach(app, pool, kill_on_exit=not joined)  # workers of a joined cluster stay for a restart to reattach
    return run_server(app, hosts=hosts, port=args.port)
