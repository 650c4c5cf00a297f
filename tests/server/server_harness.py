"""A real server on a free local port, run in a background thread, plus small HTTP/WS helpers."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from server_stub_engine import StubExecutor, stub_validate
from server_stub_nodes import StubRegistry, StubRuntime

from server.app import create_app
from server.config import ServerConfig
from server.state import STATE


class LiveServer:
    """create_app(...) served by an AppRunner on 127.0.0.1:<free port> in its own thread."""

    def __init__(self, root: Path, *, config: ServerConfig | None = None, registry=None, executor=None,
                 validator=None, runtime=None) -> None:
        self.root = Path(root)
        self.runtime = runtime or StubRuntime(self.root)
        self.registry = registry or StubRegistry()
        self.executor = executor or StubExecutor(self.registry, self.runtime)
        # NORMAL sync: fast, and survives process death (the subprocess tests keep FULL).
        self.config = config or ServerConfig(db_synchronous="NORMAL")
        self.app = create_app(registry=self.registry, runtime=self.runtime, store_path=self.root / "queue.db",
                              config=self.config, executor=self.executor, validator=validator or stub_validate)
        self.state = self.app[STATE]
        self.loop = asyncio.new_event_loop()
        self.port = 0
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        if not ready.wait(10):
            raise RuntimeError("server did not start")
        self.url = f"http://127.0.0.1:{self.port}"

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.runner = web.AppRunner(self.app, access_log=None)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = self.runner.addresses[0][1]
        ready.set()
        self.loop.run_forever()

    def stop(self) -> None:
        if not self.loop.is_running():
            return
        future = asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop)
        future.result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    # ------------------------------------------------------------------ HTTP
    def request(self, method: str, path: str, body: Any = None, *, headers: dict | None = None,
                raw: bytes | None = None) -> tuple[int, dict, bytes]:
        """One HTTP request with full control of headers; body is sent as JSON unless `raw`."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = dict(headers or {})
        data = raw
        if data is None and body is not None:
            data = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        result = response.status, {k.lower(): v for k, v in response.getheaders()}, payload
        conn.close()
        return result

    def json(self, method: str, path: str, body: Any = None, **kw) -> tuple[int, Any]:
        status, _, payload = self.request(method, path, body, **kw)
        return status, (json.loads(payload) if payload.strip() else None)

    def queue_prompt(self, prompt: dict, **fields) -> dict:
        status, body = self.json("POST", "/prompt", {"prompt": prompt, **fields})
        assert status == 200, body
        return body

    def wait_done(self, prompt_id: str, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, body = self.json("GET", f"/history/{prompt_id}")
            if status == 200 and prompt_id in body:
                return body[prompt_id]
            time.sleep(0.02)
        raise AssertionError(f"prompt {prompt_id} did not finish in {timeout}s")

    def wait_running(self, prompt_id: str | None = None, timeout: float = 10) -> str:
        """The running prompt's id once one runs (with `prompt_id`: once that one runs; the prompt before it
        may still be ending after its history was written)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            running = self.state.worker.current_prompt_id
            if running and prompt_id in (None, running):
                return running
            time.sleep(0.01)
        raise AssertionError(f"{prompt_id or 'nothing'} started running")


def simple_prompt(value: int = 1, output: str = "Show") -> dict:
    return {"1": {"class_type": "Const", "inputs": {"value": value}},
            "2": {"class_type": output, "inputs": {"value": ["1", 0]}}}


def slow_prompt(value: int = 1, steps: int = 40, delay_ms: int = 50, preview: int = 0) -> dict:
    return {"1": {"class_type": "Const", "inputs": {"value": value}},
            "2": {"class_type": "Slow", "inputs": {"value": ["1", 0], "steps": steps, "delay_ms": delay_ms,
                                                   "preview": preview}},
            "3": {"class_type": "Show", "inputs": {"value": ["2", 0]}}}


async def collect_ws(url: str, client_id: str, until, *, timeout: float = 20, first_message: dict | None = None,
                     on_open=None) -> list:
    """Read messages until `until(messages)` is true; text frames parsed, binary kept as bytes."""
    messages: list = []
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{url}/ws?clientId={client_id}") as ws:
            if first_message is not None:
                await ws.send_str(json.dumps(first_message))
            if on_open is not None:
                await on_open()

            async def read() -> None:
                async for msg in ws:
                    if msg.type == aiohttp.WSMsgType.TEXT:
                        messages.append(json.loads(msg.data))
                    elif msg.type == aiohttp.WSMsgType.BINARY:
                        messages.append(msg.data)
                    if until(messages):
                        return

            await asyncio.wait_for(read(), timeout)
    return messages


def done_for(prompt_id: str):
    """`until` for collect_ws: the executing{node: null} of `prompt_id` arrived."""
    def check(messages):
        return any(isinstance(m, dict) and m["type"] == "executing" and m["data"].get("node") is None
                   and m["data"].get("prompt_id") == prompt_id for m in messages)
    return check
