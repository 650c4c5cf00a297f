"""End to end in Chromium: the queue panel pauses the queue, reorders two pending prompts and resumes."""

from __future__ import annotations

from playwright.sync_api import expect

from .conftest import ARTIFACTS
from .editor_actions import open_count_workflow_and_queue_panel


def test_queue_panel_pause_reorder_resume(page, server_url, tmp_path):
    panel = open_count_workflow_and_queue_panel(page, tmp_path)
    try:
        panel.get_by_role("button", name="Pause").click()
        expect(panel.get_by_role("button", name="Resume")).to_be_visible()
        assert page.request.get(server_url + "/queue").json()["paused"] is True

        page.get_by_label("batch count").fill("2")
        page.get_by_role("button", name="Queue", exact=True).click()
        pending = panel.locator(".lg-queue-item.pending")
        expect(pending).to_have_count(2, timeout=10000)
        first, second = (pending.nth(i).get_attribute("data-prompt-id") for i in range(2))
        expect(pending.first.get_by_role("button", name="Move up")).to_be_disabled()

        pending.nth(1).get_by_role("button", name="Move to front").click()
        expect(pending.first).to_have_attribute("data-prompt-id", second)
        queue = page.request.get(server_url + "/queue").json()
        assert [item[1] for item in queue["queue_pending"]] == [second, first]
        assert queue["queue_running"] == []  # paused: nothing started
        panel.screenshot(path=str(ARTIFACTS / "web-queue-paused-reordered.png"))

        pending.first.get_by_role("button", name="Move down").click()
        expect(pending.first).to_have_attribute("data-prompt-id", first)

        panel.get_by_role("button", name="Resume").click()
        expect(pending).to_have_count(0, timeout=20000)
        expect(panel.get_by_role("button", name="Pause")).to_be_visible()
    finally:  # the server is shared by the session's other tests
        page.request.post(server_url + "/queue", data={"resume": True})
