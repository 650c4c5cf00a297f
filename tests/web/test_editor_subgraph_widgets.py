"""End to end in Chromium: a widget promoted inside a subgraph is edited on the instance. The
prompts and the sampler become a subgraph, the negative prompt's text and the sampler's seed are
promoted, and the values typed on the instance reach the inner nodes "10:7" and "10:3" of the
exported prompt; Ctrl+Z takes one edit back."""

from __future__ import annotations

from playwright.sync_api import expect

from .editor_actions import exported_prompt, node

INSTANCE = "10"  # the default workflow's last node id is 9


def _promote(page, node_id: str, widget: str) -> None:
    node(page, node_id).locator(".lg-node-title").click(button="right")
    page.get_by_role("menuitem", name=f"Promote widget {widget}").click()


def test_promoted_widgets_edit_on_the_instance(page):
    for i, node_id in enumerate(["6", "7", "3"]):
        node(page, node_id).locator(".lg-node-title").click(modifiers=["Control"] if i else [])
    page.keyboard.press("Control+Shift+E")
    instance = node(page, INSTANCE)
    expect(instance).to_contain_text("New Subgraph")
    expect(instance.locator(".lg-promoted-widgets")).to_have_count(0)

    instance.dblclick()
    _promote(page, "7", "text")
    _promote(page, "3", "seed")
    page.get_by_role("navigation", name="Subgraph path").get_by_role("button", name="Workflow").click()

    text = instance.locator(".lg-widget-row[data-widget='text'] textarea")
    expect(text).to_have_count(1)
    before = exported_prompt(page)
    expect(text).to_have_value(before["10:7"]["inputs"]["text"])
    text.fill("blurry, dark")
    seed = instance.locator(".lg-widget-row[data-widget='seed']")
    seed.locator(".lg-widget-value").click()
    seed.locator("input").fill("4242")
    seed.locator("input").press("Enter")

    prompt = exported_prompt(page)
    assert prompt["10:7"]["inputs"]["text"] == "blurry, dark"
    assert prompt["10:3"]["inputs"]["seed"] == 4242
    assert prompt["10:6"]["inputs"]["text"] == before["10:6"]["inputs"]["text"]

    page.locator(".react-flow__pane").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+z")
    undone = exported_prompt(page)
    assert undone["10:3"]["inputs"]["seed"] == before["10:3"]["inputs"]["seed"]
    assert undone["10:7"]["inputs"]["text"] == "blurry, dark"
