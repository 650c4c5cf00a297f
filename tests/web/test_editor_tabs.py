"""End to end in Chromium: several workflows open as tabs. Each tab keeps its own graph, undo
history and view; a new tab starts from the default workflow; closing a changed tab asks first."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from .editor_actions import add_node_by_search, clear_canvas, count_workflow, open_workflow_file

TABS = "[role='tablist'] [role='tab']"


def _zoom(page) -> float:
    transform = page.locator(".react-flow__viewport").evaluate("el => getComputedStyle(el).transform")
    return float(transform.split("(")[1].split(",")[0])  # matrix(scale, 0, 0, scale, x, y)


def test_tabs_keep_graph_history_and_view_and_ask_before_closing_unsaved(page, tmp_path):
    tabs = page.locator(TABS)
    nodes = page.locator(".react-flow__node")
    # Tab 1: the count workflow, opened from a file; then one node added (unsaved).
    path = tmp_path / "count.json"
    path.write_text(json.dumps(count_workflow(3, 0.0)))
    open_workflow_file(page, path)
    expect(tabs).to_have_count(1)
    expect(tabs.first).to_contain_text("count.json")
    expect(nodes).to_have_count(2)
    add_node_by_search(page, 700, 500, "preview text", "PreviewAny")
    expect(nodes).to_have_count(3)
    expect(tabs.first).to_have_attribute("data-dirty", "true")
    page.mouse.move(600, 400)
    page.mouse.wheel(0, 400)  # zoom out: the tab should come back with this view
    page.wait_for_timeout(300)
    zoom1 = _zoom(page)

    # Tab 2: new tab with the default workflow, then cleared to an empty canvas.
    page.get_by_role("button", name="new tab").click()
    expect(tabs).to_have_count(2)
    expect(tabs.nth(1)).to_have_attribute("aria-selected", "true")
    expect(tabs.nth(1)).to_contain_text("Untitled")
    expect(nodes).to_have_count(7)
    clear_canvas(page)
    expect(nodes).to_have_count(0)

    # Back to tab 1: its three nodes, its view and its undo history (undo removes the added node).
    tabs.first.click()
    expect(nodes).to_have_count(3)
    page.wait_for_timeout(200)
    assert abs(_zoom(page) - zoom1) < 1e-3
    page.keyboard.press("Control+z")
    expect(nodes).to_have_count(2)
    # Tab 2 kept its own history: undo there brings the default graph back.
    tabs.nth(1).click()
    expect(nodes).to_have_count(0)
    page.keyboard.press("Control+z")
    expect(nodes).to_have_count(7)

    # Closing a changed tab asks; dismissing keeps it, accepting closes it and its neighbour shows.
    expect(tabs.nth(1)).to_have_attribute("data-dirty", "true")
    page.once("dialog", lambda d: d.dismiss())
    tabs.nth(1).get_by_role("button", name="close").click()
    expect(tabs).to_have_count(2)
    messages: list[str] = []
    page.once("dialog", lambda d: (messages.append(d.message), d.accept()))
    tabs.nth(1).get_by_role("button", name="close").click()
    expect(tabs).to_have_count(1)
    assert "unsaved changes" in messages[0]
    expect(tabs.first).to_have_attribute("aria-selected", "true")
    expect(nodes).to_have_count(2)


def test_closing_the_last_saved_tab_opens_a_fresh_one(page):
    tabs = page.locator(TABS)
    expect(tabs).to_have_count(1)
    page.get_by_role("button", name="new tab").click()
    expect(tabs).to_have_count(2)
    # A fresh tab has no unsaved changes: it closes without a question.
    asked: list[str] = []
    page.on("dialog", lambda d: (asked.append(d.message), d.accept()))
    tabs.nth(1).get_by_role("button", name="close").click()
    expect(tabs).to_have_count(1)
    tabs.first.get_by_role("button", name="close").click()
    expect(tabs).to_have_count(1)
    expect(tabs.first).to_contain_text("Untitled")
    expect(page.locator(".react-flow__node")).to_have_count(7)
    assert asked == []
