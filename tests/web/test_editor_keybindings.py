"""End to end in Chromium: rebinding a keyboard shortcut in Settings. A combo another command has
asks first; the new combo queues at once and the old one no longer does; the change is stored
under ComfyUI's Comfy.Keybinding.* ids and holds after a reload; Reset puts the default back."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import ARTIFACTS, editor_page
from .editor_actions import answer_prompts_here

QUEUE = "Queue the workflow"


@pytest.fixture
def demo_page(browser, demo_server, request):
    """The editor on this module's own server (the bindings stored here stay here)."""
    with editor_page(browser, demo_server.url, request) as pg:
        yield pg


def _wait_for_count(page, bodies: list, count: int) -> None:
    for _ in range(100):
        if len(bodies) >= count:
            break
        page.wait_for_timeout(50)
    page.wait_for_timeout(300)  # a prompt that should not go out has had its chance
    assert len(bodies) == count


def _expect_stored(page, url: str, new: list, unset: list) -> None:
    """Waits for the server's settings file to hold these two lists (the save is a request away)."""
    for _ in range(50):
        s = page.request.get(url + "/settings").json()
        stored = s.get("Comfy.Keybinding.NewBindings"), s.get("Comfy.Keybinding.UnsetBindings")
        if stored == (new, unset):
            return
        page.wait_for_timeout(100)
    assert stored == (new, unset)


def test_rebind_queue_runs_the_new_combo_survives_a_reload_and_resets(demo_page, demo_server):
    page = demo_page
    bodies = answer_prompts_here(page)
    page.keyboard.press("Control+,")
    dialog = page.get_by_role("dialog", name="Settings")
    row = dialog.locator("tr[data-command='Comfy.QueuePrompt']")

    # Ctrl+Y is Redo's: the editor asks, and Cancel leaves both as they were.
    row.get_by_role("button", name=f"Change Ctrl+Enter of {QUEUE}").click()
    expect(row.get_by_role("status")).to_contain_text("Press the new combination")
    page.keyboard.press("Control+y")
    expect(dialog.get_by_role("alert")).to_contain_text("already runs “Redo”")
    ARTIFACTS.mkdir(exist_ok=True)
    dialog.screenshot(path=str(ARTIFACTS / "web-keybinding-conflict.png"))
    dialog.get_by_role("alert").get_by_role("button", name="Cancel").click()
    expect(row).to_contain_text("Ctrl+Enter")

    # Escape cancels the recording without closing the dialog; then Alt+Q is recorded.
    row.get_by_role("button", name=f"Change Ctrl+Enter of {QUEUE}").click()
    page.keyboard.press("Escape")
    expect(row.get_by_role("status")).to_have_count(0)
    row.get_by_role("button", name=f"Change Ctrl+Enter of {QUEUE}").click()
    page.keyboard.press("Alt+q")
    expect(row.locator("kbd")).to_have_text(["Alt+Q"])
    _expect_stored(
        page,
        demo_server.url,
        [{"commandId": "Comfy.QueuePrompt", "combo": {"key": "q", "ctrl": False, "alt": True, "shift": False}}],
        [{"commandId": "Comfy.QueuePrompt", "combo": {"key": "Enter", "ctrl": True, "alt": False, "shift": False}}],
    )
    dialog.get_by_role("button", name="Close").click()

    page.keyboard.press("Control+Enter")
    page.keyboard.press("Alt+q")
    _wait_for_count(page, bodies, 1)

    page.reload()
    page.wait_for_selector(".lg-app[data-ready='true']", timeout=20000)
    page.keyboard.press("Control+Enter")
    page.keyboard.press("Alt+q")
    _wait_for_count(page, bodies, 2)

    page.keyboard.press("Control+,")
    row.get_by_role("button", name=f"Reset {QUEUE}").click()
    expect(row.locator("kbd")).to_have_text(["Ctrl+Enter"])
    _expect_stored(page, demo_server.url, [], [])
    dialog.get_by_role("button", name="Close").click()
    page.keyboard.press("Alt+q")
    page.keyboard.press("Control+Enter")
    _wait_for_count(page, bodies, 3)
