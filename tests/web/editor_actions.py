"""What a user does in the editor, as Playwright steps (shared by the end-to-end tests)."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import expect

NODE = ".react-flow__node[data-id='{id}']"


def node(page, node_id: str):
    return page.locator(NODE.format(id=node_id))


def clear_canvas(page) -> None:
    page.get_by_role("button", name="Clear", exact=True).click()
    assert page.locator(".react-flow__node").count() == 0


def add_node_by_search(page, x: float, y: float, query: str, name: str) -> None:
    """Double-click empty canvas at (x, y), search, pick the node type `name`. A point above the canvas (the
    toolbar and the workflow tabs sit there) is moved just inside its top edge."""
    canvas = page.locator(".react-flow").bounding_box()
    if canvas is not None:
        y = max(y, canvas["y"] + 12)
    page.mouse.dblclick(x, y)
    search = page.get_by_role("dialog", name="Add node")
    search.get_by_label("Search nodes").fill(query)
    search.locator(f"li[data-node-name='{name}']").click()
    search.wait_for(state="detached")


def handle_center(page, node_id: str, handle_id: str) -> tuple[float, float]:
    box = node(page, node_id).locator(f".react-flow__handle[data-handleid='{handle_id}']").bounding_box()
    assert box, f"handle {handle_id} of node {node_id} not found"
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def drag(page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, steps=5)
    page.mouse.move(*end, steps=5)
    page.mouse.up()


def connect(page, source: str, out_slot: int, target: str, input_name: str) -> None:
    drag(page, handle_center(page, source, f"out:{out_slot}"), handle_center(page, target, f"in:{input_name}"))


def expect_edges(page, count: int) -> None:
    """Waits until the canvas shows exactly `count` links."""
    expect(page.locator(".react-flow__edge")).to_have_count(count)


def open_workflow_file(page, path: Path) -> None:
    page.get_by_test_id("open-file").set_input_files(str(path))


def queue(page) -> None:
    page.get_by_role("button", name="Queue", exact=True).click()


def saved_workflow(page) -> dict:
    """Clicks Save and returns the downloaded UI workflow JSON."""
    with page.expect_download() as info:
        page.get_by_role("button", name="Save", exact=True).click()
    return json.loads(Path(info.value.path()).read_text())


def exported_prompt(page) -> dict:
    with page.expect_download() as info:
        page.get_by_role("button", name="Export API", exact=True).click()
    return json.loads(Path(info.value.path()).read_text())


def count_workflow(steps: int, seconds: float) -> dict:
    """A UI-format workflow: CountTo (steps, seconds per step) -> PreviewAny."""
    return {
        "last_node_id": 2,
        "last_link_id": 1,
        "version": 0.4,
        "nodes": [
            {
                "id": 1,
                "type": "CountTo",
                "pos": [50, 100],
                "mode": 0,
                "inputs": [],
                "outputs": [{"name": "count", "type": "INT", "links": [1]}],
                "widgets_values": [steps, seconds],
            },
            {
                "id": 2,
                "type": "PreviewAny",
                "pos": [450, 100],
                "mode": 0,
                "inputs": [{"name": "source", "type": "*", "link": 1}],
                "outputs": [],
                "widgets_values": [],
            },
        ],
        "links": [[1, 1, 0, 2, 0, "INT"]],
    }


def queue_and_fetch_image(page, server_url: str, output_node: str = "9", screenshot: Path | None = None):
    """Ctrl+Enter, wait (up to 3 minutes) for the image on `output_node`, save a screenshot when asked,
    and return the image's pixels as float32 RGB in 0..1 (the demo tests measure them)."""
    import io

    import numpy as np
    from PIL import Image

    page.keyboard.press("Control+Enter")
    image = node(page, output_node).locator("img.lg-output-image")
    expect(image).to_have_count(1, timeout=180000)
    png = page.request.get(server_url + image.get_attribute("src")).body()
    if screenshot is not None:
        screenshot.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(screenshot))
    with Image.open(io.BytesIO(png)) as picture:
        return np.asarray(picture.convert("RGB"), dtype=np.float32) / 255.0


def answer_prompts_here(page) -> list[dict]:
    """Answers every POST /prompt in the browser (the server runs nothing: the point is the request) and
    returns the list the bodies sent are appended to."""
    bodies: list[dict] = []

    def answer(route):
        if route.request.method != "POST":
            return route.continue_()
        bodies.append(json.loads(route.request.post_data))
        route.fulfill(json={"prompt_id": f"p{len(bodies)}", "number": len(bodies), "node_errors": {}})

    page.route("**/prompt", answer)
    return bodies


def open_count_workflow_and_queue_panel(page, tmp_path: Path):
    """Opens a quick counting workflow (count_workflow(3, 0.01)) and the queue panel; returns the panel."""
    path = tmp_path / "count.json"
    path.write_text(json.dumps(count_workflow(3, 0.01)))
    open_workflow_file(page, path)
    page.get_by_role("button", name="Queue & history").click()
    return page.get_by_role("complementary", name="Queue and history")
