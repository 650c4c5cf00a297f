"""WebSocket behaviour: previews, feature flags, reconnects (F15), stalled clients (F16), B23, B24."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import time
import uuid

import aiohttp
from server_harness import done_for, slow_prompt

from server.config import ServerConfig


async def submit(live, prompt, **fields):
    return await asyncio.get_running_loop().run_in_executor(None, lambda: live.queue_prompt(prompt, **fields))


async def read_until(ws, until, timeout=20):
    messages = []

    async def read():
        async for msg in ws:
            messages.append(json.loads(msg.data) if msg.type == aiohttp.WSMsgType.TEXT else msg.data)
            if until(messages):
                return

    await asyncio.wait_for(read(), timeout)
    return messages


def test_preview_frames_type1_when_asked_and_type4_after_feature_flags(live):
    async def run(flags: bool):
        cid = uuid.uuid4().hex
        async with aiohttp.ClientSession() as session, session.ws_connect(f"{live.url}/ws?clientId={cid}") as ws:
            await read_until(ws, lambda m: m[-1]["type"] == "status")
            if flags:
                await ws.send_str(json.dumps({"type": "feature_flags", "data": {"supports_preview_metadata": True}}))
                reply = await read_until(ws, lambda m: m[-1]["type"] == "feature_flags")
                assert reply[-1]["data"]["supports_preview_metadata"] is True
            accepted = await submit(live, slow_prompt(value=int(flags), steps=3, delay_ms=1, preview=1), client_id=cid,
                                    extra_data={"preview_method": "auto"})
            return accepted["prompt_id"], await read_until(ws, done_for(accepted["prompt_id"]))

    pid, messages = asyncio.run(run(False))
    frames = [m for m in messages if isinstance(m, bytes)]
    assert len(frames) == 3
    assert all(struct.unpack(">II", f[:8]) == (1, 1) and f[8:10] == b"\xff\xd8" for f in frames)
    progress = [m["data"] for m in messages if isinstance(m, dict) and m["type"] == "progress"]
    assert [(p["value"], p["max"], p["node"], p["prompt_id"]) for p in progress] == [(i, 3, "2", pid) for i in (1, 2, 3)]

    pid, messages = asyncio.run(run(True))
    frames = [m for m in messages if isinstance(m, bytes)]
    assert len(frames) == 3
    kind, length = struct.unpack(">II", frames[0][:8])
    meta = json.loads(frames[0][8:8 + length])
    assert kind == 4 and meta["node_id"] == "2" and meta["prompt_id"] == pid and meta["image_type"] == "image/jpeg"
    assert frames[0][8 + length:8 + length + 2] == b"\xff\xd8"


def test_f15_reconnect_mid_prompt_gets_status_and_current_node(live):
    cid = uuid.uuid4().hex

    async def run():
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"{live.url}/ws?clientId={cid}") as ws:
                accepted = await submit(live, slow_prompt(steps=60, delay_ms=10, preview=1), client_id=cid)
                await read_until(ws, lambda m: isinstance(m[-1], dict) and m[-1]["type"] == "progress")
            # Disconnected mid-prompt; execution goes on. Reconnect with the same id.
            async with session.ws_connect(f"{live.url}/ws?clientId={cid}") as ws:
                messages = await read_until(ws, done_for(accepted["prompt_id"]))
        return accepted["prompt_id"], messages

    pid, messages = asyncio.run(run())
    assert messages[0]["type"] == "status" and messages[0]["data"]["sid"] == cid
    assert messages[1] == {"type": "executing", "data": {"node": "2", "display_node": "2", "prompt_id": pid}}
    assert live.wait_done(pid)["status"]["status_str"] == "success"


def _raw_ws_connect(port: int, client_id: str) -> socket.socket:
    """A WebSocket handshake on a plain socket that will never be read from again."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /ws?clientId={client_id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)
    assert b" 101 " in response.split(b"\r\n")[0]
    return sock


