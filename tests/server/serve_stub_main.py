"""Subprocess entry point for the restart tests and the benchmark: the real server with stub nodes.

    python tests/server/serve_stub_main.py ROOT [--port N] [--port-file PATH]

Writes the bound port to --port-file once listening; stops gracefully on SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE)]

from server_stub_engine import StubExecutor, stub_validate  # noqa: E402
from server_stub_nodes import StubRegistry, StubRuntime  # noqa: E402

from server.app import create_app  # noqa: E402
from server.config import ServerConfig  # noqa: E402
from server.runner import run_server  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", type=Path, default=None)
    parser.add_argument("--synchronous", default="FULL")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    runtime = StubRuntime(args.root)
    registry = StubRegistry()
    app = create_app(registry=registry, runtime=runtime, store_path=args.root / "queue.db",
                     config=ServerConfig(port=args.port, db_synchronous=args.synchronous),
                     executor=StubExecutor(registry, runtime), validator=stub_validate)

    def ready(addresses):
        if args.port_file is not None:
            tmp = args.port_file.with_suffix(".tmp")
            tmp.write_text(str(addresses[0][1]))
            tmp.replace(args.port_file)

    return run_server(app, hosts=["127.0.0.1"], port=args.port, on_ready=ready)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
