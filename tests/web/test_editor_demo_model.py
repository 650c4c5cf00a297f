"""The README's main command, as a person uses it: the server with the embedded demo model serves
the editor, whose default workflow runs on Queue and makes the picture the prompt asks for."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from diffusion.demo.measure import measure_image

from .conftest import editor_page
from .editor_actions import node, queue_and_fetch_image

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
DEMO_NAME = "latentgraph-demo.safetensors"


@pytest.mark.slow
def test_default_workflow_draws_what_the_prompt_asks(browser, demo_server, request):
    with editor_page(browser, demo_server.url, request) as page:
        loader = node(page, "4")
        expect(loader).to_contain_text(DEMO_NAME)
        expect(node(page, "6")).to_contain_text("a large red star on a blue background, center")

        pixels = queue_and_fetch_image(page, demo_server.url, screenshot=ARTIFACTS / "web-demo-default-workflow.png")
    measured = measure_image(pixels)
    # The first Queue uses the default seed 42: "a large red star on a blue background, center".
    assert pixels.shape == (64, 64, 3)
    assert (measured.background, measured.color, measured.shape, measured.position) == \
        ("blue", "red", "star", "center"), measured
    assert measured.area >= 30, measured

