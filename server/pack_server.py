"""`PromptServer`: the face of ComfyUI's server object that custom node packs use (`from server import PromptServer`).

Packs reach `PromptServer.instance` at import time (to add HTTP endpoints to `.routes`) and while
their nodes run (to `send_sync` events to the editor, or read `client_id`). So the instance exists
from the moment this module is imported, with no server behind it: `send_sync` is then a no-op
(`main.py run`). `create_app` binds it to the application it builds (`bind`): its WebSocket hub,
its event loop (once started) and its queue store, and mounts the pack routes, as-is and under
/api (`mount_routes`). It also wraps the worker's event publisher (`tracking`), which is how
`client_id`, `last_prompt_id` and `last_node_id` follow the prompt being run without touching the
worker: the worker calls the publisher on its own thread before each node runs.

One process holds one instance; with several applications in one process (tests), the one built
last is the one packs talk to.
"""

from __future__ import annotations

import asyncio
import io
import logging
import struct
from typing import TYPE_CHECKING, Any, ClassVar

from aiohttp import hdrs, web

from graph import events as ev
from graph.context import PreviewImage
from graph.node_replace import NODE_REPLACEMENTS

if TYPE_CHECKING:
    from collections.abc import Callable

    from .store import Store
    from .worker import Publisher
    from .ws import Hub

log = logging.getLogger("latentgraph.server.packs")


class BinaryEventTypes:
    """ComfyUI's binary WebSocket event numbers (the first uint32 of a frame)."""

    PREVIEW_IMAGE = 1
    UNENCODED_PREVIEW_IMAGE = 2
    TEXT = 3
    PREVIEW_IMAGE_WITH_METADATA = 4


class PromptQueueView:
    """The read side of ComfyUI's `PromptQueue` over the durable store (empty with no server)."""

    def __init__(self, store: Store | None = None) -> None:
        self._store = store

    def get_current_queue(self) -> tuple[list[list], list[list]]:
        """(running, pending) as ComfyUI's 5-element items [number, prompt_id, prompt, extra_data, outputs]."""
        if self._store is None:
            return [], []
        running, pending = self._store.queue()
        return [item.as_list() for item in running], [item.as_list() for item in pending]

    def get_current_queue_volatile(self) -> tuple[list[list], list[list]]:
        """ComfyUI's cheaper variant; the same here."""
        return self.get_current_queue()

    def get_tasks_remaining(self) -> int:
        """Running plus pending prompts."""
        return 0 if self._store is None else self._store.queue_remaining()


class TrackingPublisher:
    """The worker's publisher: records what is running on the PromptServer, then hands the event on."""

    def __init__(self, target: Publisher, server: PromptServer) -> None:
        self.target = target
        self.server = server

    def event(self, event: str, data: dict, client_id: str | None) -> None:
        self.server.observe(event, data, client_id)
        self.target.event(event, data, client_id)

    def status(self) -> None:
        self.target.status()


