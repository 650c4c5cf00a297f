"""End to end in Chromium: a group's title is renamed in place (double-click, type, Enter), Escape
cancels, the new title is saved and Ctrl+Z takes the rename back."""

from __future__ import annotations

from playwright.sync_api import expect

from .editor_actions import node, saved_workflow


def test_rename_group_in_place(page):
    node(page, "3").locator(".lg-node-title").click()
    page.keyboard.press("Control+g")
    title = page.locator(".lg-group-title")
    expect(title).to_have_text("Group")

    title.dblclick()
    field = title.get_by_label("group title")
    expect(field).to_be_focused()
    field.fill("Sampling")
    field.press("Enter")
    expect(title).to_have_text("Sampling")
    expect(field).to_have_count(0)

    title.dblclick()
    title.get_by_label("group title").fill("never kept")
    title.get_by_label("group title").press("Escape")
    expect(title).to_have_text("Sampling")
    assert [g["title"] for g in saved_workflow(page)["groups"]] == ["Sampling"]

    page.keyboard.press("Control+z")
    expect(title).to_have_text("Group")
