"""End to end in Chromium: output images open in a lightbox (arrows step through the batch, Escape
closes), their context menu saves, opens and sends an image to a LoadImage node (uploaded into
input/), and the queue panel shows each run's duration and thumbnails that open the lightbox."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from .editor_actions import node, open_workflow_file, queue

BATCH_WORKFLOW = {
    "last_node_id": 2,
    "last_link_id": 1,
    "version": 0.4,
    "nodes": [
        {"id": 1, "type": "EmptyImage", "pos": [50, 100], "mode": 0, "inputs": [],
         "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [1]}], "widgets_values": [48, 32, 3, 0x3366CC]},
        {"id": 2, "type": "SaveImage", "pos": [450, 100], "size": [300, 300], "mode": 0,
         "inputs": [{"name": "images", "type": "IMAGE", "link": 1}], "outputs": [], "widgets_values": ["lightbox"]},
    ],
    "links": [[1, 1, 0, 2, 0, "IMAGE"]],
}


def test_lightbox_context_menu_and_queue_panel_outputs(page, server, tmp_path):
    path = tmp_path / "batch.json"
    path.write_text(json.dumps(BATCH_WORKFLOW))
    open_workflow_file(page, path)
    queue(page)
    images = node(page, "2").locator("img.lg-output-image")
    expect(images).to_have_count(3, timeout=30000)

    # Lightbox: click the first image, step with the arrow keys (wrapping), Escape closes.
    images.first.click()
    viewer = page.get_by_role("dialog", name="image viewer")
    caption = viewer.get_by_test_id("lightbox-caption")
    expect(caption).to_contain_text("(1 / 3)")
    page.keyboard.press("ArrowRight")
    expect(caption).to_contain_text("(2 / 3)")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    expect(caption).to_contain_text("(3 / 3)")
    expect(viewer.locator("img")).to_have_js_property("naturalWidth", 48)
    page.keyboard.press("Delete")  # editor shortcuts do not act behind the viewer
    page.keyboard.press("Escape")
    expect(viewer).to_have_count(0)
    expect(page.locator(".react-flow__node")).to_have_count(2)

    # Context menu: save (a download of the PNG), open in a new tab, send to a new LoadImage.
    menu = page.get_by_role("menu", name="image menu")
    images.nth(1).click(button="right")
    with page.expect_download() as download:
        menu.get_by_role("menuitem", name="Save image").click()
    assert download.value.suggested_filename.startswith("lightbox_")
    images.nth(1).click(button="right")
    with page.context.expect_page() as opened:
        menu.get_by_role("menuitem", name="Open in new tab").click()
    expect(opened.value).to_have_url(re.compile(r"/view\?filename=lightbox_"))
    opened.value.close()
    images.nth(1).click(button="right")
    expect(menu).to_be_visible()
    page.keyboard.press("Escape")
    expect(menu).to_have_count(0)
    images.nth(1).click(button="right")
    menu.get_by_role("menuitem", name="Send to a new LoadImage").click()
    expect(page.locator(".react-flow__node")).to_have_count(3)
    load_image = node(page, "3")
    expect(load_image.get_by_label("image", exact=True)).to_have_value(re.compile(r"^lightbox_.*\.png$"))
    sent = load_image.get_by_label("image", exact=True).input_value()
    assert (server.base / "input" / sent).is_file()
    # The LoadImage now in the graph is offered as a target for the next image.
    images.nth(2).click(button="right")
    menu.get_by_role("menuitem", name=re.compile(r"^Send to .*#3$")).click()
    expect(load_image.get_by_label("image", exact=True)).not_to_have_value(sent)

    # Queue panel: the run with its duration and image count; a thumbnail opens the lightbox.
    page.get_by_role("button", name="Queue & history").click()
    panel = page.get_by_role("complementary", name="Queue and history")
    run = panel.locator(".lg-history-item").first
    expect(run.get_by_test_id("run-duration")).to_have_text(re.compile(r"· \d+(\.\d)? (ms|s) · 3 images"))
    run.locator(".lg-gallery img").nth(1).click()
    expect(caption).to_contain_text("(2 / 3)")
