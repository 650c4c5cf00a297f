"""End to end in Chromium: node handling as in ComfyUI. Rename a title in place, resize by the corner,
collapse and expand (links still drawn), colour two selected nodes, align three, pin one so it no longer
drags, and a Reroute drawn as a small dot; each saved in the workflow in ComfyUI's fields."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from .conftest import ARTIFACTS
from .editor_actions import drag, expect_edges, node, open_workflow_file, saved_workflow


def _int(node_id: int, x: int, y: int, links: list[int]) -> dict:
    return {
        "id": node_id,
        "type": "PrimitiveInt",
        "pos": [x, y],
        "mode": 0,
        "inputs": [],
        "outputs": [{"name": "INT", "type": "INT", "links": links}],
        "widgets_values": [node_id, "fixed"],
    }


WORKFLOW = {
    "last_node_id": 5,
    "last_link_id": 3,
    "version": 0.4,
    "nodes": [
        _int(1, 40, 60, [1]),
        {
            "id": 2,
            "type": "IntMath",
            "pos": [420, 120],
            "mode": 0,
            "inputs": [{"name": "a", "type": "INT", "link": 1, "widget": {"name": "a"}}],
            "outputs": [{"name": "INT", "type": "INT", "links": [2]}],
            "widgets_values": [0, 0, "add"],
        },
        _int(3, 90, 330, []),
        {
            "id": 4,
            "type": "Reroute",
            "pos": [820, 160],
            "mode": 0,
            "inputs": [{"name": "", "type": "*", "link": 2}],
            "outputs": [{"name": "", "type": "INT", "links": [3]}],
            "widgets_values": [],
        },
        {
            "id": 5,
            "type": "PreviewAny",
            "pos": [900, 300],
            "mode": 0,
            "inputs": [{"name": "source", "type": "*", "link": 3}],
            "outputs": [],
            "widgets_values": [],
        },
    ],
    "links": [[1, 1, 0, 2, 0, "INT"], [2, 2, 0, 4, 0, "INT"], [3, 4, 0, 5, 0, "INT"]],
}


def _zoom(page) -> float:
    transform = page.locator(".react-flow__viewport").evaluate("el => getComputedStyle(el).transform")
    return float(transform.split("(")[1].split(",")[0])


def _saved_nodes(page) -> dict[int, dict]:
    return {n["id"]: n for n in saved_workflow(page)["nodes"]}


def _title(page, node_id: str):
    return node(page, node_id).locator(".lg-node-title-text")


def _menu_pick(page, node_id: str, *path: str) -> None:
    """Right-clicks the node's title and follows `path` through the menu (submenus open on hover)."""
    _title(page, node_id).click(button="right")
    for label in path[:-1]:
        page.get_by_role("menuitem", name=label).hover()
    page.get_by_role("menuitem", name=path[-1], exact=True).click()


def test_resize_collapse_colour_align_pin_rename_and_reroute_dots(page, tmp_path):
    path = tmp_path / "handling.json"
    path.write_text(json.dumps(WORKFLOW))
    open_workflow_file(page, path)
    expect(page.locator(".react-flow__node")).to_have_count(5)
    expect_edges(page, 3)

    # Rename by double-clicking the title: Escape cancels, Enter commits.
    _title(page, "1").dblclick()
    page.get_by_label("node title").fill("never mind")
    page.keyboard.press("Escape")
    expect(_title(page, "1")).to_have_text("Int")
    _title(page, "1").dblclick()
    page.get_by_label("node title").fill("Seed A")
    page.keyboard.press("Enter")
    expect(_title(page, "1")).to_have_text("Seed A")

    # Resize Int Math by its bottom-right corner; the size is saved as ComfyUI's [w, h].
    math = node(page, "2")
    before = math.bounding_box()
    math.hover()
    corner = math.locator(".lg-resize-corner").bounding_box()
    start = (corner["x"] + corner["width"] / 2, corner["y"] + corner["height"] / 2)
    drag(page, start, (start[0] + 90, start[1] + 70))
    after = math.bounding_box()
    zoom = _zoom(page)  # read now: the view's fit after opening the file may still have been moving at load
    assert after["width"] > before["width"] + 60 and after["height"] > before["height"] + 40
    saved = _saved_nodes(page)
    assert abs(saved[2]["size"][0] - after["width"] / zoom) <= 2
    assert abs(saved[2]["size"][1] - (after["height"] / zoom - 30)) <= 2  # ComfyUI leaves the title out
    assert saved[1]["title"] == "Seed A"

    # Collapse with the dot left of the title: only the title shows, the links stay; expand again.
    math.get_by_role("button", name="collapse node").click()
    expect(math.locator(".lg-widgets")).to_have_count(0)
    assert math.bounding_box()["height"] < 45 * zoom
    expect_edges(page, 3)
    page.screenshot(path=str(ARTIFACTS / "web-node-handling-collapsed.png"))
    saved = _saved_nodes(page)
    assert saved[2]["flags"] == {"collapsed": True}
    assert abs(saved[2]["size"][0] - after["width"] / zoom) <= 2  # the expanded size is kept
    math.get_by_role("button", name="expand node").click()
    expect(math.locator(".lg-widgets")).to_have_count(1)
    assert abs(math.bounding_box()["height"] - after["height"]) <= 2
    # Alt+C collapses the selection too.
    _title(page, "3").click()
    page.keyboard.press("Alt+c")
    expect(node(page, "3").locator(".lg-widgets")).to_have_count(0)
    page.keyboard.press("Alt+c")
    expect(node(page, "3").locator(".lg-widgets")).to_have_count(1)

    # Colour two selected nodes red (ComfyUI's palette values).
    _title(page, "1").click()
    _title(page, "3").click(modifiers=["Control"])
    _menu_pick(page, "1", "Colors", "red")
    # Align the three nodes on their left edge.
    _title(page, "2").click(modifiers=["Control"])
    _menu_pick(page, "2", "Align Selected To", "Left")
    # Pin node 3 (alone: a click on empty canvas ends the selection): dragging its title does nothing.
    page.mouse.click(700, 800)
    _menu_pick(page, "3", "Pin")
    pinned = node(page, "3").bounding_box()
    title = _title(page, "3").bounding_box()
    drag(page, (title["x"] + 10, title["y"] + 5), (title["x"] + 160, title["y"] + 120))
    assert node(page, "3").bounding_box() == pinned
    expect(node(page, "3").locator(".lg-resize-corner")).to_have_count(0)

    saved = _saved_nodes(page)
    for node_id in (1, 3):
        assert (saved[node_id]["color"], saved[node_id]["bgcolor"]) == ("#322", "#533")
    assert "color" not in saved[2]
    assert saved[1]["pos"][0] == saved[2]["pos"][0] == saved[3]["pos"][0] == 40
    assert saved[3]["flags"] == {"pinned": True}
    assert saved[1]["flags"] == {}

    # A Reroute is a small dot, still linked in and out.
    dot = node(page, "4").bounding_box()
    assert dot["width"] < 30 and dot["height"] < 30
    expect(node(page, "4").locator(".react-flow__handle")).to_have_count(2)
