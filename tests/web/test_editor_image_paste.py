"""Pasting and dropping images in the editor (ComfyUI's rules): Ctrl+V with an image in the clipboard
puts it on the selected LoadImage node or on a new LoadImage node under the mouse (the view centre when the
mouse is off the canvas), uploaded into input/pasted/ as ComfyUI does, a pasted workflow
text opens, a failed upload shows the server's message and changes nothing, and an image dropped on a
LoadImage node becomes its image. The clipboard is a synthetic `paste` event carrying a DataTransfer."""

from __future__ import annotations

import base64
import io
import json

from PIL import Image
from playwright.sync_api import expect

from .editor_actions import NODE, add_node_by_search, clear_canvas, node

DISPATCH = """([target, type, files, text]) => {
  const dt = new DataTransfer();
  for (const [b64, name, mime] of files) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    dt.items.add(new File([bytes], name, { type: mime }));
  }
  if (text) dt.setData('text/plain', text);
  const el = target ? document.querySelector(target) : document.body;
  const init = { bubbles: true, cancelable: true };
  const ev = type === 'paste' ? new ClipboardEvent('paste', { ...init, clipboardData: dt }) : new DragEvent(type, { ...init, dataTransfer: dt });
  el.dispatchEvent(ev);
}"""


def _png(colour: tuple[int, int, int]) -> str:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


def _paste(page, files=(), text: str = "") -> None:
    page.evaluate(DISPATCH, [None, "paste", [list(f) for f in files], text])


def _drop_on(page, selector: str, files) -> None:
    for kind in ("dragover", "drop"):
        page.evaluate(DISPATCH, [selector, kind, [list(f) for f in files], ""])


def _image_widget(page, node_id: str):
    return node(page, node_id).get_by_label("image", exact=True)


def test_pasted_image_makes_a_load_image_node_then_replaces_the_selected_ones_image(page, server):
    clear_canvas(page)
    page.mouse.move(700, 400)
    _paste(page, [(_png((255, 0, 0)), "image.png", "image/png")])
    expect(page.locator(".react-flow__node")).to_have_count(1)
    first = page.locator(".react-flow__node").first
    expect(first).to_have_attribute("data-id", "1")
    expect(node(page, "1")).to_contain_text("Load Image")
    first_name = _image_widget(page, "1").input_value()
    # As in ComfyUI, a pasted image goes into input/pasted/ and the widget reads "pasted/<name>", a choice of its list.
    assert first_name.startswith("pasted/"), first_name
    assert (server.base / "input" / first_name).is_file()
    expect(_image_widget(page, "1").locator("option", has_text="not available")).to_have_count(0)
    box = first.bounding_box()
    assert box and abs(box["x"] - 700) < 4 and abs(box["y"] - 400) < 4, box

    # The new node is selected: the next pasted image replaces its image (one undo step).
    expect(page.locator(".react-flow__node.selected")).to_have_attribute("data-id", "1")
    _paste(page, [(_png((0, 0, 255)), "image.png", "image/png")])
    expect(_image_widget(page, "1")).not_to_have_value(first_name)
    second_name = _image_widget(page, "1").input_value()
    assert (server.base / "input" / second_name).read_bytes() != (server.base / "input" / first_name).read_bytes()
    expect(page.locator(".react-flow__node")).to_have_count(1)
    page.keyboard.press("Control+z")
    expect(_image_widget(page, "1")).to_have_value(first_name)
    expect(page.locator(".react-flow__node")).to_have_count(1)


def test_pasted_image_goes_to_the_view_centre_when_the_mouse_is_off_the_canvas(page):
    clear_canvas(page)
    page.mouse.move(600, 300)  # over the canvas first, then over the side toolbar
    strip = page.locator(".lg-side-strip").bounding_box()
    assert strip
    page.mouse.move(strip["x"] + strip["width"] / 2, strip["y"] + strip["height"] - 10)
    _paste(page, [(_png((9, 9, 9)), "image.png", "image/png")])
    expect(page.locator(".react-flow__node")).to_have_count(1)
    canvas = page.locator(".lg-canvas").bounding_box()
    box = page.locator(".react-flow__node").first.bounding_box()
    assert canvas and box
    centre = (canvas["x"] + canvas["width"] / 2, canvas["y"] + canvas["height"] / 2)
    assert abs(box["x"] - centre[0]) < 4 and abs(box["y"] - centre[1]) < 4, (box, centre)