def test_f16_stalled_clients_never_delay_others_and_are_disconnected(make_live):
    live = make_live(config=ServerConfig(ws_queue_limit=256, ws_stall_seconds=3.0))  # dropped by the 4x hard cap
    stalled = [_raw_ws_connect(live.port, f"stalled-{i}") for i in range(3)]
    hub = live.state.hub
    big = {"blob": "x" * 20000}
    count = 2000

    async def run():
        cid = uuid.uuid4().hex
        async with aiohttp.ClientSession() as session, session.ws_connect(f"{live.url}/ws?clientId={cid}") as ws:
            await read_until(ws, lambda m: m[-1]["type"] == "status")
            started = time.monotonic()

            async def produce():
                for i in range(count):
                    live.loop.call_soon_threadsafe(hub.send, "blob", {"i": i, **big}, None)
                    if i % 50 == 49:
                        await asyncio.sleep(0.02)

            producer = asyncio.ensure_future(produce())
            messages = await read_until(ws, lambda m: m[-1]["type"] == "blob" and m[-1]["data"]["i"] == count - 1,
                                        timeout=30)
            await producer
            return messages, time.monotonic() - started

    messages, _elapsed = asyncio.run(run())
    assert [m["data"]["i"] for m in messages] == list(range(count))  # nothing lost for the reader
    assert hub.overflow_disconnects == 3
    assert not any(cid.startswith("stalled") for cid in hub.clients)
    assert all(len(c.queue) <= hub.queue_limit for c in hub.clients.values())
    for sock in stalled:
        sock.close()


def test_b23_junk_messages_are_ignored_and_the_server_stays_up(live):
    async def run():
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"{live.url}/ws?clientId=junk") as ws:
                await ws.send_str("{not json")
                await ws.send_bytes(b"\x00\x01binary")
                for i in range(1000):
                    await ws.send_str(json.dumps({"type": "feature_flags", "data": {"i": i}}))
                await ws.send_str("[]")
            async with session.ws_connect(f"{live.url}/ws?clientId=huge") as ws:
                await ws.send_str("x" * (2 << 20))
                msg = await ws.receive()
                while msg.type == aiohttp.WSMsgType.TEXT:
                    msg = await ws.receive()
                return msg.type, ws.close_code

    kind, code = asyncio.run(run())
    assert kind in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    assert code == 1009  # message too big
    pid = live.queue_prompt(slow_prompt(steps=1, delay_ms=1))["prompt_id"]
    assert live.wait_done(pid)["status"]["status_str"] == "success"


def test_b24_an_open_client_id_cannot_be_taken_over(live):
    cid = uuid.uuid4().hex

    async def run():
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"{live.url}/ws?clientId={cid}") as owner:
                await read_until(owner, lambda m: m[-1]["type"] == "status")
                async with session.ws_connect(f"{live.url}/ws?clientId={cid}") as intruder:
                    msg = await intruder.receive()
                    assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4009
                accepted = await submit(live, slow_prompt(steps=2, delay_ms=1), client_id=cid)
                messages = await read_until(owner, done_for(accepted["prompt_id"]))
                return [m["type"] for m in messages]

    types = asyncio.run(run())
    assert "execution_start" in types and "execution_success" in types


def test_send_queue_policy_drops_previews_then_disconnects_stalled_clients():
    from server.ws import ClientConnection

    async def run():
        client = ClientConnection("c", ws=None, limit=4, stall_seconds=10.0)
        assert all(client.offer(f"m{i}", droppable=False) for i in range(2))
        assert client.offer(b"preview", droppable=True) and client.dropped_previews == 1  # half full: dropped
        assert client.offer("m2", droppable=False) and client.offer("m3", droppable=False)
        assert client.offer("m4", droppable=False)  # full, but the oldest is fresh: a burst, kept
        client.queue[0] = (client.queue[0][0] - 60, client.queue[0][1])
        assert client.offer("m5", droppable=False) is False  # full and stalled: disconnect
        burst = ClientConnection("b", ws=None, limit=4, stall_seconds=1e9)
        assert all(burst.offer(str(i), droppable=False) for i in range(16))
        assert burst.offer("16", droppable=False) is False  # 4 x limit: disconnect whatever the timing

    asyncio.run(run())
