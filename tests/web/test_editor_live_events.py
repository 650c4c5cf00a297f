"""End to end in Chromium with the WebSocket played by the test (Playwright's route_web_socket):
the executing node is highlighted, the progress bar follows `progress`, a binary type-1 preview
frame shows on the sampler node, and `executed` images appear on the SaveImage node."""

from __future__ import annotations

import io
import json
import re
import struct

from PIL import Image
from playwright.sync_api import expect

from .editor_actions import node
from .test_editor_txt2img import OBJECT_INFO_FIXTURE


def _png(color: tuple[int, int, int], size: int = 8) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buf, "PNG")
    return buf.getvalue()


def test_progress_preview_and_output_images_from_websocket_events(page):
    sockets = []
    page.route_web_socket(re.compile(r".*/ws\?clientId=.*"), lambda ws: sockets.append(ws))
    page.route("**/object_info", lambda route: route.fulfill(json=json.loads(OBJECT_INFO_FIXTURE.read_text())))
    page.route("**/view?*", lambda route: route.fulfill(body=_png((0, 0, 255), 12), content_type="image/png"))
    page.reload()
    page.wait_for_selector(".lg-app[data-ready='true']")
    page.get_by_role("button", name="Default", exact=True).click()
    expect(page.locator(".react-flow__node")).to_have_count(7)
    page.wait_for_function("() => document.querySelector('.lg-dot.on') !== null")
    ws = sockets[-1]

    def send(event: str, data: dict) -> None:
        ws.send(json.dumps({"type": event, "data": data}))

    sampler = node(page, "3")
    send("execution_start", {"prompt_id": "p1"})
    send("execution_cached", {"nodes": ["4"], "prompt_id": "p1"})
    send("executing", {"node": "3", "display_node": "3", "prompt_id": "p1"})
    send("progress", {"value": 5, "max": 20, "node": "3", "prompt_id": "p1"})
    expect(sampler.locator(".lg-node")).to_have_class(re.compile(r"\bexecuting\b"))
    expect(sampler.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "5")
    expect(node(page, "4").locator(".lg-plan-cached")).to_have_text("cached")
    ws.send(struct.pack(">II", 1, 2) + _png((255, 0, 0), 10))  # binary preview, PNG
    preview = sampler.locator("img.lg-preview")
    expect(preview).to_have_js_property("naturalWidth", 10)
    send("executing", {"node": "9", "display_node": "9", "prompt_id": "p1"})
    send(
        "executed",
        {
            "node": "9",
            "display_node": "9",
            "prompt_id": "p1",
            "output": {"images": [{"filename": "ComfyUI_00001_.png", "subfolder": "", "type": "output"}]},
        },
    )
    image = node(page, "9").locator("img.lg-output-image")
    expect(image).to_have_attribute("src", "/view?filename=ComfyUI_00001_.png&subfolder=&type=output")
    expect(image).to_have_js_property("naturalWidth", 12)
    send("execution_success", {"prompt_id": "p1"})
    send("executing", {"node": None, "prompt_id": "p1"})
    expect(page.locator(".lg-node.executing")).to_have_count(0)
    expect(preview).to_have_count(0)
    expect(image).to_have_count(1)
    # A failure inside a node is shown on that node.
    send(
        "execution_error",
        {
            "prompt_id": "p2",
            "node_id": "8",
            "node_type": "VAEDecode",
            "exception_type": "RuntimeError",
            "exception_message": "out of memory",
        },
    )
    expect(node(page, "8").locator(".lg-errors")).to_contain_text("RuntimeError: out of memory")
