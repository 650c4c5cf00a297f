"""Custom node packs on the real server: the routes they add to `PromptServer.instance.routes`, the
events their nodes send with `send_sync`, and GET /packs (loaded, loaded with problems, failed)."""

from __future__ import annotations

import asyncio
import functools
import io
import struct

import pytest
import server_harness
from real_engine_harness import run_and_collect
from server_harness import LiveServer, collect_ws
from server_schema_check import problems

import graph.executor as executor_module
import graph.validate as validate
from nodes.api.plugins import load_custom_nodes
from nodes.api.registry import NodeRegistry
from nodes.api.runtime import NodeRuntime
from server.app import create_app
from server.openapi import document
from server.pack_server import PromptServer

MYPACK = '''
from aiohttp import web
from PIL import Image
from server import BinaryEventTypes, PromptServer

routes = PromptServer.instance.routes


@routes.get("/mypack/hello")
async def hello(request):
    return web.json_response({"hello": request.query.get("name", "world")})


@routes.get("/prompt")  # the server's own route: must keep the server's handler
async def steal(request):
    return web.json_response({"stolen": True})


class MyPackEvent:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"text": ("STRING", {"default": "hi"})}}

    RETURN_TYPES = ()
    FUNCTION = "run"
    OUTPUT_NODE = True
    CATEGORY = "mypack"

    def run(self, text):
        server = PromptServer.instance
        server.send_sync("mypack.event", {"text": text, "node": server.last_node_id,
                                          "prompt_id": server.last_prompt_id}, server.client_id)
        server.send_sync(42, b"raw bytes", server.client_id)
        server.send_sync(BinaryEventTypes.UNENCODED_PREVIEW_IMAGE,
                         ("PNG", Image.new("RGB", (64, 32), (255, 0, 0)), 16), server.client_id)
        return {}


NODE_CLASS_MAPPINGS = {"MyPackEvent": MyPackEvent}
'''

BROKEN_PACK = 'raise RuntimeError("boom at import")\n'

HALF_PACK = '''
class HalfGood:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {}}

    RETURN_TYPES = ("INT",)
    FUNCTION = "run"

    def run(self):
        return (1,)


NODE_CLASS_MAPPINGS = {"HalfGood": HalfGood, "MyPackEvent": HalfGood}
'''


@pytest.fixture
def pack_server(tmp_path, monkeypatch):
    """The real registry and executor over three packs, served with their plugin report."""
    monkeypatch.setattr(PromptServer, "instance", PromptServer())
    packs = tmp_path / "custom_nodes"
    (packs / "mypack").mkdir(parents=True)
    (packs / "mypack" / "__init__.py").write_text(MYPACK)
    (packs / "broken_pack.py").write_text(BROKEN_PACK)
    (packs / "zz_half_pack.py").write_text(HALF_PACK)  # loads after mypack: its MyPackEvent is refused
    runtime = NodeRuntime.for_directory(tmp_path)
    runtime.folders.ensure_dirs()
    registry = NodeRegistry()
    report = load_custom_nodes(registry, [packs], runtime)
    monkeypatch.setattr(server_harness, "create_app", functools.partial(create_app, packs=report))
    server = LiveServer(tmp_path, registry=registry, runtime=runtime,
                        executor=executor_module.Executor(registry, runtime=runtime),
                        validator=validate.validate_prompt)
    yield server
    server.stop()


def test_pack_routes_are_mounted_as_is_and_under_api(pack_server):
    assert pack_server.json("GET", "/mypack/hello?name=x") == (200, {"hello": "x"})
    assert pack_server.json("GET", "/api/mypack/hello") == (200, {"hello": "world"})
    for path in ("/prompt", "/api/prompt"):  # a clash keeps the server's route
        status, body = pack_server.json("GET", path)
        assert status == 200 and "exec_info" in body


