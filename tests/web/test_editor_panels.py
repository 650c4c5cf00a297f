"""End to end in Chromium: the queue panel (pending, delete, clear, cancel), queue front,
LoadImage's upload with preview, missing node types, autosave across a reload."""

from __future__ import annotations

import io
import json
import re

from playwright.sync_api import expect

from .editor_actions import add_node_by_search, clear_canvas, count_workflow, node, open_workflow_file


def test_queue_panel_delete_clear_and_cancel(page, server_url, tmp_path):
    path = tmp_path / "slow.json"
    path.write_text(json.dumps(count_workflow(5000, 0.05)))
    open_workflow_file(page, path)
    page.get_by_label("batch count").fill("4")
    page.get_by_role("button", name="Queue", exact=True).click()
    page.get_by_role("button", name="Queue & history").click()
    panel = page.get_by_role("complementary", name="Queue and history")
    pending = panel.locator(".lg-queue-item.pending")
    expect(panel.locator(".lg-queue-item.running")).to_have_count(1, timeout=20000)
    expect(pending).to_have_count(3)
    pending.first.get_by_role("button", name="Delete").click()
    expect(pending).to_have_count(2)
    panel.get_by_role("button", name="Clear queue").click()
    expect(pending).to_have_count(0)
    panel.locator(".lg-queue-item.running").get_by_role("button", name="Cancel").click()
    expect(panel.locator(".lg-queue-item.running")).to_have_count(0, timeout=20000)
    assert page.request.get(server_url + "/queue").json() == {"queue_running": [], "queue_pending": []}


def test_queue_front_sends_front_flag(page):
    clear_canvas(page)
    add_node_by_search(page, 300, 300, "preview text", "PreviewAny")
    with page.expect_request("**/prompt") as request:
        page.keyboard.press("Control+Shift+Enter")
    body = request.value.post_data_json
    assert body["front"] is True
    assert body["prompt"]["1"]["class_type"] == "PreviewAny"
    assert body["extra_data"]["extra_pnginfo"]["workflow"]["nodes"][0]["type"] == "PreviewAny"
    assert body["extra_data"]["preview_method"] == "auto"  # the server sends previews only when asked
    assert isinstance(body["client_id"], str) and body["client_id"]


def test_load_image_upload_shows_preview(page, server_url, tmp_path):
    """A LoadImage definition is added to /object_info by the test; upload and /view are the server's."""
    from PIL import Image

    info = page.request.get(server_url + "/object_info").json()
    info.setdefault(
        "LoadImage",
        {
            "input": {"required": {"image": [[], {"image_upload": True}]}},
            "input_order": {"required": ["image"]},
            "output": ["IMAGE", "MASK"],
            "output_name": ["IMAGE", "MASK"],
            "output_is_list": [False, False],
            "name": "LoadImage",
            "display_name": "Load Image",
            "category": "image",
            "output_node": False,
        },
    )
    page.route("**/object_info", lambda route: route.fulfill(json=info))
    page.get_by_role("button", name="Refresh").click()
    clear_canvas(page)
    add_node_by_search(page, 300, 250, "load image", "LoadImage")
    picture = tmp_path / "red.png"
    Image.new("RGB", (16, 16), (255, 0, 0)).save(picture)
    with page.expect_file_chooser() as chooser:
        node(page, "1").get_by_role("button", name="choose file to upload").click()
    chooser.value.set_files(str(picture))
    preview = node(page, "1").locator("img.lg-upload-preview")
    expect(preview).to_have_attribute("src", re.compile(r"^/view\?filename=red\.png&subfolder=&type=input$"))
    expect(preview).to_have_js_property("naturalWidth", 16)


def test_missing_node_types_are_shown_and_kept(page, tmp_path):
    wf = {
        "last_node_id": 1,
        "last_link_id": 0,
        "version": 0.4,
        "links": [],
        "nodes": [
            {
                "id": 1,
                "type": "NoSuchNode",
                "pos": [100, 100],
                "mode": 0,
                "inputs": [],
                "outputs": [{"name": "X", "type": "X", "links": []}],
                "widgets_values": [42, "kept"],
            }
        ],
    }
    path = tmp_path / "missing.json"
    path.write_text(json.dumps(wf))
    open_workflow_file(page, path)
    expect(node(page, "1").locator(".lg-badge-missing")).to_have_text("missing")
    expect(node(page, "1")).to_contain_text("kept")
    expect(page.get_by_role("alert")).to_contain_text("missing node types: NoSuchNode")


def test_open_refuses_broken_files_and_keeps_the_graph(page, tmp_path):
    clear_canvas(page)
    add_node_by_search(page, 300, 300, "string", "PrimitiveString")
    broken = tmp_path / "broken.json"
    broken.write_text("{ not json")
    open_workflow_file(page, broken)
    expect(page.get_by_role("alert")).to_contain_text("broken.json is not valid JSON")
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"nodes": [{"id": 1}], "links": []}))
    open_workflow_file(page, wrong)
    expect(page.get_by_role("alert")).to_contain_text('nodes[0] (id 1): missing "type"')
    no_workflow = tmp_path / "plain.png"
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, "PNG")
    no_workflow.write_bytes(buf.getvalue())
    open_workflow_file(page, no_workflow)
    expect(page.get_by_role("alert")).to_contain_text("plain.png has no embedded workflow")
    expect(page.locator(".react-flow__node")).to_have_count(1)


def test_autosave_restores_the_graph_after_reload(page):
    clear_canvas(page)
    add_node_by_search(page, 300, 300, "string", "PrimitiveString")
    node(page, "1").get_by_label("value").fill("still here")
    page.wait_for_function("() => (localStorage.getItem('latentgraph.workflow') || '').includes('still here')")
    page.reload()
    page.wait_for_selector(".lg-app[data-ready='true']")
    expect(node(page, "1").get_by_label("value")).to_have_value("still here")