def test_failed_upload_and_non_image_clipboard_change_nothing(page):
    clear_canvas(page)
    add_node_by_search(page, 500, 300, "load image", "LoadImage")
    before = _image_widget(page, "1").input_value()
    # Bytes that are no image under an image type: the server refuses them, its message is shown.
    _paste(page, [(base64.b64encode(b"not a png at all").decode(), "image.png", "image/png")])
    expect(page.get_by_role("alert")).to_contain_text("Upload failed")
    expect(page.get_by_role("alert")).to_contain_text("not_an_image")
    expect(page.locator(".react-flow__node")).to_have_count(1)
    expect(_image_widget(page, "1")).to_have_value(before)
    # A PDF in the clipboard is ignored (nothing copied either, so nothing is pasted).
    _paste(page, [(base64.b64encode(b"%PDF-1.4").decode(), "doc.pdf", "application/pdf")])
    page.wait_for_timeout(300)
    expect(page.locator(".react-flow__node")).to_have_count(1)
    expect(_image_widget(page, "1")).to_have_value(before)


def test_pasted_workflow_text_opens_and_other_text_pastes_copied_nodes(page):
    clear_canvas(page)
    prompt = {"1": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
              "2": {"class_type": "LatentUpscale", "inputs": {"samples": ["1", 0], "upscale_method": "nearest-exact",
                                                             "width": 768, "height": 768, "crop": "disabled"}}}
    _paste(page, text=json.dumps(prompt))
    expect(page.locator(".react-flow__node")).to_have_count(2)
    expect(page.locator(".lg-message")).to_contain_text("pasted workflow")
    # Copy a node, then paste plain text: the copied node is pasted (today's Ctrl+V).
    node(page, "1").click(position={"x": 20, "y": 10})
    # Ctrl+C copies by the browser's copy event, and puts a blank into the system clipboard: what was copied
    # there before (a screenshot, workflow text) must not win over these nodes at the next Ctrl+V.
    page.evaluate("""window.__copied = null; document.addEventListener('copy',
        (e) => { window.__copied = [e.clipboardData.getData('text/plain'), e.defaultPrevented]; })""")
    page.keyboard.press("Control+c")
    page.wait_for_function("window.__copied !== null")
    assert page.evaluate("window.__copied") == [" ", True]
    page.mouse.move(900, 600)
    _paste(page, text="just some words")
    expect(page.locator(".react-flow__node")).to_have_count(3)
    # The Ctrl+V key itself pastes them once (by the browser's paste event, or without one on the next tick).
    page.evaluate("window.__pastes = 0; document.addEventListener('paste', () => window.__pastes++)")
    page.keyboard.press("Control+v")
    expect(page.locator(".react-flow__node")).to_have_count(4)
    page.wait_for_timeout(300)
    expect(page.locator(".react-flow__node")).to_have_count(4)
    print("paste events sent by the Ctrl+V key:", page.evaluate("window.__pastes"))


def test_image_dropped_on_a_load_image_node_becomes_its_image(page, server):
    clear_canvas(page)
    add_node_by_search(page, 500, 300, "load image", "LoadImage")
    add_node_by_search(page, 900, 300, "preview image", "PreviewImage")
    before = _image_widget(page, "1").input_value()
    _drop_on(page, NODE.format(id="1"), [(_png((0, 255, 0)), "green.png", "image/png")])
    expect(_image_widget(page, "1")).not_to_have_value(before)
    name = _image_widget(page, "1").input_value()
    assert name.startswith("green") and (server.base / "input" / name).is_file()
    # Dropped on another node it is opened as a workflow file: this PNG holds none, so nothing changes.
    _drop_on(page, NODE.format(id="2"), [(_png((0, 0, 0)), "black.png", "image/png")])
    expect(page.get_by_role("alert")).to_contain_text("no embedded workflow")
    expect(page.locator(".react-flow__node")).to_have_count(2)
    expect(_image_widget(page, "1")).to_have_value(name)
