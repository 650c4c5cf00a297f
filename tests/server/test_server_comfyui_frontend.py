"""`--front-end comfyui`: ComfyUI's own editor (comfyui-frontend-package) in headless Chromium
loads, renders a graph of our nodes, and queues it on our engine."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import pytest
from server_harness import LiveServer

import graph.executor as executor_module
import graph.validate as validate
import nodes.api.runtime as runtime_module
import nodes.build as registry_module
from server.config import ServerConfig

frontend = pytest.importorskip("comfyui_frontend_package")
playwright_api = pytest.importorskip("playwright.async_api")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

API_PROMPT = {"1": {"class_type": "IntMath", "inputs": {"a": 6, "b": 7, "operation": "multiply"}},
              "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium package")
def test_comfyui_editor_loads_renders_our_nodes_and_queues(tmp_path):
    runtime = runtime_module.NodeRuntime.for_directory(tmp_path)
    runtime.folders.ensure_dirs()
    registry, _ = registry_module.build_registry(runtime, [])
    static = Path(frontend.__file__).parent / "static"
    server = LiveServer(tmp_path, registry=registry, runtime=runtime, validator=validate.validate_prompt,
                        executor=executor_module.Executor(registry, runtime=runtime),
                        config=ServerConfig(web_root=static, db_synchronous="NORMAL"))
    server_errors = []

    async def drive():
        async with playwright_api.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = await browser.new_page()
            page.on("response", lambda r: server_errors.append((r.status, r.url)) if r.status >= 500 else None)
            await page.goto(server.url + "/", wait_until="domcontentloaded")
            await page.wait_for_function("() => !!(window.app && window.app.graph)", timeout=90_000)
            await page.evaluate("(api) => window.app.loadApiJson(api, 'ours.json')", API_PROMPT)
            types = await page.evaluate("() => window.app.graph._nodes.map(n => n.type).sort()")
            drawn = await page.evaluate("() => document.querySelector('canvas') !== null")
            await page.evaluate("() => window.app.queuePrompt(0, 1)")
            await browser.close()
            return types, drawn

    try:
        types, drawn = asyncio.run(drive())
        assert types == ["IntMath", "PreviewAny"] and drawn

        def finished():
            history = server.json("GET", "/history")[1]
            return [entry for entry in history.values() if entry["status"]["status_str"] == "success"]

        deadline = time.monotonic() + 30
        while not finished() and time.monotonic() < deadline:
            time.sleep(0.1)
        entries = finished()
        assert entries and entries[0]["outputs"]["2"]["text"] == ["42"]
        assert "workflow" in entries[0]["prompt"][3]["extra_pnginfo"]  # the editor's UI workflow rides along
        assert server_errors == []
    finally:
        server.stop()
