"""End to end in Chromium with the demo model: paint a mask on a LoadImage picture in the mask
editor, save it through /upload/mask, and inpaint — no pre-made transparent PNG needed."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from diffusion.demo.measure import measure_image

from .conftest import ARTIFACTS, ROOT, editor_page
from .editor_actions import node, open_workflow_file, queue_and_fetch_image

PICTURE = "demo_red_circle_on_blue.png"


@pytest.mark.slow
def test_paint_a_mask_and_inpaint_on_the_demo_model(browser, demo_server, tmp_path, request):
    (demo_server.base / "input").mkdir(exist_ok=True)
    shutil.copy(ROOT / "input" / PICTURE, demo_server.base / "input" / PICTURE)
    workflow = json.loads((ROOT / "workflows" / "demo_inpaint_replace_shape_ui.json").read_text())
    loader = next(n for n in workflow["nodes"] if n["type"] == "LoadImage")
    loader["widgets_values"][0] = PICTURE
    path = tmp_path / "inpaint_painted.json"
    path.write_text(json.dumps(workflow))

    with editor_page(browser, demo_server.url, request) as page:
        open_workflow_file(page, path)
        expect(page.get_by_role("dialog", name="Missing models and nodes")).to_have_count(0)
        load = node(page, str(loader["id"]))
        load.get_by_role("button", name="edit mask").click()
        editor = page.get_by_role("dialog", name="Mask editor")
        expect(editor.locator(".lg-mask-stage")).to_have_attribute("data-ready", "true")
        editor.get_by_label("brush size").fill("120")
        box = editor.get_by_label("mask").bounding_box()
        for fy in (0.25, 0.37, 0.5, 0.63, 0.75):  # strokes over the middle of the picture
            y = box["y"] + fy * box["height"]
            page.mouse.move(box["x"] + 0.22 * box["width"], y)
            page.mouse.down()
            page.mouse.move(box["x"] + 0.78 * box["width"], y, steps=8)
            page.mouse.up()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "web-mask-editor-painted.png"))
        editor.get_by_role("button", name="Save mask").click()
        expect(editor).to_have_count(0)
        combo = load.get_by_label("image", exact=True)
        value = combo.input_value()
        assert value.startswith("clipspace/clipspace-mask-") and value.endswith(".png [input]"), value
        saved = demo_server.base / "input" / value[: -len(" [input]")]
        with Image.open(saved) as im:
            alpha = np.asarray(im.convert("RGBA"))[..., 3]
        assert alpha[32, 32] == 0 and alpha[1, 1] == 255  # painted centre is masked, corners are kept

        pixels = queue_and_fetch_image(page, demo_server.url, screenshot=ARTIFACTS / "web-mask-inpainted.png")
    measured = measure_image(pixels)
    # The workflow asks for "a large yellow star on a blue background, center" inside the mask.
    assert (measured.background, measured.color, measured.shape) == ("blue", "yellow", "star"), measured
