"""End to end in Chromium: with the server started with --token, the editor opened once with
?token= keeps working (node types, WebSocket, queueing) through the cookie the server sets."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import running_server
from .editor_actions import add_node_by_search, clear_canvas, connect, node, queue

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def token_server(web_dist, tmp_path_factory):
    with running_server(web_dist, tmp_path_factory.mktemp("lg-token"), "--token", TOKEN) as url:
        yield url


def test_editor_works_with_an_access_token(browser, token_server):
    context = browser.new_context(viewport={"width": 1500, "height": 950})
    try:
        page = context.new_page()
        assert page.goto(token_server + "/").status == 401  # without the token: refused
        page.goto(f"{token_server}/?token={TOKEN}")
        page.wait_for_selector(".lg-app[data-ready='true']")
        page.wait_for_selector(".lg-dot.on")  # WebSocket connected
        clear_canvas(page)
        add_node_by_search(page, 300, 300, "string", "PrimitiveString")
        add_node_by_search(page, 700, 300, "preview text", "PreviewAny")
        node(page, "1").get_by_label("value").fill("with token")
        connect(page, "1", 0, "2", "source")
        queue(page)
        expect(node(page, "2").locator(".lg-output-text")).to_have_text("with token", timeout=20000)
    finally:
        context.close()
