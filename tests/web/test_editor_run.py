"""End to end in Chromium: build a graph by UI actions and run it on the real server; open a
workflow file and run it; validation errors from the server land on the right node and input."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from .editor_actions import (
    add_node_by_search,
    clear_canvas,
    connect,
    count_workflow,
    drag,
    expect_edges,
    exported_prompt,
    handle_center,
    node,
    open_workflow_file,
    queue,
)


def test_build_from_empty_canvas_and_run(page):
    clear_canvas(page)
    add_node_by_search(page, 300, 300, "string", "PrimitiveString")
    expect(node(page, "1")).to_contain_text("String")
    node(page, "1").get_by_label("value").fill("hello from the canvas")
    # Drag a link from the STRING output into empty space: the search is filtered to nodes taking it.
    out = handle_center(page, "1", "out:0")
    drag(page, out, (out[0] + 300, out[1] + 40))
    dialog = page.get_by_role("dialog", name="Add node")
    expect(dialog).to_contain_text("takes STRING")
    expect(dialog.locator("li[data-node-name='IntMath']")).to_have_count(0)
    dialog.get_by_label("Search nodes").fill("preview text")
    dialog.locator("li[data-node-name='PreviewAny']").click()
    expect(node(page, "2")).to_contain_text("Preview as Text")
    expect_edges(page, 1)
    page.keyboard.press("Control+Enter")
    expect(node(page, "2").locator(".lg-output-text")).to_have_text("hello from the canvas", timeout=20000)
    expect(node(page, "2").locator(".lg-node")).to_have_class(re.compile(r"\bstate-done\b"))
    # The run shows up in history, with its workflow re-openable.
    page.get_by_role("button", name="Queue & history").click()
    history = page.locator(".lg-history-item")
    expect(history.first).to_contain_text("success", timeout=10000)
    clear_canvas(page)
    history.first.get_by_role("button", name="Load").click()
    expect(page.locator(".react-flow__node")).to_have_count(2)
    expect(node(page, "1").get_by_label("value")).to_have_value("hello from the canvas")
    assert page.js_errors == []


def test_connect_sockets_refuses_incompatible_and_replaces_links(page):
    clear_canvas(page)
    add_node_by_search(page, 250, 200, "string", "PrimitiveString")
    add_node_by_search(page, 250, 450, "int", "PrimitiveInt")
    add_node_by_search(page, 700, 300, "int math", "IntMath")
    math = node(page, "3")
    # Turn widget "a" into an input socket, then try a STRING link: refused.
    math.locator("[data-widget='a'] button[title='Convert to an input socket']").click()
    expect(math.locator(".react-flow__handle[data-handleid='in:a']")).to_have_count(1)
    connect(page, "1", 0, "3", "a")
    expect_edges(page, 0)
    connect(page, "2", 0, "3", "a")
    expect_edges(page, 1)
    # A second INT link into the same input replaces the first; outputs fan out.
    add_node_by_search(page, 250, 650, "int", "PrimitiveInt")
    connect(page, "4", 0, "3", "a")
    expect_edges(page, 1)
    math.locator("[data-widget='b'] button[title='Convert to an input socket']").click()
    connect(page, "4", 0, "3", "b")
    expect_edges(page, 2)
    # Converting back removes the socket and its link.
    math.locator("[data-input='b'] button[title='Convert back to a widget']").click()
    expect_edges(page, 1)
    expect(math.locator("[data-widget='b']")).to_have_count(1)


def _utility_workflow(text: str) -> dict:
    return {
        "last_node_id": 3,
        "last_link_id": 2,
        "version": 0.4,
        "groups": [],
        "config": {},
        "extra": {},
        "nodes": [
            {
                "id": 1,
                "type": "PrimitiveString",
                "pos": [50, 100],
                "mode": 0,
                "inputs": [],
                "outputs": [{"name": "STRING", "type": "STRING", "links": [1]}],
                "widgets_values": [text],
            },
            {
                "id": 2,
                "type": "StringConcatenate",
                "pos": [400, 100],
                "mode": 0,
                "inputs": [{"name": "string_a", "type": "STRING", "link": 1, "widget": {"name": "string_a"}}],
                "outputs": [{"name": "STRING", "type": "STRING", "links": [2]}],
                "widgets_values": ["", "!", " "],
            },
            {
                "id": 3,
                "type": "PreviewAny",
                "pos": [800, 100],
                "mode": 0,
                "inputs": [{"name": "source", "type": "*", "link": 2}],
                "outputs": [],
                "widgets_values": [],
            },
        ],
        "links": [[1, 1, 0, 2, 0, "STRING"], [2, 2, 0, 3, 0, "STRING"]],
    }


def test_open_ui_workflow_file_and_run(page, tmp_path):
    path = tmp_path / "concat.json"
    path.write_text(json.dumps(_utility_workflow("opened")))
    open_workflow_file(page, path)
    expect(page.locator(".react-flow__node")).to_have_count(3)
    expect_edges(page, 2)
    queue(page)
    expect(node(page, "3").locator(".lg-output-text")).to_have_text("opened !", timeout=20000)


def _drop_png(page, text_chunks: dict[str, str]) -> None:
    import io

    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    for key, value in text_chunks.items():
        info.add_text(key, value)
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PNG", pnginfo=info)
    page.evaluate(
        """(bytes) => {
            const file = new File([new Uint8Array(bytes)], 'image.png', { type: 'image/png' });
            const dt = new DataTransfer();
            dt.items.add(file);
            const target = document.querySelector('.lg-canvas');
            target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
        }""",
        list(buf.getvalue()),
    )


def test_drop_png_with_embedded_workflow(page, tmp_path):
    _drop_png(page, {"workflow": json.dumps(_utility_workflow("from png"))})
    expect(page.locator(".react-flow__node")).to_have_count(3)
    expect(node(page, "1").get_by_label("value")).to_have_value("from png")


def test_drop_png_that_carries_only_an_api_prompt(page):
    """What a ComfyUI server writes for a prompt queued over the API: no editor workflow, only the prompt."""
    prompt = {"5": {"class_type": "PrimitiveString", "inputs": {"value": "from the api"}},
              "6": {"class_type": "PreviewAny", "inputs": {"source": ["5", 0]}}}
    _drop_png(page, {"prompt": json.dumps(prompt)})
    expect(page.locator(".react-flow__node")).to_have_count(2)
    expect(node(page, "5").get_by_label("value")).to_have_value("from the api")
    expect_edges(page, 1)
    expect(page.get_by_text("Loaded image.png (API format)")).to_be_visible()


def test_server_validation_error_lands_on_node_and_input(page, tmp_path):
    wf = count_workflow(0, 0.0)  # steps 0 is below the minimum of 1
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(wf))
    open_workflow_file(page, path)
    expect(page.locator(".react-flow__node")).to_have_count(2)
    queue(page)
    bad = node(page, "1")
    expect(bad.locator(".lg-node")).to_have_class("lg-node has-error", timeout=10000)
    expect(bad.locator("[data-widget='steps']")).to_have_class("lg-widget-row has-error")
    expect(bad.locator(".lg-errors")).to_contain_text("steps")
    expect(node(page, "2").locator(".lg-errors")).to_have_count(0)
    expect(page.get_by_role("alert")).to_contain_text("Prompt refused")


def test_plan_overlay_from_the_server(page):
    """Before a run both nodes will run; after it, the unchanged upstream node comes from the cache."""
    clear_canvas(page)
    add_node_by_search(page, 250, 250, "string", "PrimitiveString")
    add_node_by_search(page, 650, 250, "preview text", "PreviewAny")
    node(page, "1").get_by_label("value").fill("plan me")
    connect(page, "1", 0, "2", "source")
    page.get_by_role("button", name="Plan").click()
    expect(node(page, "1").locator(".lg-plan-run")).to_have_text("will run")
    expect(node(page, "2").locator(".lg-plan-run")).to_have_text("will run")
    queue(page)
    expect(node(page, "2").locator(".lg-output-text")).to_have_text("plan me", timeout=20000)
    expect(page.locator(".lg-plan-run")).to_have_count(0)  # the overlay ends with the run
    page.get_by_role("button", name="Plan").click()
    expect(node(page, "1").locator(".lg-plan-cached")).to_have_text("from cache")


def test_drag_a_link_end_to_move_or_remove_it(page):
    clear_canvas(page)
    add_node_by_search(page, 250, 250, "string", "PrimitiveString")
    add_node_by_search(page, 650, 150, "preview text", "PreviewAny")
    add_node_by_search(page, 650, 400, "preview text", "PreviewAny")
    connect(page, "1", 0, "2", "source")
    end = handle_center(page, "2", "in:source")
    # Grab the link just outside the socket and drop it on the other node's input: it moves.
    drag(page, (end[0] - 9, end[1]), handle_center(page, "3", "in:source"))
    expect_edges(page, 1)
    saved = exported_prompt(page)
    assert "source" not in saved["2"]["inputs"] and saved["3"]["inputs"]["source"] == ["1", 0]
    # Dropped on empty canvas, it is removed (and no node search opens).
    end = handle_center(page, "3", "in:source")
    drag(page, (end[0] - 9, end[1]), (end[0] - 150, end[1] + 200))
    expect_edges(page, 0)
    expect(page.get_by_role("dialog", name="Add node")).to_have_count(0)
    page.keyboard.press("Control+z")
    expect_edges(page, 1)
