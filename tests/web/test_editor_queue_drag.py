"""End to end in Chromium: pending prompts in the queue panel are reordered by dragging a row (a line
marks the drop gap; below the last row is the back), and a move the server refuses shows its reason
and puts the panel back in the server's order."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from .conftest import ARTIFACTS
from .editor_actions import open_count_workflow_and_queue_panel


def _server_order(page, server_url) -> list[str]:
    return [item[1] for item in page.request.get(server_url + "/queue").json()["queue_pending"]]


def _press(page, row) -> None:
    """The pointer down on a row's label (its buttons do not start a drag)."""
    box = row.locator("span").first.bounding_box()
    page.mouse.move(box["x"] + 10, box["y"] + box["height"] / 2)
    page.mouse.down()


def _point_at(page, row, fraction: float) -> None:
    """The pressed pointer over `row`, `fraction` of its height down (under 0.5: the gap before it)."""
    box = row.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] * fraction, steps=4)


def test_queue_panel_drag_reorders_pending_prompts(page, server_url, tmp_path):
    panel = open_count_workflow_and_queue_panel(page, tmp_path)
    rows = panel.locator(".lg-queue-item.pending")
    line = panel.get_by_test_id("queue-drop-line")
    try:
        panel.get_by_role("button", name="Pause").click()
        expect(panel.get_by_role("button", name="Resume")).to_be_visible()
        page.get_by_label("batch count").fill("3")
        page.get_by_role("button", name="Queue", exact=True).click()
        expect(rows).to_have_count(3, timeout=10000)
        a, b, c = (rows.nth(i).get_attribute("data-prompt-id") for i in range(3))

        # the last row onto the top half of the first: before it
        _press(page, rows.nth(2))
        _point_at(page, rows.nth(0), 0.2)
        expect(line).to_be_visible()
        expect(line).to_have_attribute("data-gap", "0")
        panel.screenshot(path=str(ARTIFACTS / "web-queue-drag-line.png"))
        page.mouse.up()
        expect(line).to_have_count(0)
        expect(rows.first).to_have_attribute("data-prompt-id", c)
        assert _server_order(page, server_url) == [c, a, b]
        assert page.request.get(server_url + "/queue").json()["queue_running"] == []  # paused

        # next to itself there is no line, and a drop there sends nothing
        _press(page, rows.nth(1))
        _point_at(page, rows.nth(1), 0.8)
        expect(line).to_have_count(0)
        page.mouse.up()

        # the first row below the last: to the back
        _press(page, rows.nth(0))
        last = rows.nth(2).bounding_box()
        page.mouse.move(last["x"] + 20, last["y"] + last["height"] + 12, steps=4)
        expect(line).to_have_attribute("data-gap", "3")
        page.mouse.up()
        expect(rows.last).to_have_attribute("data-prompt-id", c)
        assert _server_order(page, server_url) == [a, b, c]

        # Escape drops nothing
        _press(page, rows.nth(2))
        _point_at(page, rows.nth(0), 0.2)
        expect(line).to_be_visible()
        page.keyboard.press("Escape")
        expect(line).to_have_count(0)
        page.mouse.up()
        assert _server_order(page, server_url) == [a, b, c]

        # a refused move: the request is altered on its way to ask for b before itself
        def before_itself(route):
            body = route.request.post_data_json or {}
            if "move" in body:
                body["move"] = {"prompt_id": body["move"]["prompt_id"], "before": body["move"]["prompt_id"]}
            route.continue_(post_data=json.dumps(body))

        page.route("**/queue", lambda route: before_itself(route) if route.request.method == "POST" else route.continue_())
        _press(page, rows.nth(1))
        _point_at(page, rows.nth(0), 0.2)
        page.mouse.up()
        expect(page.get_by_role("alert")).to_contain_text("A prompt cannot be moved before itself.")
        expect(rows.nth(0)).to_have_attribute("data-prompt-id", a)
        expect(rows.nth(1)).to_have_attribute("data-prompt-id", b)
        page.unroute("**/queue")
        assert _server_order(page, server_url) == [a, b, c]
    finally:  # the server is shared by the session's other tests
        page.request.post(server_url + "/queue", data={"clear": True, "resume": True})
