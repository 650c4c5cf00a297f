"""WebSocket hub: `/ws?clientId=`, event routing and bounded per-client send queues.

Each socket has its own send queue and sender task, so a slow or stalled client never delays
the others. Overflow policy: preview frames are dropped while the queue is more than half
full. A client is disconnected (close code 4008) when its queue holds `limit` messages and
the oldest has waited more than `stall_seconds` (it is not reading), or when the queue
reaches 4 x `limit` whatever the timing (hard memory bound). A disconnected client knows it
missed events; it reconnects and gets `status` and the current `executing` node.
Binary frames: previews (type 1, or 4 with metadata for clients that announced
`supports_preview_metadata`), the images of SaveImageWebsocket (framed the same, never dropped)
and node progress text (type 3).
Reconnecting with a clientId whose previous socket is still open is refused (close 4009), so a
second party that learns a clientId cannot take over a live client's events. At most `max_clients`
sockets are open at once; one more is refused with HTTP 503 before the upgrade.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import struct
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from graph import events as ev
from graph.context import PreviewImage

log = logging.getLogger("latentgraph.server.ws")

PREVIEW_IMAGE = 1
PROGRESS_TEXT = 3
PREVIEW_IMAGE_WITH_METADATA = 4
_IMAGE_FORMATS = {"JPEG": 1, "PNG": 2}
CLOSE_OVERFLOW = 4008
CLOSE_ID_IN_USE = 4009

# The pictures of an output node that sends its results as frames (SaveImageWebsocket; see
# server/worker.py): framed as previews, but never dropped.
OUTPUT_IMAGE = "output_image"
# ComfyUI sends these to every socket when the prompt has no client_id; others are dropped.
_BROADCAST_WITHOUT_CLIENT = {ev.PROGRESS, ev.EXECUTION_INTERRUPTED, ev.PREVIEW, ev.PROGRESS_TEXT, "progress_state",
                             OUTPUT_IMAGE}


class ClientConnection:
    """One socket and its bounded send queue."""

    def __init__(self, sid: str, ws: web.WebSocketResponse, limit: int, transport: Any = None,
                 stall_seconds: float = 5.0) -> None:
        self.sid = sid
        self.ws = ws
        self.transport = transport
        self.limit = limit
        self.stall_seconds = stall_seconds
        # (time queued, message)
        self.queue: deque[tuple[float, str | bytes]] = deque()
        self.ready = asyncio.Event()
        self.supports_preview_metadata = False
        self.got_first_message = False
        self.closed = False
        self.sent = 0
        self.dropped_previews = 0

    def offer(self, message: str | bytes, *, droppable: bool) -> bool:
        """Queue a message; False means the client overflowed and must be disconnected."""
        if self.closed:
            return True
        size = len(self.queue)
        if droppable and size >= self.limit // 2:
            self.dropped_previews += 1
            return True
        now = time.monotonic()
        if size >= 4 * self.limit or (size >= self.limit and now - self.queue[0][0] > self.stall_seconds):
            return False
        self.queue.append((now, message))
        self.ready.set()
        return True


class Hub:
    """Owns the sockets; all methods except the *_threadsafe ones run on the event loop."""

    def __init__(self, *, queue_limit: int = 512, queue_remaining: Callable[[], int] = lambda: 0,
                 paused: Callable[[], bool] = lambda: False, max_upload_bytes: int = 0, stall_seconds: float = 5.0,
                 max_clients: int = 256) -> None:
        self.clients: dict[str, ClientConnection] = {}
        self.max_clients = max_clients
        # Sockets being opened or open (counted before the upgrade, so a burst cannot overshoot).
        self.open_sockets = 0
        self.refused_full = 0
        self.queue_limit = queue_limit
        self.stall_seconds = stall_seconds
        self.queue_remaining = queue_remaining
        self.paused = paused
        self.max_upload_bytes = max_upload_bytes
        self.loop: asyncio.AbstractEventLoop | None = None
        # What is running now, for clients that reconnect mid-prompt.
        self.running_client: str | None = None
        self.running_prompt: str | None = None
        self.last_node: str | None = None
        self.overflow_disconnects = 0

    # ------------------------------------------------------------------ from the worker thread
    def event(self, event: str, data: dict, client_id: str | None) -> None:
        """Publisher.event: thread-safe."""
        self._call_soon(self.dispatch, event, data, client_id)

    def status(self) -> None:
        """Publisher.status: thread-safe broadcast of the queue size."""
        self._call_soon(self.broadcast_status)

    def _call_soon(self, callback, *args) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop closed meanwhile (shutdown): nobody is listening any more
            pass

    # ------------------------------------------------------------------ on the loop
    def exec_info(self) -> dict:
        """ComfyUI's exec_info, with our `"paused": true` added only while the queue is paused."""
        info = {"queue_remaining": self.queue_remaining()}
        if self.paused():
            info["paused"] = True
        return info

    def broadcast_status(self) -> None:
        self.send("status", {"status": {"exec_info": self.exec_info()}}, None)

    def dispatch(self, event: str, data: dict, client_id: str | None) -> None:
        """Route one executor event as ComfyUI does. A client id that is not a string (a row queued
        before POST /prompt checked it) is treated as no client, so the events still flow."""
        if client_id is not None and not isinstance(client_id, str):
            if event == ev.EXECUTION_START:
                log.warning("prompt %s has a client_id that is not a string (%s); its events are routed as "
                            "for a prompt without a client", data.get("prompt_id"), type(client_id).__name__)
            client_id = None
        self._track(event, data, client_id)
        if client_id is None and event not in _BROADCAST_WITHOUT_CLIENT:
            return
        if event in (ev.PREVIEW, OUTPUT_IMAGE):
            self._send_preview(data, client_id, droppable=event == ev.PREVIEW)
        elif event == ev.PROGRESS_TEXT:
            self._send_text(data, client_id)
        else:
            self.send(event, data, client_id)

    def _track(self, event: str, data: dict, client_id: str | None) -> None:
        if event == ev.EXECUTION_START:
            self.running_client, self.running_prompt, self.last_node = client_id, data.get("prompt_id"), None
        elif event == ev.EXECUTING:
            if data.get("node") is None:
                self.running_client = self.running_prompt = self.last_node = None
            else:
                self.last_node = data.get("node")

    def send(self, event: str, data: dict, sid: str | None) -> None:
        """Send a text event to one client (sid) or to all (None)."""
        message = json.dumps({"type": event, "data": data}, default=str)
        targets = list(self.clients.values()) if sid is None else [c for c in [self.clients.get(sid)] if c]
        for client in targets:
            self._offer(client, message, droppable=False)

    def _send_preview(self, data: dict, sid: str | None, *, droppable: bool = True) -> None:
        image = data.get("image")
        if not isinstance(image, PreviewImage):
            return
        fmt = image.format.upper()
        targets = list(self.clients.values()) if sid is None else [c for c in [self.clients.get(sid)] if c]
        for client in targets:
            if client.supports_preview_metadata:
                node = data.get("node_id") or data.get("node")
                meta = json.dumps({"node_id": node, "prompt_id": data.get("prompt_id"), "display_node_id": node,
                                   "parent_node_id": None, "real_node_id": node,
                                   "image_type": "image/png" if fmt == "PNG" else "image/jpeg"}).encode()
                frame = struct.pack(">II", PREVIEW_IMAGE_WITH_METADATA, len(meta)) + meta + image.data
            else:
                frame = struct.pack(">II", PREVIEW_IMAGE, _IMAGE_FORMATS.get(fmt, 1)) + image.data
            self._offer(client, frame, droppable=droppable)

    def _send_text(self, data: dict, sid: str | None) -> None:
        """A node's progress text as ComfyUI's binary type-3 frame (never dropped, like text events)."""
        frame = progress_text_frame(str(data.get("node_id") or ""), str(data.get("text") or ""))
        targets = list(self.clients.values()) if sid is None else [c for c in [self.clients.get(sid)] if c]
        for client in targets:
            self._offer(client, frame, droppable=False)

    def _offer(self, client: ClientConnection, message: str | bytes, *, droppable: bool) -> None:
        if not client.offer(message, droppable=droppable):
            self.overflow_disconnects += 1
            log.warning("WebSocket client %s is not reading; disconnecting it", client.sid)
            self._drop(client, CLOSE_OVERFLOW, "send queue overflow")

    def _drop(self, client: ClientConnection, code: int, reason: str) -> None:
        client.closed = True
        client.queue.clear()
        client.ready.set()
        if self.clients.get(client.sid) is client:
            del self.clients[client.sid]
        asyncio.ensure_future(_close_quickly(client, code, reason))

    async def close_all(self) -> None:
        for client in list(self.clients.values()):
            self._drop(client, 1001, "server shutting down")
        await asyncio.sleep(0)

    # ------------------------------------------------------------------ the route
    async def handle(self, request: web.Request) -> web.StreamResponse:
        """GET /ws: register the socket, send status (and the running node), read client messages."""
        self.loop = asyncio.get_running_loop()
        if self.open_sockets >= self.max_clients:
            self.refused_full += 1
            if self.refused_full == 1 or self.refused_full % 1000 == 0:
                log.warning("refusing a WebSocket: %d are open, the limit is %d (refused %d so far)",
                            self.open_sockets, self.max_clients, self.refused_full)
            return web.json_response(
                {"error": {"type": "too_many_connections", "message": f"The server already has {self.open_sockets} "
                           f"WebSocket connections, its limit; close one or try again later.", "details": "",
                           "extra_info": {"limit": self.max_clients}}}, status=503, headers={"Retry-After": "5"})
        self.open_sockets += 1
        try:
            return await self._serve(request)
        finally:
            self.open_sockets -= 1

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        """One socket from the upgrade to its close."""
        ws = web.WebSocketResponse(heartbeat=20, max_msg_size=1 << 20)
        await ws.prepare(request)
        sid = request.query.get("clientId") or uuid.uuid4().hex
        old = self.clients.get(sid)
        if old is not None and not old.ws.closed and not old.closed:
            await ws.close(code=CLOSE_ID_IN_USE, message=b"clientId in use by an open connection")
            return ws
        client = ClientConnection(sid, ws, self.queue_limit, request.transport, self.stall_seconds)
        self.clients[sid] = client
        sender = asyncio.ensure_future(self._sender(client))
        try:
            self.send("status", {"status": {"exec_info": self.exec_info()}, "sid": sid}, sid)
            if self.running_client == sid and self.last_node is not None:
                self.send(ev.EXECUTING, {"node": self.last_node, "display_node": self.last_node,
                                         "prompt_id": self.running_prompt}, sid)
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_text(client, msg.data)
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            client.closed = True
            client.ready.set()
            if self.clients.get(sid) is client:
                del self.clients[sid]
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender
        return ws

    def _on_text(self, client: ClientConnection, text: str) -> None:
        """Only the first message counts, and only if it is a feature_flags message."""
        if client.got_first_message:
            return
        client.got_first_message = True
        try:
            message = json.loads(text)
        except (ValueError, RecursionError):  # not JSON, or nested too deep for the decoder
            return
        if not isinstance(message, dict) or message.get("type") != "feature_flags":
            return
        flags = message.get("data")
        if isinstance(flags, dict):
            client.supports_preview_metadata = flags.get("supports_preview_metadata") is True
        self.send("feature_flags", server_feature_flags(self.max_upload_bytes), client.sid)

    async def _sender(self, client: ClientConnection) -> None:
        while not client.closed:
            if not client.queue:
                client.ready.clear()
                await client.ready.wait()
                continue
            _, message = client.queue.popleft()
            try:
                if isinstance(message, bytes):
                    await client.ws.send_bytes(message)
                else:
                    await client.ws.send_str(message)
                client.sent += 1
            except (ConnectionError, RuntimeError):
                client.closed = True


def progress_text_frame(node_id: str, text: str) -> bytes:
    """`uint32 BE 3` + `uint32 BE len(node_id bytes)` + node_id + text, both UTF-8 (ComfyUI's type 3)."""
    node = node_id.encode("utf-8", "replace")
    return struct.pack(">II", PROGRESS_TEXT, len(node)) + node + text.encode("utf-8", "replace")


def server_feature_flags(max_upload_bytes: int) -> dict[str, Any]:
    """ComfyUI's server feature flags (sent on the WS handshake and at GET /features)."""
    return {"supports_preview_metadata": True, "max_upload_size": max_upload_bytes,
            "extension": {"manager": {"supports_v4": True}}}


async def _close_quickly(client: ClientConnection, code: int, reason: str) -> None:
    """Close a socket without waiting long on a peer that does not read."""
    try:
        await asyncio.wait_for(client.ws.close(code=code, message=reason.encode()), timeout=1.0)
    except (asyncio.TimeoutError, ConnectionError, RuntimeError):
        if client.transport is not None and not client.transport.is_closing():
            client.transport.abort()
