"""End to end in Chromium, issue #19's bugs: a link picked up from its input moves, a clicked link is
deleted with Delete, widgets are not cut, notes render Markdown, a missing LoadImage file says so,
and the example pack's demo nodes stay out of a fresh install's search."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from .conftest import ARTIFACTS
from .editor_actions import (
    add_node_by_search,
    clear_canvas,
    drag,
    expect_edges,
    exported_prompt,
    handle_center,
    node,
    open_workflow_file,
)

# Every <select> in a node too narrow for its chosen option, among short options (a long model file
# name may be shortened in a narrow node; "fixed" shown as "fi" is the bug).
CUT_SELECTS = """() => {
  const ctx = document.createElement('canvas').getContext('2d');
  return [...document.querySelectorAll('.react-flow__node select')].flatMap((el) => {
    const st = getComputedStyle(el);
    ctx.font = st.font;
    const text = el.options[el.selectedIndex]?.text ?? '';
    const room = el.clientWidth - parseFloat(st.paddingLeft) - parseFloat(st.paddingRight) - 16;
    const need = ctx.measureText(text).width;
    return need > room && text.length <= 12 ? [`${el.getAttribute('aria-label')}=${text}: ${need.toFixed(0)}px > ${room.toFixed(0)}px`] : [];
  });
}"""


def test_link_dragged_off_an_input_moves_and_a_clicked_link_is_deleted(page):
    clear_canvas(page)
    add_node_by_search(page, 250, 250, "string", "PrimitiveString")
    add_node_by_search(page, 700, 200, "preview text", "PreviewAny")
    add_node_by_search(page, 700, 500, "preview text", "PreviewAny")
    drag(page, handle_center(page, "1", "out:0"), handle_center(page, "2", "in:source"))
    expect_edges(page, 1)
    # Dragging from the connected input picks the link up and drops it on the other node's input.
    drag(page, handle_center(page, "2", "in:source"), handle_center(page, "3", "in:source"))
    expect_edges(page, 1)
    expect(page.locator(".react-flow__edge[data-id]").first).to_be_visible()
    prompt = exported_prompt(page)
    assert prompt["3"]["inputs"]["source"] == ["1", 0]
    assert "source" not in prompt["2"]["inputs"]
    # Clicking the link selects it; Delete removes it (and undo brings it back).
    page.locator(".react-flow__edge").first.click()
    expect(page.locator(".react-flow__edge.selected")).to_have_count(1)
    page.keyboard.press("Delete")
    expect_edges(page, 0)
    page.keyboard.press("Control+z")
    expect_edges(page, 1)
    # Picked up and dropped on empty canvas, the link is removed.
    x, y = handle_center(page, "3", "in:source")
    drag(page, (x, y), (x - 150, y + 200))
    expect_edges(page, 0)


def test_missing_dialog_whole_widgets_markdown_notes_and_a_missing_input_image(page, tmp_path):
    assert page.evaluate(CUT_SELECTS) == []  # the default graph (KSampler's "control after generate")
    note = "## Model Link\n\n**checkpoints** go in `models/checkpoints`\n\n- [demo](https://example.com/d)\n\n<img src=x>"
    workflow = {
        "last_node_id": 3,
        "last_link_id": 0,
        "version": 0.4,
        "nodes": [
            {"id": 1, "type": "Note", "pos": [50, 50], "size": [300, 200], "mode": 0, "inputs": [], "outputs": [],
             "widgets_values": [note]},
            {"id": 2, "type": "LoadImage", "pos": [400, 50], "mode": 0, "inputs": [],
             "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": []}, {"name": "MASK", "type": "MASK", "links": []}],
             "widgets_values": ["gone-missing.png", "image"]},
            {"id": 3, "type": "KSampler", "pos": [950, 50], "size": [220, 262], "mode": 0, "inputs": [],
             "outputs": [{"name": "LATENT", "type": "LATENT", "links": []}],
             "widgets_values": [5, "randomize", 20, 8.0, "euler", "normal", 1.0]},
            {"id": 4, "type": "CheckpointLoaderSimple", "pos": [50, 400], "mode": 0, "inputs": [], "outputs": [],
             "widgets_values": ["absent-xl.safetensors"]},
            {"id": 5, "type": "NoSuchPackNode", "pos": [450, 500], "mode": 0, "inputs": [], "outputs": [],
             "widgets_values": [1]},
        ],
        "links": [],
    }
    path = tmp_path / "round2.json"
    path.write_text(json.dumps(workflow))
    open_workflow_file(page, path)
    # The missing-models/nodes dialog says which files are absent and where they go.
    dialog = page.get_by_role("dialog", name="Missing models and nodes")
    expect(dialog.locator("tr[data-file='absent-xl.safetensors']")).to_contain_text("models/checkpoints/")
    expect(dialog.locator("tr[data-file='gone-missing.png']")).to_contain_text("input/")
    expect(dialog.locator(".lg-missing-types")).to_have_text("NoSuchPackNode")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-missing-models-dialog.png"))
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_have_count(0)
    expect(node(page, "3")).to_be_visible()
    assert page.evaluate(CUT_SELECTS) == []
    # The note shows Markdown; raw HTML stays text; double-click edits the source.
    md = node(page, "1").locator(".lg-markdown")
    expect(md.locator("h2")).to_have_text("Model Link")
    expect(md.locator("strong")).to_have_text("checkpoints")
    expect(md.locator("code")).to_have_text("models/checkpoints")
    expect(md.locator("li a")).to_have_attribute("href", "https://example.com/d")
    expect(md.locator("img")).to_have_count(0)
    expect(md).to_contain_text("<img src=x>")
    md.dblclick()
    expect(node(page, "1").get_by_label("note")).to_have_value(note)
    # A LoadImage whose file is not in input/ says so instead of a broken image.
    missing = node(page, "2").locator(".lg-upload-missing")
    expect(missing).to_contain_text("gone-missing.png")
    expect(node(page, "2").locator("img.lg-upload-preview")).to_have_count(0)


def test_example_pack_nodes_are_not_in_a_fresh_install(page):
    info = page.request.get(page.url.rstrip("/") + "/object_info").json()
    assert "PreviewAny" in info and not [k for k in info if k.startswith("Example")]
    page.mouse.dblclick(300, 700)
    search = page.get_by_role("dialog", name="Add node")
    search.get_by_label("Search nodes").fill("example")
    expect(search.locator("li[data-node-name^='Example']")).to_have_count(0)
    page.keyboard.press("Escape")


def test_workflows_browser_template_save_as_and_unsaved_marker(page, server):
    name = page.get_by_test_id("workflow-name")
    page.get_by_role("button", name="Workflows", exact=True).click()
    browser = page.get_by_role("dialog", name="Workflows")
    browser.locator("button[data-template='demo_outpaint']").click()
    expect(browser).to_have_count(0)
    expect(page.locator(".react-flow__node").first).to_be_visible()
    # This server has no models, so the template's checkpoint is reported missing.
    missing = page.get_by_role("dialog", name="Missing models and nodes")
    expect(missing).to_contain_text("models/checkpoints/")
    page.keyboard.press("Escape")
    expect(missing).to_have_count(0)
    expect(name).to_have_attribute("data-dirty", "false")
    # An edit marks the workflow changed; "Save as" stores it in user/default/workflows under a name.
    page.get_by_role("button", name="Clear", exact=True).click()
    add_node_by_search(page, 300, 300, "string", "PrimitiveString")
    expect(name).to_have_attribute("data-dirty", "true")
    page.once("dialog", lambda d: d.accept("my flow"))
    page.get_by_role("button", name="Save as", exact=True).click()
    expect(name).to_have_text("my flow.json")
    expect(name).to_have_attribute("data-dirty", "false")
    stored = json.loads((server.base / "user" / "default" / "workflows" / "my flow.json").read_text())
    assert [n["type"] for n in stored["nodes"]] == ["PrimitiveString"]
    # The saved workflow is listed and opens again.
    clear_canvas(page)
    page.get_by_role("button", name="Workflows", exact=True).click()
    browser.locator("button[data-workflow='my flow.json']").click()
    expect(page.locator(".react-flow__node[data-id='1']")).to_be_visible()
    expect(name).to_have_text("my flow.json")