def test_send_sync_from_a_running_node_reaches_its_client(pack_server):
    client_id = "pack-client"
    prompt = {"7": {"class_type": "MyPackEvent", "inputs": {"text": "hello"}}}
    prompt_id, messages = run_and_collect(pack_server, prompt, client_id)

    events = [m for m in messages if isinstance(m, dict)]
    types = [m["type"] for m in events]
    sent = events[types.index("mypack.event")]
    assert sent["data"] == {"text": "hello", "node": "7", "prompt_id": prompt_id}
    assert types.index("executing") < types.index("mypack.event") < types.index("execution_success")
    assert PromptServer.instance.client_id == client_id and PromptServer.instance.last_prompt_id == prompt_id

    frames = [m for m in messages if isinstance(m, bytes)]
    assert struct.pack(">I", 42) + b"raw bytes" in frames
    previews = [f for f in frames if struct.unpack(">I", f[:4])[0] == 1]
    assert len(previews) == 1 and struct.unpack(">I", previews[0][4:8])[0] == 2  # PNG
    from PIL import Image

    assert Image.open(io.BytesIO(previews[0][8:])).size == (16, 8)  # fitted into max_size, as ComfyUI


def test_packs_route_reports_loaded_refused_and_failed_packs(pack_server):
    status, body = pack_server.json("GET", "/api/packs")
    assert status == 200
    doc = document()
    assert problems(body, doc["paths"]["/packs"]["get"]["responses"]["200"]["content"]["application/json"]["schema"],
                    doc) == []
    packs = {entry["name"]: entry for entry in body["packs"]}
    assert list(packs) == ["broken_pack", "mypack", "zz_half_pack"]

    assert packs["mypack"]["status"] == "loaded" and packs["mypack"]["nodes"] == ["MyPackEvent"]
    assert packs["mypack"]["problems"] == [] and packs["mypack"]["error"] is None

    half = packs["zz_half_pack"]
    assert half["status"] == "loaded_with_problems" and half["nodes"] == ["HalfGood"]
    assert len(half["problems"]) == 1 and "MyPackEvent" in half["problems"][0]

    broken = packs["broken_pack"]
    assert broken["status"] == "failed" and broken["nodes"] == []
    assert broken["error"] == "RuntimeError: boom at import"
    assert "boom at import" in broken["traceback"] and broken["path"].endswith("broken_pack.py")
    assert pack_server.json("GET", "/packs")[1] == body


def test_packs_route_is_empty_without_a_report(live):
    assert live.json("GET", "/api/packs") == (200, {"packs": []})


def test_send_sync_outside_a_prompt_broadcasts_to_every_client(pack_server):
    """sid None: every open socket gets the event (ComfyUI), here sent from a non-loop thread."""
    async def both():
        def got(messages):
            return any(isinstance(m, dict) and m["type"] == "mypack.hello" for m in messages)

        async def send_when_open():
            while len(pack_server.state.hub.clients) < 2:
                await asyncio.sleep(0.01)
            await asyncio.get_running_loop().run_in_executor(
                None, PromptServer.instance.send_sync, "mypack.hello", {"n": 1}, None)

        return await asyncio.gather(collect_ws(pack_server.url, "a", got), collect_ws(pack_server.url, "b", got),
                                    send_when_open())

    first, second, _ = asyncio.run(both())
    for messages in (first, second):
        assert {"type": "mypack.hello", "data": {"n": 1}} in messages


def test_on_prompt_handlers_see_and_change_post_prompt(pack_server):
    """ComfyUI's add_on_prompt_handler: each handler gets the POST /prompt body and returns it (changed);
    one that raises is logged and skipped."""
    seen = []

    def rewrite(body):
        seen.append(body["client_id"])
        body["prompt"]["7"]["inputs"]["text"] = "rewritten"
        return body

    def broken(body):
        raise RuntimeError("a pack's handler failed")

    PromptServer.instance.add_on_prompt_handler(broken)
    PromptServer.instance.add_on_prompt_handler(rewrite)
    prompt = {"7": {"class_type": "MyPackEvent", "inputs": {"text": "original"}}}
    _, messages = run_and_collect(pack_server, prompt, "handler-client")
    sent = [m for m in messages if isinstance(m, dict) and m["type"] == "mypack.event"]
    assert seen == ["handler-client"] and sent[0]["data"]["text"] == "rewritten"
