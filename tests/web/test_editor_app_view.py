"""End to end in Chromium: the app view. Two widgets of the default workflow (the prompt text and the
seed) are put in it from the node menu, edited there as a form, queued from there, and its image
shows; the edit is on the node in the graph, the choice is saved in `extra.linearData` (ComfyUI's app
mode field), is undoable, and the form is still there after a reload. The SaveImage output is chosen
from its node menu and shown under its title; the saved file carries it and ComfyUI's `extra.linearMode`,
and opening that file opens the app view."""

from __future__ import annotations

import json
import time
from pathlib import Path

from playwright.sync_api import expect

from .conftest import editor_page
from .editor_actions import node, open_workflow_file, saved_workflow

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


def test_app_view_shows_the_chosen_output_and_opens_a_file_saved_in_app_mode(browser, demo_server, request, tmp_path):
    with editor_page(browser, demo_server.url, request) as page:
        save = node(page, "9")
        title = save.locator(".lg-node-title-text").inner_text().strip()
        save.locator(".lg-node-title-text").click(button="right")
        page.get_by_role("menuitem", name="Show in app view").click()
        page.get_by_role("button", name="App", exact=True).click()
        app = page.get_by_role("region", name="App view")
        output = app.get_by_role("group", name=title, exact=True)
        expect(output.locator(".lg-app-output-title")).to_have_text(title)
        expect(output).to_contain_text("No image yet")

        # The saved file names the output and the view, as ComfyUI writes them.
        workflow = saved_workflow(page)
        assert workflow["extra"]["linearData"]["outputs"] == [9], workflow["extra"]
        assert workflow["extra"]["linearMode"] is True
        page.get_by_role("button", name="Graph", exact=True).click()
        expect(app).to_have_count(0)
        path = tmp_path / "saved-in-app-mode.json"
        path.write_text(json.dumps(workflow))
        open_workflow_file(page, path)
        expect(app.get_by_role("group", name=title, exact=True)).to_have_count(1)

        # The output's node deleted in the graph: the app view says so, and it can be taken out.
        page.get_by_role("button", name="Graph", exact=True).click()
        node(page, "9").locator(".lg-node-title-text").click()
        page.keyboard.press("Delete")
        expect(node(page, "9")).to_have_count(0)
        page.get_by_role("button", name="App", exact=True).click()
        gone = app.get_by_role("group", name="#9", exact=True)
        expect(gone).to_contain_text("not in the workflow")
        gone.get_by_role("button", name="remove output #9").click()
        expect(gone).to_have_count(0)
        expect(app).to_contain_text("The images of the latest run show here.")


def test_chosen_outputs_move_up_and_down_and_the_order_is_saved(browser, demo_server, request, tmp_path):
    with editor_page(browser, demo_server.url, request) as page:
        # The default workflow with a second Save Image, both chosen as outputs (9 first).
        workflow = saved_workflow(page)
        save = next(n for n in workflow["nodes"] if n["id"] == 9)
        second = {**json.loads(json.dumps(save)), "id": 10, "title": "Second save"}
        second["pos"] = [save["pos"][0], save["pos"][1] + 400]
        second["inputs"] = [{**i, "link": None} for i in second.get("inputs", [])]
        workflow["nodes"].append(second)
        workflow["last_node_id"] = max(workflow.get("last_node_id", 0), 10)
        workflow["extra"]["linearData"] = {"inputs": [], "outputs": [9, 10]}
        path = tmp_path / "two-outputs.json"
        path.write_text(json.dumps(workflow))
        open_workflow_file(page, path)
        page.get_by_role("button", name="App", exact=True).click()
        app = page.get_by_role("region", name="App view")
        titles = app.locator(".lg-app-output-title")
        first = app.get_by_role("group", name="Save Image", exact=True)
        expect(titles).to_have_text(["Save Image", "Second save"])
        expect(first.get_by_role("button", name="move output Save Image up")).to_be_disabled()

        first.get_by_role("button", name="move output Save Image down").click()
        expect(titles).to_have_text(["Second save", "Save Image"])
        expect(app.get_by_role("button", name="move output Second save up")).to_be_disabled()
        assert saved_workflow(page)["extra"]["linearData"]["outputs"] == [10, 9]
