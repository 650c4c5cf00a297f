"""The README's main command, as a person uses it: the server with the embedded demo model serves
the editor, whose default workflow runs on Queue and makes the picture the prompt asks for."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from diffusion.demo.measure import measure_image

from .editor_actions import node

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
DEMO_NAME = "latentgraph-demo.safetensors"


@pytest.mark.slow
def test_default_workflow_draws_what_the_prompt_asks(browser, demo_server):
    context = browser.new_context(viewport={"width": 1500, "height": 950})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(demo_server.url + "/")
        page.wait_for_selector(".lg-app[data-ready='true']", timeout=20000)
        loader = node(page, "4")
        expect(loader).to_contain_text(DEMO_NAME)
        expect(node(page, "6")).to_contain_text("a large red star on a blue background, center")

        page.keyboard.press("Control+Enter")
        image = node(page, "9").locator("img.lg-output-image")
        expect(image).to_have_count(1, timeout=180000)
        src = image.get_attribute("src")
        png = page.request.get(demo_server.url + src).body()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "web-demo-default-workflow.png"))
    finally:
        context.close()
    assert errors == [], errors
    with Image.open(io.BytesIO(png)) as picture:
        pixels = np.asarray(picture.convert("RGB"), dtype=np.float32) / 255.0
    measured = measure_image(pixels)
    # The first Queue uses the default seed 42: "a large red star on a blue background, center".
    assert pixels.shape == (64, 64, 3)
    assert (measured.background, measured.color, measured.shape, measured.position) == \
        ("blue", "red", "star", "center"), measured
    assert measured.area >= 30, measured

