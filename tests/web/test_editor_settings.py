"""End to end in Chromium: the settings dialog. Link style, snap to grid and theme apply at once,
are stored through the server's /settings under ComfyUI's ids and come back after a reload; the
live preview method goes out with each prompt as extra_data.preview_method."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import editor_page
from .editor_actions import answer_prompts_here, drag, node, queue


@pytest.fixture
def demo_page(browser, demo_server, request):
    """The editor on this module's own server (settings written here stay here); screenshot after."""
    with editor_page(browser, demo_server.url, request) as pg:
        yield pg


def _link_paths(page) -> list[str]:
    return page.locator(".react-flow__edge-path").evaluate_all("els => els.map(e => e.getAttribute('d'))")


NO_SPLINES = """() => {
  const paths = [...document.querySelectorAll('.react-flow__edge-path')];
  return paths.length > 0 && paths.every((p) => !p.getAttribute('d').includes('C'));
}"""


def _node_position(page, node_id: str) -> tuple[float, float]:
    style = page.locator(f".react-flow__node[data-id='{node_id}']").get_attribute("style") or ""
    x, y = re.search(r"translate\(([-\d.]+)px, ([-\d.]+)px\)", style).groups()
    return float(x), float(y)


def _wait_for(page, condition, timeout_ms: int = 5000) -> None:
    for _ in range(timeout_ms // 50):
        if condition():
            return
        page.wait_for_timeout(50)
    raise AssertionError("condition not met in time")


def test_settings_apply_at_once_and_survive_a_reload(demo_page, demo_server):
    page = demo_page
    paths = _link_paths(page)
    assert paths and all("C" in d for d in paths), "splines (cubic Béziers) by default"
    page.keyboard.press("Control+,")
    dialog = page.get_by_role("dialog", name="Settings")
    # The shortcut list comes from the table the key handler runs.
    expect(dialog.get_by_role("table", name="Keyboard shortcuts")).to_contain_text("Ctrl+Shift+Enter")
    expect(dialog.get_by_role("table", name="Keyboard shortcuts")).to_contain_text("Show or hide the node library")
    dialog.get_by_label("Link style").select_option(label="Straight")
    dialog.get_by_label("Snap to grid").check()
    dialog.get_by_label("grid size").fill("25")
    dialog.get_by_label("Theme").select_option("light")
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    page.wait_for_function(NO_SPLINES, timeout=5000)
    dialog.get_by_role("button", name="Close").click()

    # A node dragged now lands on the 25-unit grid.
    before = _node_position(page, "3")
    title = node(page, "3").locator(".lg-node-title")
    box = title.bounding_box()
    start = (box["x"] + 40, box["y"] + box["height"] / 2)
    drag(page, start, (start[0] + 37, start[1] + 58))
    x, y = _node_position(page, "3")
    print(f"KSampler after a snapped drag: {x}, {y}")
    assert (x, y) != before and x % 25 == 0 and y % 25 == 0

    stored = page.request.get(demo_server.url + "/settings").json()
    assert stored["Comfy.LinkRenderMode"] == 0
    assert stored["pysssss.SnapToGrid"] is True
    assert stored["Comfy.SnapToGrid.GridSize"] == 25
    assert stored["Comfy.ColorPalette"] == "light"

    page.reload()
    page.wait_for_selector(".lg-app[data-ready='true']", timeout=20000)
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    background = page.locator(".lg-toolbar").evaluate("el => getComputedStyle(el).backgroundColor")
    assert background == "rgb(228, 228, 228)", background
    page.wait_for_function(NO_SPLINES, timeout=5000)
    page.get_by_role("button", name="Settings", exact=True).click()
    dialog = page.get_by_role("dialog", name="Settings")
    expect(dialog.get_by_label("Snap to grid")).to_be_checked()
    expect(dialog.get_by_label("grid size")).to_have_value("25")
    expect(dialog.get_by_label("Link style")).to_have_value("0")


def test_preview_method_goes_out_with_the_prompt(demo_page, demo_server):
    page = demo_page
    bodies = answer_prompts_here(page)
    queue(page)
    _wait_for(page, lambda: len(bodies) == 1)
    assert bodies[0]["extra_data"]["preview_method"] == "auto"

    page.get_by_role("button", name="Settings", exact=True).click()
    page.get_by_role("dialog", name="Settings").get_by_label("Live preview method").select_option("none")
    page.keyboard.press("Escape")
    queue(page)
    _wait_for(page, lambda: len(bodies) == 2)
    assert bodies[1]["extra_data"]["preview_method"] == "none"
    assert "workflow" in bodies[1]["extra_data"]["extra_pnginfo"]
    assert page.request.get(demo_server.url + "/settings/Comfy.Execution.PreviewMethod").json() == "none"
