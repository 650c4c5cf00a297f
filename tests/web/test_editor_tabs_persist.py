"""End to end in Chromium: open workflow tabs survive a page reload (each with its graph, the
active one chosen again), and the workflows browser opens a saved workflow in a new tab."""

from __future__ import annotations

import json
import urllib.parse

from playwright.sync_api import expect

from .editor_actions import count_workflow, open_workflow_file

TABS = "[role='tablist'] [role='tab']"


def test_two_tabs_come_back_after_a_reload(page, tmp_path):
    tabs = page.locator(TABS)
    nodes = page.locator(".react-flow__node")
    expect(nodes).to_have_count(7)  # tab 1: the default workflow
    page.get_by_role("button", name="new tab").click()
    path = tmp_path / "count.json"
    path.write_text(json.dumps(count_workflow(3, 0.0)))
    open_workflow_file(page, path)
    expect(nodes).to_have_count(2)
    expect(tabs).to_have_count(2)
    page.wait_for_function("() => (JSON.parse(localStorage.getItem('latentgraph.tabs') || '{}').tabs || []).length === 2")
    page.wait_for_timeout(500)  # the last change settles into storage

    page.reload()
    page.wait_for_selector(".lg-app[data-ready='true']", timeout=20000)
    expect(tabs).to_have_count(2)
    expect(tabs.nth(1)).to_have_attribute("aria-selected", "true")
    expect(tabs.nth(1)).to_contain_text("count.json")
    expect(nodes).to_have_count(2)
    tabs.first.click()
    expect(nodes).to_have_count(7)
    expect(page.locator(".lg-node[data-node-type='KSampler']")).to_have_count(1)


def test_workflows_browser_opens_a_saved_workflow_in_a_new_tab(page, server_url):
    name = "persist-new-tab.json"
    target = urllib.parse.quote(f"workflows/{name}", safe="")
    res = page.request.post(f"{server_url}/userdata/{target}?overwrite=true", data=json.dumps(count_workflow(2, 0.0)))
    assert res.ok, res.status
    tabs = page.locator(TABS)
    page.get_by_role("button", name="Workflows", exact=True).click()
    page.get_by_role("button", name=f"open {name} in new tab").click()
    expect(tabs).to_have_count(2)
    expect(tabs.nth(1)).to_have_attribute("aria-selected", "true")
    expect(tabs.nth(1)).to_contain_text(name)
    expect(page.locator(".react-flow__node")).to_have_count(2)
    tabs.first.click()
    expect(page.locator(".react-flow__node")).to_have_count(7)  # the first tab kept its workflow
