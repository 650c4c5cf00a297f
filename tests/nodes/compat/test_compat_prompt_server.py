"""ComfyUI's `server.PromptServer` as packs see it with no server running (`main.py run`, import time):
it exists, collects routes, runs on-prompt handlers, follows the running prompt, and sending is a no-op.
The same facade on a live server: tests/server/test_server_packs.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web

from server.pack_server import BinaryEventTypes, PromptServer, TrackingPublisher

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def prompt_server(monkeypatch):
    fresh = PromptServer()
    monkeypatch.setattr(PromptServer, "instance", fresh)
    return fresh


def test_packs_import_the_facade_under_comfyuis_module_name():
    import server

    assert server.PromptServer is PromptServer and server.BinaryEventTypes is BinaryEventTypes
    assert isinstance(server.PromptServer.instance, PromptServer)
    assert "PromptServer" in dir(server)
    assert (BinaryEventTypes.PREVIEW_IMAGE, BinaryEventTypes.UNENCODED_PREVIEW_IMAGE, BinaryEventTypes.TEXT,
            BinaryEventTypes.PREVIEW_IMAGE_WITH_METADATA) == (1, 2, 3, 4)
    with pytest.raises(AttributeError, match="NoSuchName"):
        server.NoSuchName  # noqa: B018


def test_importing_server_alone_stays_cheap():
    code = ("import sys, server; print('aiohttp' in sys.modules, 'server.pack_server' in sys.modules);"
            "from server import PromptServer; print(PromptServer.instance.client_id)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "None"]


def test_without_a_server_sending_is_a_no_op(prompt_server):
    assert prompt_server.app is None and prompt_server.loop is None and prompt_server.sockets == {}
    prompt_server.send_sync("mypack.event", {"x": 1})
    prompt_server.send_sync("mypack.event", {"x": 1}, "some-client")
    prompt_server.send_sync(BinaryEventTypes.PREVIEW_IMAGE, b"\x00\x00\x00\x01jpeg")
    prompt_server.send_progress_text("working", "3")
    prompt_server.queue_updated()
    assert prompt_server.prompt_queue.get_current_queue() == ([], [])
    assert prompt_server.prompt_queue.get_tasks_remaining() == 0
    assert prompt_server.get_queue_info() == {"exec_info": {"queue_remaining": 0}}


def test_routes_collect_what_packs_declare_at_import(prompt_server):
    @PromptServer.instance.routes.get("/mypack/hello")
    async def hello(request):
        return web.json_response({})

    @PromptServer.instance.routes.post("/mypack/echo")
    async def echo(request):
        return web.json_response({})

    assert [(r.method, r.path) for r in prompt_server.routes] == [("GET", "/mypack/hello"), ("POST", "/mypack/echo")]
    app = web.Application()
    assert prompt_server.mount_routes(app) == ["/mypack/hello", "/api/mypack/hello", "/mypack/echo",
                                               "/api/mypack/echo"]


def test_mounting_keeps_a_route_the_server_already_has(prompt_server, caplog):
    async def server_handler(request):
        return web.Response()

    @prompt_server.routes.get("/prompt")
    async def pack_handler(request):
        return web.Response()

    app = web.Application()
    app.router.add_get("/prompt", server_handler)
    assert prompt_server.mount_routes(app) == ["/api/prompt"]
    assert "already served" in caplog.text


def test_on_prompt_handlers_run_in_order_and_a_failing_one_is_skipped(prompt_server, caplog):
    def add_tag(data):
        return {**data, "tags": [*data.get("tags", []), "first"]}

    def broken(data):
        raise ValueError("handler bug")

    def add_second(data):
        data["tags"].append("second")
        return data

    for handler in (add_tag, broken, add_second):
        prompt_server.add_on_prompt_handler(handler)
    assert prompt_server.trigger_on_prompt({"prompt": {}}) == {"prompt": {}, "tags": ["first", "second"]}
    assert "handler bug" in caplog.text


class RecordingPublisher:
    def __init__(self) -> None:
        self.seen: list = []

    def event(self, event, data, client_id):
        self.seen.append((event, data, client_id))

    def status(self):
        self.seen.append("status")


def test_the_tracking_publisher_follows_the_running_prompt(prompt_server):
    target = RecordingPublisher()
    publisher = prompt_server.tracking(target)
    assert isinstance(publisher, TrackingPublisher)
    publisher.event("execution_start", {"prompt_id": "p1"}, "client-a")
    assert (prompt_server.client_id, prompt_server.last_prompt_id, prompt_server.last_node_id) == ("client-a", "p1",
                                                                                                    None)
    publisher.event("executing", {"node": "5", "prompt_id": "p1"}, "client-a")
    assert prompt_server.last_node_id == "5"
    publisher.event("executing", {"node": None, "prompt_id": "p1"}, "client-a")
    assert prompt_server.last_node_id is None and prompt_server.client_id == "client-a"
    publisher.status()
    publisher.event("execution_start", {"prompt_id": "p2"}, 12)  # not a string: no client, as the hub routes it
    assert prompt_server.client_id is None and prompt_server.last_prompt_id == "p2"
    assert [item if item == "status" else item[0] for item in target.seen] == [
        "execution_start", "executing", "executing", "status", "execution_start"]


def test_packs_reach_the_node_replacement_registry_through_the_server_instance():
    """ComfyUI v0.46 packs may call `PromptServer.instance.node_replace_manager.register(...)` directly."""
    from graph.node_replace import NODE_REPLACEMENTS
    assert PromptServer.instance.node_replace_manager is NODE_REPLACEMENTS
