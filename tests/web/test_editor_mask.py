"""End to end in Chromium with the demo model: paint a mask on a LoadImage picture in the mask
editor, save it through /upload/mask, and inpaint — no pre-made transparent PNG needed."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from diffusion.demo.measure import measure_image

from .conftest import ARTIFACTS, ROOT
from .editor_actions import node, open_workflow_file

PICTURE = "demo_red_circle_on_blue.png"


@pytest.mark.slow
def test_paint_a_mask_and_inpaint_on_the_demo_model(browser, demo_server, tmp_path):
    (demo_server.base / "input").mkdir(exist_ok=True)
    shutil.copy(ROOT / "input" / PICTURE, demo_server.base / "input" / PICTURE)
    workflow = json.loads((ROOT / "workflows" / "demo_inpaint_replace_shape_ui.json").read_text())
    loader = next(n for n in workflow["nodes"] if n["type"] == "LoadImage")
    loader["widgets_values"][0] = PICTURE
    path = tmp_path / "inpaint_painted.json"
    path.write_text(json.dumps(workflow))

    context = browser.new_context(viewport={"width": 1500, "height": 950})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(demo_server.url + "/")
        page.wait_for_selector(".lg-app[data-ready='true']", timeout=20000)
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

        page.keyboard.press("Control+Enter")
        image = node(page, "9").locator("img.lg-output-image")
        expect(image).to_have_count(1, timeout=180000)
        png = page.request.get(demo_server.url + image.get_attribute("src")).body()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "web-mask-inpainted.png"))
    finally:
        context.close()
    assert errors == [], errors
    with Image.open(io.BytesIO(png)) as picture:
        measured = measure_image(np.asarray(picture.convert("RGB"), dtype=np.float32) / 255.0)
    # The workflow asks for "a large yellow star on a blue background, center" inside the mask.
    assert (measured.background, measured.color, measured.shape) == ("blue", "yellow", "star"), measured
