"""End to end in Chromium: the executing node is highlighted with a progress bar, batch count
queues several prompts, Cancel interrupts the run."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from .editor_actions import count_workflow, node, open_workflow_file


def test_progress_highlight_and_cancel(page, tmp_path):
    path = tmp_path / "count.json"
    path.write_text(json.dumps(count_workflow(2000, 0.05)))
    open_workflow_file(page, path)
    expect(page.locator(".react-flow__node")).to_have_count(2)
    page.get_by_role("button", name="Queue", exact=True).click()
    counter = node(page, "1").locator(".lg-node")
    expect(counter).to_have_class(re.compile(r"\bexecuting\b"), timeout=20000)
    expect(counter.get_by_role("progressbar")).to_have_attribute("aria-valuemax", "2000")
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("alert").or_(page.get_by_role("status"))).to_contain_text("interrupted", timeout=20000)
    expect(counter).not_to_have_class(re.compile(r"\bexecuting\b"), timeout=20000)


def test_batch_count_queues_several_runs(page, server_url, tmp_path):
    page.request.post(server_url + "/history", data={"clear": True})
    path = tmp_path / "count.json"
    path.write_text(json.dumps(count_workflow(3, 0.0)))
    open_workflow_file(page, path)
    page.get_by_label("batch count").fill("3")
    page.get_by_role("button", name="Queue", exact=True).click()
    page.get_by_role("button", name="Queue & history").click()
    history = page.locator(".lg-history-item")
    expect(history).to_have_count(3, timeout=20000)
    expect(node(page, "2").locator(".lg-output-text")).to_have_text("3")
    history.first.get_by_role("button", name="Delete").click()
    expect(history).to_have_count(2)
    page.get_by_role("button", name="Clear history").click()
    expect(history).to_have_count(0)
    assert page.request.get(server_url + "/history").json() == {}
