"""End to end in Chromium: the app view. Two widgets of the default workflow (the prompt text and the
seed) are put in it from the node menu, edited there as a form, queued from there, and its image
shows; the edit is on the node in the graph, the choice is saved in `extra.linearData` (ComfyUI's app
mode field), is undoable, and the form is still there after a reload."""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import expect

from .conftest import editor_page
from .editor_actions import node

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
PROMPT = "a small green circle on a yellow background, center"


def _field_labels(app) -> list[str]:
    return app.locator(".lg-app-field-label").all_inner_texts()


def test_app_view_form_edits_the_graph_queues_and_survives_a_reload(browser, demo_server, request):
    with editor_page(browser, demo_server.url, request) as page:
        prompt_node, sampler = node(page, "6"), node(page, "3")
        prompt_title = prompt_node.locator(".lg-node-title-text").inner_text().strip()
        # Right-click on the prompt's text widget: the menu offers that widget directly.
        prompt_node.locator("[data-widget='text'] textarea").click(button="right")
        page.get_by_role("menuitem", name="Add text to app view").click()
        # The KSampler's seed, through the node menu's list of its widgets.
        sampler.locator("[data-widget='steps']").click(button="right", position={"x": 4, "y": 4})
        page.get_by_role("menuitem", name="Add widget to app view").hover()
        page.get_by_role("menuitemcheckbox", name="seed").click()

        page.get_by_role("button", name="App", exact=True).click()
        app = page.get_by_role("region", name="App view")
        expect(app.locator(".lg-app-field")).to_have_count(2)
        labels = _field_labels(app)
        assert labels[0] == f"{prompt_title} › text" and labels[1].endswith("› seed"), (labels, prompt_title)

        # Reordering is an edit of the workflow: Ctrl+Z puts the order back.
        app.get_by_role("button", name=f"move {labels[1]} up").click()
        assert _field_labels(app) == [labels[1], labels[0]]
        page.keyboard.press("Control+z")
        expect(app.locator(".lg-app-field-label").first).to_have_text(labels[0])

        # Edit the prompt in the form, queue from the app view, and its image shows there.
        prompt_field = app.get_by_role("group", name=labels[0]).locator("textarea")
        prompt_field.fill(PROMPT)
        expect(app.get_by_role("group", name=labels[1]).locator(".lg-widget-value")).to_have_count(1)
        started = time.monotonic()
        app.get_by_role("button", name="Queue from app view").click()
        expect(app.locator("img.lg-app-image")).to_have_count(1, timeout=180000)
        print(f"app view: queue to image {time.monotonic() - started:.1f} s")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "web-app-view.png"))

        # Canvas commands do not reach the hidden graph: Ctrl+A then Delete leave every node in place.
        nodes = page.locator(".lg-node").count()
        assert nodes > 0
        app.get_by_role("button", name="Queue from app view").focus()
        page.keyboard.press("Control+a")
        page.keyboard.press("Delete")

        # Back in the graph the node holds the value typed in the form.
        page.get_by_role("button", name="Graph", exact=True).click()
        expect(app).to_have_count(0)
        expect(page.locator(".lg-node")).to_have_count(nodes)
        expect(prompt_node.locator("[data-widget='text'] textarea")).to_have_value(PROMPT)

        # The choice is part of the saved workflow, so a reload keeps the form.
        page.wait_for_function(
            "t => { const s = localStorage.getItem('latentgraph.tabs') || ''; return s.includes('linearData') && s.includes(t); }",
            arg=PROMPT,
        )
        page.wait_for_timeout(600)  # the last autosave settles
        page.reload()
        page.wait_for_selector(".lg-app[data-ready='true']", timeout=20000)
        page.get_by_role("button", name="App", exact=True).click()
        expect(app.locator(".lg-app-field")).to_have_count(2)
        assert _field_labels(app) == labels
        expect(app.get_by_role("group", name=labels[0]).locator("textarea")).to_have_value(PROMPT)
        # A field can be taken out again.
        app.get_by_role("button", name=f"remove {labels[1]}").click()
        expect(app.locator(".lg-app-field")).to_have_count(1)
