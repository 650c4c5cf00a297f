"""End to end in Chromium: the left sidebar. The node library lists node types by category (a drag
puts one where it is dropped, a click in the middle of the view, a search filters the tree); the
model library lists the model folders, and a file dragged onto the canvas becomes its loader node
with that file chosen. Runs on the server with the demo checkpoint, as on a fresh clone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import editor_page
from .editor_actions import clear_canvas

DEMO_NAME = "latentgraph-demo.safetensors"
# Sorted before the demo file, so it is what a new Load Checkpoint node would pick by default.
OTHER_NAME = "aaa-placeholder.safetensors"


@pytest.fixture
def demo_page(browser, demo_server, request):
    """The editor on the demo server; a screenshot afterwards; fails on JavaScript errors."""
    # Listed, never loaded: only its name matters here.
    (demo_server.base / "models" / "checkpoints" / OTHER_NAME).write_bytes(b"not a model")
    with editor_page(browser, demo_server.url, request) as pg:
        yield pg


def _top_left(locator) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None
    return box["x"], box["y"]


def test_node_library_drag_and_search(demo_page):
    page = demo_page
    clear_canvas(page)
    page.keyboard.press("n")  # ComfyUI's key for the node library
    library = page.get_by_role("region", name="Node library")
    expect(library).to_be_visible()
    # The example pack registers nothing on a fresh install, so the library has no demo nodes.
    expect(library.locator("[data-category='example']")).to_have_count(0)
    expect(library.locator("[data-category='sampling']")).to_be_visible()

    library.locator("[data-category='sampling'] > button").click()
    ksampler = library.locator("[data-node-name='KSampler']")
    pane = page.locator(".react-flow__pane")
    pane_box = pane.bounding_box()
    drop = (500.0, 260.0)  # relative to the pane
    ksampler.drag_to(pane, target_position={"x": drop[0], "y": drop[1]})
    added = page.locator(".react-flow__node .lg-node[data-node-type='KSampler']")
    expect(added).to_have_count(1)
    x, y = _top_left(page.locator(".react-flow__node").first)
    print(f"KSampler dropped at {pane_box['x'] + drop[0]:.0f},{pane_box['y'] + drop[1]:.0f}; node at {x:.0f},{y:.0f}")
    assert abs(x - (pane_box["x"] + drop[0])) < 4 and abs(y - (pane_box["y"] + drop[1])) < 4

    search = library.get_by_label("Search the node library")
    search.fill("vae dec")
    expect(library.locator("[data-node-name='KSampler']")).to_have_count(0)
    library.locator("[data-node-name='VAEDecode']").click()
    expect(page.locator(".lg-node[data-node-type='VAEDecode']")).to_have_count(1)
    # A click puts the node in the middle of the view, not on top of the dropped one.
    vx, vy = _top_left(page.locator(".react-flow__node").nth(1))
    assert pane_box["x"] < vx < pane_box["x"] + pane_box["width"] and pane_box["y"] < vy < pane_box["y"] + pane_box["height"]
    assert abs(vx - x) > 20 or abs(vy - y) > 20

    search.fill("example repeat")
    expect(library.locator("[data-node-name='ExampleRepeatText']")).to_have_count(0)
    page.keyboard.press("Escape")
    page.locator(".react-flow__pane").click(position={"x": 900, "y": 600})
    page.keyboard.press("n")  # toggles it away again
    expect(library).to_have_count(0)


def test_model_library_drag_checkpoint(demo_page):
    page = demo_page
    clear_canvas(page)
    page.get_by_role("navigation", name="Side toolbar").get_by_role("button", name="Model library").click()
    library = page.get_by_role("region", name="Model library")
    checkpoints = library.locator("[data-model-folder='checkpoints']")
    expect(checkpoints).to_be_visible()
    for folder in ("loras", "vae", "controlnet", "upscale_models", "embeddings"):
        expect(library.locator(f"[data-model-folder='{folder}']")).to_have_count(1)
    checkpoints.locator("> button").click()
    demo = checkpoints.locator(f"[data-model-file='{DEMO_NAME}']")
    expect(demo).to_be_visible()
    expect(checkpoints.locator(f"[data-model-file='{OTHER_NAME}']")).to_be_visible()

    library.get_by_label("Filter the model library").fill("demo")
    expect(checkpoints.locator(f"[data-model-file='{OTHER_NAME}']")).to_have_count(0)
    demo.drag_to(page.locator(".react-flow__pane"), target_position={"x": 400, "y": 200})
    loader = page.locator(".lg-node[data-node-type='CheckpointLoaderSimple']")
    expect(loader).to_have_count(1)
    expect(loader.locator("[data-widget='ckpt_name'] select")).to_have_value(DEMO_NAME)