class PromptServer:
    """What packs use of ComfyUI's server; see the module docstring for when it is bound."""

    instance: ClassVar[PromptServer]

    def __init__(self) -> None:
        self.routes = web.RouteTableDef()
        self.app: web.Application | None = None
        self.prompt_queue = PromptQueueView()
        self.supports = ["custom_nodes_from_web"]
        self.node_replace_manager = NODE_REPLACEMENTS  # ComfyUI v0.46: packs may register() here directly
        self.on_prompt_handlers: list[Callable[[dict], dict]] = []
        self.client_id: str | None = None
        self.last_node_id: str | None = None
        self.last_prompt_id: str | None = None
        self._hub: Hub | None = None

    # ------------------------------------------------------------------ binding (create_app)
    def bind(self, app: web.Application, *, hub: Hub, store: Store) -> None:
        """Make `app` the server packs talk to; unbound again when that app is cleaned up."""
        self.app, self._hub, self.prompt_queue = app, hub, PromptQueueView(store)
        self.client_id = self.last_node_id = self.last_prompt_id = None
        app.on_cleanup.append(self._unbind_on_cleanup)

    async def _unbind_on_cleanup(self, app: web.Application) -> None:
        if self.app is app:
            self.app, self._hub, self.prompt_queue = None, None, PromptQueueView()

    def tracking(self, publisher: Publisher) -> TrackingPublisher:
        """`publisher` wrapped so that the events of the running prompt update client_id and the last ids."""
        return TrackingPublisher(publisher, self)

    def observe(self, event: str, data: dict, client_id: Any) -> None:
        """Follow the prompt being run (called on the worker thread, before the node it names runs)."""
        if event == ev.EXECUTION_START:
            self.client_id = client_id if isinstance(client_id, str) else None
            self.last_prompt_id = data.get("prompt_id")
            self.last_node_id = None
        elif event == ev.EXECUTING:
            self.last_node_id = data.get("node")

    def mount_routes(self, app: web.Application) -> list[str]:
        """Add the routes packs declared on `routes` to `app`, each also under /api (static folders only
        as-is, as ComfyUI). A method and path the server already serves keeps the server's handler; the
        pack's is skipped with a warning. Returns the paths mounted."""
        taken = {(route.method, route.resource.canonical) for route in app.router.routes() if route.resource}
        mounted = []
        for route in self.routes:
            try:
                if isinstance(route, web.StaticDef):
                    route.register(app.router)
                    mounted.append(route.prefix)
                    continue
                if not isinstance(route, web.RouteDef):
                    continue
                for path in (route.path, "/api" + route.path):
                    if (route.method, path) in taken or (hdrs.METH_ANY, path) in taken:
                        log.warning("custom node route %s %s is already served by the server; the pack's "
                                    "handler is not mounted", route.method, path)
                        continue
                    web.RouteDef(route.method, path, route.handler, route.kwargs).register(app.router)
                    taken.add((route.method, path))
                    mounted.append(path)
            except (ValueError, RuntimeError, TypeError) as exc:  # a malformed route is the pack's problem
                log.warning("custom node route %r not mounted: %s", route, exc)
        return mounted

    # ------------------------------------------------------------------ what packs call
    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The server's event loop (None before it starts, or with no server)."""
        return self._hub.loop if self._hub is not None else None

    @property
    def sockets(self) -> dict[str, web.WebSocketResponse]:
        """Open WebSockets by client id."""
        return {} if self._hub is None else {sid: client.ws for sid, client in self._hub.clients.items()}

    def get_queue_info(self) -> dict:
        return {"exec_info": {"queue_remaining": self.prompt_queue.get_tasks_remaining()}}

    def queue_updated(self) -> None:
        """Tell every client the queue size (ComfyUI's `status` broadcast)."""
        self.send_sync("status", {"status": self.get_queue_info()})

    def add_on_prompt_handler(self, handler: Callable[[dict], dict]) -> None:
        """`handler(json_data) -> json_data` runs on each POST /prompt body before it is checked."""
        self.on_prompt_handlers.append(handler)

    def trigger_on_prompt(self, json_data: dict) -> dict:
        """Run the on-prompt handlers in order; one that raises is logged and skipped (as ComfyUI)."""
        for handler in self.on_prompt_handlers:
            try:
                json_data = handler(json_data)
            except Exception:
                log.exception("an on-prompt handler of a custom node pack failed: %r", handler)
        return json_data

    def send_sync(self, event: str | int, data: Any, sid: str | None = None) -> None:
        """Send an event to client `sid` (all clients when None) from any thread; a no-op with no running
        server. JSON events arrive as {"type": event, "data": data}; see `_frame_for` for binary ones."""
        hub = self._hub
        loop = hub.loop if hub is not None else None
        if hub is None or loop is None or loop.is_closed():
            return
        try:
            delivery = self._prepare(event, data, sid)
        except Exception:  # a bad payload from a pack must not stop the node that sent it
            log.exception("custom node event %r could not be sent", event)
            return
        if delivery is None:
            return
        try:
            loop.call_soon_threadsafe(_deliver, hub, *delivery)
        except RuntimeError:  # the loop closed meanwhile: nobody is listening
            pass

    async def send(self, event: str | int, data: Any, sid: str | None = None) -> None:
        """`send_sync` for coroutines (on the server's loop or any other)."""
        self.send_sync(event, data, sid)

    async def send_json(self, event: str, data: Any, sid: str | None = None) -> None:
        self.send_sync(event, data, sid)

    async def send_bytes(self, event: int, data: bytes, sid: str | None = None) -> None:
        self.send_sync(event, bytes(data), sid)

    def send_progress_text(self, text: str, node_id: str, sid: str | None = None) -> None:
        """A node's progress text (binary type 3), as ComfyUI's editor shows under the node."""
        self.send_sync(ev.PROGRESS_TEXT, {"node_id": str(node_id), "text": str(text)}, sid)

    # ------------------------------------------------------------------ delivery
    def _prepare(self, event: str | int, data: Any, sid: str | None) -> tuple | None:
        """(kind, event, payload, sid) for `_deliver`, encoding images here, on the sender's thread."""
        if event == BinaryEventTypes.UNENCODED_PREVIEW_IMAGE:
            return "preview", ev.PREVIEW, self._preview(data, None), sid
        if event == BinaryEventTypes.PREVIEW_IMAGE_WITH_METADATA:
            image, metadata = data
            return "preview", ev.PREVIEW, self._preview(image, metadata if isinstance(metadata, dict) else None), sid
        if event == ev.PROGRESS_TEXT:
            return "dispatch", event, data, sid
        if isinstance(data, (bytes, bytearray, memoryview)):
            if not isinstance(event, int) or isinstance(event, bool):
                log.warning("custom node event %r carries bytes: binary events need an integer type "
                            "(BinaryEventTypes); not sent", event)
                return None
            return "frame", event, struct.pack(">I", event) + bytes(data), sid
        return "json", event, data, sid

    def _preview(self, image_data: Any, metadata: dict | None) -> dict:
        """ComfyUI's (format, PIL image, max_size) preview, encoded, with the node it belongs to."""
        fmt, image = str(image_data[0]).upper(), image_data[1]
        max_size = image_data[2] if len(image_data) > 2 else None
        if max_size:
            from PIL import Image, ImageOps

            image = ImageOps.contain(image, (int(max_size), int(max_size)), Image.Resampling.BILINEAR)
        fmt = "PNG" if fmt == "PNG" else "JPEG"
        buffer = io.BytesIO()
        (image.convert("RGB") if fmt == "JPEG" and image.mode not in ("RGB", "L") else image).save(
            buffer, format=fmt, quality=95, compress_level=1)
        metadata = metadata or {}
        return {"image": PreviewImage(fmt, buffer.getvalue()),
                "node_id": metadata.get("node_id") or self.last_node_id,
                "prompt_id": metadata.get("prompt_id") or self.last_prompt_id}


def _deliver(hub: Hub, kind: str, event: str | int, payload: Any, sid: str | None) -> None:
    """On the loop: hand one prepared event to the hub."""
    try:
        if kind == "json":
            hub.send(str(event), payload, sid)
        elif kind == "frame":
            targets = list(hub.clients.values()) if sid is None else [c for c in [hub.clients.get(sid)] if c]
            for client in targets:
                hub._offer(client, payload, droppable=False)  # the hub's own bounded queue and overflow rule
        else:  # previews and progress text: the hub's framing, per client capabilities
            hub.dispatch(str(event), payload, sid)
    except Exception:
        log.exception("custom node event %r could not be delivered", event)


PromptServer.instance = PromptServer()
