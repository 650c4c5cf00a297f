"""Fixtures for the server tests: a live server on a free port with stub nodes."""

from __future__ import annotations

import pytest
from server_harness import LiveServer


@pytest.fixture
def live(tmp_path):
    server = LiveServer(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def make_live(tmp_path):
    """Factory for servers with custom config/registry; all are stopped at the end."""
    servers = []

    def make(**kw):
        root = kw.pop("root", tmp_path)
        server = LiveServer(root, **kw)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
