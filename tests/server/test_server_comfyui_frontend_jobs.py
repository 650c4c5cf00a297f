"""ComfyUI's newest editor (comfyui-frontend-package 1.58.1) on our server, in headless Chromium:
it lists our nodes, opens one of our workflows/ from its Templates dialog, queues a prompt and gets
its progress and image, reads finished and cancelled jobs from /api/jobs (the poll that got a 400
before), and cancels a queued and a running job through its API client's cancelJob (what the
queue panel's cancel entry calls)."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from real_engine_harness import real_server

from server.config import ServerConfig

frontend = pytest.importorskip("comfyui_frontend_package")
playwright_api = pytest.importorskip("playwright.async_api")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ROOT = Path(__file__).resolve().parent.parent.parent

IMAGE_PROMPT = {"1": {"class_type": "CountTo", "inputs": {"steps": 4, "seconds_per_step": 0.05}},
                "2": {"class_type": "EmptyImage", "inputs": {"width": ["1", 0], "height": 8, "batch_size": 1,
                                                              "color": 0x00FF00}},
                "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "fe"}}}
LONG_PROMPT = {"1": {"class_type": "CountTo", "inputs": {"steps": 2000, "seconds_per_step": 0.05}},
               "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}

LISTEN = """() => {
  window.__got = [];
  const api = window.comfyAPI.api.api;
  for (const type of ['progress', 'executed', 'executing', 'execution_start']) {
    api.addEventListener(type, (e) => window.__got.push([type, JSON.parse(JSON.stringify(e.detail))]));
  }
}"""
QUEUE_LONG = """async (prompt) => {
  const api = window.comfyAPI.api.api;
  const one = await api.queuePrompt(0, {output: prompt, workflow: {}});
  const two = await api.queuePrompt(0, {output: {...prompt, "1": {...prompt["1"], inputs: {...prompt["1"].inputs,
    steps: 2001}}}, workflow: {}});
  return [one.prompt_id, two.prompt_id];
}"""


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium package")
def test_newest_comfyui_editor_templates_progress_image_jobs_and_cancel(tmp_path):
    assert frontend.__name__ and (Path(frontend.__file__).parent / "static" / "index.html").is_file()
    static = Path(frontend.__file__).parent / "static"
    server = real_server(tmp_path, config=ServerConfig(web_root=static, db_synchronous="NORMAL",
                                                       workflows_dir=ROOT / "workflows"))
    page_errors: list[str] = []
    bad_answers: list[tuple] = []

    async def drive():
        async with playwright_api.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = await browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            page.on("response", lambda r: bad_answers.append((r.status, r.url))
                    if r.status >= 500 or (r.status == 400 and "/api/jobs" in r.url) else None)
            await page.goto(server.url + "/", wait_until="domcontentloaded")
            await page.wait_for_function("() => !!(window.app && window.app.graph)", timeout=90_000)
            facts = {"types": await page.evaluate(
                "() => ['KSampler', 'SaveImageWebsocket', 'CountTo'].filter(t => t in LiteGraph.registered_node_types)")}

            # Templates dialog: our workflows are listed; opening one loads its graph.
            await page.evaluate("() => window.app.extensionManager.command.execute('Comfy.BrowseTemplates')")
            card = page.locator('[data-testid="template-workflow-txt2img_sd15"]')
            await card.wait_for(timeout=30_000)
            await card.click()
            await page.wait_for_function(
                "() => window.app.graph._nodes.some(n => n.type === 'KSampler')", timeout=30_000)
            facts["template_nodes"] = await page.evaluate("() => window.app.graph._nodes.map(n => n.type).sort()")

            # Queue a prompt: progress events, then the image, which /view serves.
            await page.evaluate(LISTEN)
            await page.evaluate("(api) => window.app.loadApiJson(api, 'image.json')", IMAGE_PROMPT)
            await page.evaluate("() => window.app.queuePrompt(0, 1)")
            await page.wait_for_function("() => window.__got.some(([t, d]) => t === 'executed' && d.node === '3')",
                                         timeout=60_000)
            facts["got"] = await page.evaluate("() => window.__got")

            # Cancel: a running and a queued job, as the queue panel does; then the editor's job lists.
            ids = await page.evaluate(QUEUE_LONG, LONG_PROMPT)
            await page.wait_for_function("async () => (await window.comfyAPI.api.api.getQueue()).Running.length > 0",
                                         timeout=30_000)
            await page.evaluate("async (id) => await window.comfyAPI.api.api.cancelJob(id)", ids[1])  # queued
            await page.evaluate("async (id) => await window.comfyAPI.api.api.cancelJob(id)", ids[0])  # running
            await page.wait_for_function(
                "async () => { const q = await window.comfyAPI.api.api.getQueue();"
                " return q.Running.length === 0 && q.Pending.length === 0; }", timeout=30_000)
            facts["history"] = await page.evaluate(
                "async () => (await window.comfyAPI.api.api.getHistory(64)).map(j => [j.id, j.status])")
            facts["ids"] = ids
            await browser.close()
            return facts

    try:
        facts = asyncio.run(drive())
        template = json.loads((ROOT / "workflows" / "txt2img_sd15_ui.json").read_text())
        assert facts["types"] == ["KSampler", "SaveImageWebsocket", "CountTo"]
        assert facts["template_nodes"] == sorted(n["type"] for n in template["nodes"])
        progress = [d for t, d in facts["got"] if t == "progress" and d.get("node") == "1"]
        assert [p["value"] for p in progress] == [1, 2, 3, 4] and progress[0]["max"] == 4
        image = next(d for t, d in facts["got"] if t == "executed" and d["node"] == "3")["output"]["images"][0]
        status, headers, _ = server.request("GET", f"/view?filename={image['filename']}&type=output")
        assert status == 200 and headers["content-type"] == "image/png"
        history = dict(facts["history"])
        assert history[facts["ids"][0]] == "cancelled" and history[facts["ids"][1]] == "cancelled"
        assert "completed" in history.values()
        assert bad_answers == [] and page_errors == []
    finally:
        server.stop()
