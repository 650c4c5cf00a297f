"""A live server over the real engine (app.runtime, nodes.api.registry, graph.executor and
graph.validate), optionally with extra declared test nodes such as SayLines; plus WS helpers."""

from __future__ import annotations

import asyncio
import struct
import uuid
from pathlib import Path
from typing import Any

from server_harness import LiveServer, collect_ws, done_for

import graph.executor as executor_module
import graph.validate as validate
import nodes.api.runtime as runtime_module
import nodes.build as registry_module
from nodes.api.declare import DeclaredNodeType, Node, Out, String


class SayLines(Node):
    """Sends each `|`-separated part of `text` as progress text, then returns the text."""

    node_id = "TestSayLines"
    inputs = [String("text", default="")]
    outputs = [Out("STRING")]

    @classmethod
    def run(cls, ctx: Any, *, text: str) -> tuple:
        for line in text.split("|"):
            ctx.progress_text(line)
        return (text,)


def real_server(root: Path, extra_nodes=(), config=None) -> LiveServer:
    """The server of `python main.py` on a free port, its folders under `root`."""
    runtime = runtime_module.NodeRuntime.for_directory(root)
    runtime.folders.ensure_dirs()
    registry, _ = registry_module.build_registry(runtime, [])
    for node_cls in extra_nodes:
        registry.register(DeclaredNodeType(node_cls, runtime), source="tests")
    return LiveServer(root, registry=registry, runtime=runtime, config=config,
                      executor=executor_module.Executor(registry, runtime=runtime),
                      validator=validate.validate_prompt)


def run_and_collect(server: LiveServer, prompt: dict, client_id: str, *, queue_client_id: str | None = "same",
                    first_message: dict | None = None) -> tuple[str, list]:
    """Queue `prompt` once the socket of `client_id` is open; every message until the prompt is done.

    `queue_client_id="same"` queues with `client_id`; None queues without any client_id, another
    string with that one (the socket then only sees broadcast events, so the wait ends on the
    history entry and a marker message sent after it).
    """
    accepted: dict = {}
    queued_as = client_id if queue_client_id == "same" else queue_client_id

    async def submit():
        fields = {"client_id": queued_as} if queued_as is not None else {}
        accepted.update(await asyncio.get_running_loop().run_in_executor(
            None, lambda: server.queue_prompt(prompt, **fields)))

    marker = {"type": "test_marker", "data": {"id": uuid.uuid4().hex}}
    marker_sent: list[bool] = []

    def finished(messages) -> bool:
        if not accepted:
            return False
        if queued_as == client_id:
            return done_for(accepted["prompt_id"])(messages)
        # Another socket's prompt (or none's) sends this one no executing{null}. Once its history
        # entry exists, every event it published is already queued on the loop: a marker sent now
        # reaches this socket after all of them.
        if marker_sent:
            if messages[-1] == marker:
                messages.pop()
                return True
            return False
        status, body = server.json("GET", f"/history/{accepted['prompt_id']}")
        if status == 200 and accepted["prompt_id"] in body:
            marker_sent.append(True)
            server.loop.call_soon_threadsafe(server.state.hub.send, marker["type"], marker["data"], client_id)
        return False

    messages = asyncio.run(collect_ws(server.url, client_id, finished, on_open=submit, first_message=first_message))
    return accepted["prompt_id"], messages


def text_frames(messages: list) -> list[tuple[str, str]]:
    """(node_id, text) of every binary type-3 frame, decoded as ComfyUI's editor does."""
    found = []
    for message in messages:
        if isinstance(message, bytes) and struct.unpack(">I", message[:4])[0] == 3:
            (length,) = struct.unpack(">I", message[4:8])
            found.append((message[8:8 + length].decode("utf-8"), message[8 + length:].decode("utf-8")))
    return found
