"""End to end in Chromium: a group around the converted nodes moves into the subgraph (and back
with one Ctrl+Z); a promoted LoadImage image uploads from the instance; a promoted widget is
un-promoted from the instance's menu, and its socket shows no widget/input swap button."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect

from .editor_actions import add_node_by_search, clear_canvas, exported_prompt, node

INSTANCE = "10"  # the default workflow's last node id is 9
GROUPS = ".react-flow__node-group"


def _select(page, ids: list[str]) -> None:
    page.locator(".react-flow__pane").click(position={"x": 5, "y": 5})
    for i, node_id in enumerate(ids):
        node(page, node_id).locator(".lg-node-title").click(modifiers=["Control"] if i else [])


def _promote(page, node_id: str, widget: str) -> None:
    node(page, node_id).locator(".lg-node-title").click(button="right")
    page.get_by_role("menuitem", name=f"Promote widget {widget}").click()


def _open(page, instance_id: str) -> None:
    node(page, instance_id).locator(".lg-node-title").click(button="right")
    page.get_by_role("menuitem", name="Open Subgraph").click()


def _up(page) -> None:
    page.get_by_role("navigation", name="Subgraph path").get_by_role("button", name="Workflow").click()


def test_group_of_the_selection_moves_into_the_subgraph(page):
    expect(page.locator(GROUPS)).to_have_count(0)
    _select(page, ["6", "7"])
    page.keyboard.press("Control+g")
    expect(page.locator(GROUPS)).to_have_count(1)
    _select(page, ["6", "7", "3"])
    page.keyboard.press("Control+Shift+E")
    expect(node(page, INSTANCE)).to_contain_text("New Subgraph")
    expect(page.locator(GROUPS)).to_have_count(0)

    node(page, INSTANCE).dblclick()
    expect(node(page, "6")).to_have_count(1)
    expect(page.locator(GROUPS)).to_have_count(1)
    _up(page)
    expect(page.locator(GROUPS)).to_have_count(0)

    page.locator(".react-flow__pane").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+z")
    expect(node(page, INSTANCE)).to_have_count(0)
    expect(node(page, "6")).to_have_count(1)
    expect(page.locator(GROUPS)).to_have_count(1)


def test_promoted_load_image_uploads_from_the_instance(page, tmp_path):
    from PIL import Image

    clear_canvas(page)
    box = page.locator(".react-flow").bounding_box()
    add_node_by_search(page, box["x"] + 300, box["y"] + 200, "Load Image", "LoadImage")
    node(page, "1").locator(".lg-node-title").click()
    page.keyboard.press("Control+Shift+E")
    instance = node(page, "2")
    expect(instance).to_contain_text("New Subgraph")
    _open(page, "2")
    _promote(page, "1", "image")
    _up(page)

    picture = tmp_path / f"promoted-{uuid.uuid4().hex[:8]}.png"
    Image.new("RGB", (16, 16), (0, 0, 255)).save(picture)
    row = instance.locator(".lg-promoted-widgets .lg-widget-row[data-widget='image']")
    with page.expect_file_chooser() as chooser:
        row.get_by_role("button", name="choose file to upload").click()
    chooser.value.set_files(str(picture))
    preview = row.locator("img.lg-upload-preview")
    expect(preview).to_have_attribute("alt", picture.name)
    expect(preview).to_have_js_property("naturalWidth", 16)
    expect(row.locator("select")).to_have_value(picture.name)
    # Queuing sends the uploaded file to the inner LoadImage ("<instance>:<inner id>").
    assert exported_prompt(page)["2:1"]["inputs"]["image"] == picture.name


def test_unpromote_from_the_instance_menu(page):
    _select(page, ["6", "7", "3"])
    page.keyboard.press("Control+Shift+E")
    instance = node(page, INSTANCE)
    instance.dblclick()
    _promote(page, "7", "text")
    _up(page)

    socket = instance.locator(".lg-socket-row[data-input='text']")
    expect(socket).to_have_count(1)
    expect(socket.locator("button")).to_have_count(0)
    text = instance.locator(".lg-promoted-widgets .lg-widget-row[data-widget='text'] textarea")
    text.fill("grainy")

    instance.locator(".lg-node-title").click(button="right")
    page.get_by_role("menuitem", name="Un-promote widget text").click()
    expect(instance.locator(".lg-promoted-widgets")).to_have_count(0)
    expect(socket).to_have_count(0)
    assert exported_prompt(page)["10:7"]["inputs"]["text"] == "grainy"
    instance.dblclick()
    expect(node(page, "7").locator(".lg-widget-row[data-widget='text'] textarea")).to_have_value("grainy")
