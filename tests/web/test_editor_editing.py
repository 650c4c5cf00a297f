"""End to end in Chromium: undo/redo, copy/paste with links, delete, box select, bypass/mute,
groups, save/export — each checked through what the user sees or downloads."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .editor_actions import (
    add_node_by_search,
    clear_canvas,
    connect,
    drag,
    expect_edges,
    exported_prompt,
    node,
    saved_workflow,
)


def _two_linked_nodes(page) -> None:
    clear_canvas(page)
    add_node_by_search(page, 250, 250, "string", "PrimitiveString")
    add_node_by_search(page, 650, 250, "preview text", "PreviewAny")
    connect(page, "1", 0, "2", "source")
    expect_edges(page, 1)


def test_undo_redo_of_add_link_edit_and_delete(page):
    _two_linked_nodes(page)
    nodes = page.locator(".react-flow__node")
    page.keyboard.press("Control+z")  # the link
    expect_edges(page, 0)
    page.keyboard.press("Control+z")  # the second node
    expect(nodes).to_have_count(1)
    page.keyboard.press("Control+y")
    page.keyboard.press("Control+y")
    expect(nodes).to_have_count(2)
    expect_edges(page, 1)
    # Widget edit: one undo step restores the old text.
    field = node(page, "1").get_by_label("value")
    field.fill("edited")
    page.mouse.click(900, 700)  # focus back on the canvas
    page.keyboard.press("Control+z")
    expect(field).to_have_value("")
    page.keyboard.press("Control+Shift+z")
    expect(field).to_have_value("edited")
    # Delete the selected node (its link goes with it), then bring both back.
    node(page, "2").locator(".lg-node-title").click()
    page.keyboard.press("Delete")
    expect(nodes).to_have_count(1)
    expect_edges(page, 0)
    page.get_by_role("button", name="Undo").click()
    expect(nodes).to_have_count(2)
    expect_edges(page, 1)


def test_box_select_copy_paste_with_links_is_one_undo_step(page):
    _two_linked_nodes(page)
    # Shift+drag on empty canvas draws a selection box around both nodes.
    page.keyboard.down("Shift")
    page.mouse.move(150, 120)
    page.mouse.down()
    page.mouse.move(600, 300, steps=5)
    page.mouse.move(1100, 450, steps=5)
    page.mouse.up()
    page.keyboard.up("Shift")
    expect(page.locator(".react-flow__node.selected")).to_have_count(2)
    page.keyboard.press("Control+c")
    page.mouse.move(300, 600)
    page.keyboard.press("Control+v")
    expect(page.locator(".react-flow__node")).to_have_count(4)
    expect_edges(page, 2)
    page.keyboard.press("Control+z")
    expect(page.locator(".react-flow__node")).to_have_count(2)
    expect_edges(page, 1)


def test_bypass_mute_group_and_export(page):
    _two_linked_nodes(page)
    add_node_by_search(page, 450, 550, "string", "PrimitiveString")
    node(page, "1").locator(".lg-node-title").click()
    page.keyboard.press("Control+b")
    expect(node(page, "1").locator(".lg-node")).to_have_class(re.compile(r"\bbypassed\b"))
    node(page, "3").locator(".lg-node-title").click()
    page.keyboard.press("Control+m")
    expect(node(page, "3").locator(".lg-node")).to_have_class(re.compile(r"\bmuted\b"))
    prompt = exported_prompt(page)
    assert sorted(prompt) == ["2"]  # bypassed and muted nodes are not sent
    page.keyboard.press("Control+m")  # unmute
    prompt = exported_prompt(page)
    assert sorted(prompt) == ["2", "3"]
    # Group the selection with Ctrl+G; it is saved with its title and bounding box.
    page.keyboard.press("Control+g")
    expect(page.locator(".lg-group-title")).to_have_text("Group")
    # Dragging the group's title moves the nodes inside it.
    before = node(page, "3").bounding_box()
    title = page.locator(".lg-group-title").bounding_box()
    start = (title["x"] + 20, title["y"] + title["height"] / 2)
    drag(page, start, (start[0] + 120, start[1] + 60))
    after = node(page, "3").bounding_box()
    moved = page.locator(".lg-group-title").bounding_box()
    dx, dy = moved["x"] - title["x"], moved["y"] - title["y"]
    assert dx > 50 and dy > 20
    assert abs(after["x"] - before["x"] - dx) < 2 and abs(after["y"] - before["y"] - dy) < 2
    workflow = saved_workflow(page)
    assert [g["title"] for g in workflow["groups"]] == ["Group"]
    assert {n["id"]: n["mode"] for n in workflow["nodes"]} == {1: 4, 2: 0, 3: 0}
    assert workflow["links"] == [[1, 1, 0, 2, 0, "STRING"]]


def test_plan_overlay_before_queueing(page):
    """The "will run / from cache" badges come from POST /api/plan (answered here by the test)."""
    _two_linked_nodes(page)
    page.route("**/api/plan", lambda route: route.fulfill(json={"run": ["2"], "cached": ["1"]}))
    page.get_by_role("button", name="Plan").click()
    expect(node(page, "2").locator(".lg-plan-run")).to_have_text("will run")
    expect(node(page, "1").locator(".lg-plan-cached")).to_have_text("from cache")
    page.unroute("**/api/plan")
    page.route("**/api/plan", lambda route: route.fulfill(status=404, body=""))
    page.get_by_role("button", name="Plan").click()
    expect(page.locator(".lg-plan-run")).to_have_count(0)


def test_number_widget_drag_arrows_typing_and_seed_control(page):
    clear_canvas(page)
    add_node_by_search(page, 250, 250, "int", "PrimitiveInt")
    add_node_by_search(page, 650, 250, "preview text", "PreviewAny")
    connect(page, "1", 0, "2", "source")
    widget = node(page, "1").locator("[data-widget='value']")
    value = widget.locator(".lg-widget-value")
    box = widget.locator(".lg-number").bounding_box()
    start = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    drag(page, start, (start[0] + 60, start[1]))  # 6 px per step
    expect(value).to_have_text("10")
    widget.get_by_role("button", name="decrease value").click()
    expect(value).to_have_text("9")
    value.click()
    widget.locator("input").fill("5")
    widget.locator("input").press("Enter")
    expect(value).to_have_text("5")
    # control_after_generate "increment": the queued prompt has 5, the widget then shows 6.
    widget.get_by_label("control after generate").select_option("increment")
    page.get_by_role("button", name="Queue", exact=True).click()
    expect(node(page, "2").locator(".lg-output-text")).to_have_text("5", timeout=20000)
    expect(value).to_have_text("6")


def test_context_menu_notes_and_reroutes(page):
    _two_linked_nodes(page)
    node(page, "1").locator(".lg-node-title").click(button="right")
    menu = page.get_by_role("menu")
    menu.get_by_role("menuitem", name="Bypass").click()
    expect(node(page, "1").locator(".lg-node")).to_have_class(re.compile(r"\bbypassed\b"))
    # Escape closes the menu, and its backdrop no longer blocks the toolbar.
    node(page, "1").locator(".lg-node-title").click(button="right")
    expect(menu).to_be_visible()
    page.keyboard.press("Escape")
    expect(menu).to_have_count(0)
    expect(page.locator(".lg-menu-backdrop")).to_have_count(0)
    node(page, "1").locator(".lg-node-title").click(button="right")
    menu.get_by_role("menuitem", name="Convert value to input").click()
    expect(node(page, "1").locator(".react-flow__handle[data-handleid='in:value']")).to_have_count(1)
    # Right-click on empty canvas opens the node search; frontend-only nodes are offered too.
    page.mouse.click(300, 650, button="right")
    dialog = page.get_by_role("dialog", name="Add node")
    dialog.get_by_label("Search nodes").fill("note")
    dialog.locator("li[data-node-name='Note']").click()
    note = node(page, "3")
    note.get_by_label("note").fill("remember the milk")
    # A Reroute dropped into the existing link keeps the prompt unchanged.
    add_node_by_search(page, 500, 500, "reroute", "Reroute")
    connect(page, "1", 0, "4", "#0")
    connect(page, "4", 0, "2", "source")
    expect_edges(page, 2)
    node(page, "1").locator(".lg-node-title").click(button="right")
    menu.get_by_role("menuitem", name="Remove bypass").click()
    prompt = exported_prompt(page)
    assert sorted(prompt) == ["1", "2"]
    assert prompt["2"]["inputs"]["source"] == ["1", 0]
    workflow = saved_workflow(page)
    saved_note = next(n for n in workflow["nodes"] if n["type"] == "Note")
    assert saved_note["widgets_values"] == ["remember the milk"]
