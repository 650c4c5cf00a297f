"""Running the application until SIGTERM/SIGINT, then shutting down gracefully.

Shutdown order: stop listening, refuse new prompts (503), close WebSockets, interrupt the
running prompt and put it back in the queue, close the store (WAL checkpoint).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence

from aiohttp import web

log = logging.getLogger("latentgraph.server")


def run_server(app: web.Application, *, hosts: Sequence[str], port: int,
               on_ready: Callable[[list], None] | None = None) -> int:
    """Serve until a stop signal; returns the process exit code (0 after a graceful stop)."""
    return asyncio.run(serve(app, hosts=hosts, port=port, on_ready=on_ready))


async def serve(app: web.Application, *, hosts: Sequence[str], port: int,
                on_ready: Callable[[list], None] | None = None, stop: asyncio.Event | None = None) -> int:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        for host in hosts:
            await web.TCPSite(runner, host, port, shutdown_timeout=5).start()
        addresses = list(runner.addresses)
        for address in addresses:
            host, bound_port = address[0], address[1]
            shown = f"[{host}]" if ":" in host else host
            log.info("latentgraph listening on http://%s:%s", shown, bound_port)
        if on_ready is not None:
            on_ready(addresses)
        await stop.wait()
        log.info("stopping: finishing the queue store")
    finally:
        await runner.cleanup()
    return 0
