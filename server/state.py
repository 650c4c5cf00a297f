"""The objects a request handler reaches through `request.app[STATE]`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .config import ServerConfig
from .log_relay import LogRelay
from .ports import FolderLayout, NodeLibrary, ServerRuntime
from .store import Store
from .worker import Worker
from .ws import Hub


@dataclass
class ServerState:
    config: ServerConfig
    registry: NodeLibrary
    runtime: ServerRuntime
    store: Store
    worker: Worker
    hub: Hub
    validate: Callable[..., Any]
    logs: LogRelay
    # False once shutdown began: POST /prompt then answers 503.
    accepting: bool = True

    @property
    def folders(self) -> FolderLayout:
        return self.runtime.folders


STATE = web.AppKey("latentgraph_state", ServerState)


def state_of(request: web.Request) -> ServerState:
    return request.app[STATE]
