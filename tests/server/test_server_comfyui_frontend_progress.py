"""ComfyUI's own editor (comfyui-frontend-package) in headless Chromium consumes what this server
sends: progress_state events, binary type-3 progress text, /internal/folder_paths and /view_metadata,
through the editor's own API client (`window.comfyAPI.api.api`)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import numpy as np
import pytest
from real_engine_harness import SayLines, real_server
from safetensors.numpy import save_file

from server.config import ServerConfig

frontend = pytest.importorskip("comfyui_frontend_package")
playwright_api = pytest.importorskip("playwright.async_api")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

API_PROMPT = {"1": {"class_type": "CountTo", "inputs": {"steps": 3, "seconds_per_step": 0.0}},
              "4": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}},
              "2": {"class_type": "TestSayLines", "inputs": {"text": "hello|editor ✓"}},
              "3": {"class_type": "PreviewAny", "inputs": {"source": ["2", 0]}}}

LISTEN = """() => {
  window.__got = [];
  const api = window.comfyAPI.api.api;
  for (const type of ['progress_state', 'progress_text', 'executing']) {
    api.addEventListener(type, (e) => window.__got.push([type, JSON.parse(JSON.stringify(e.detail))]));
  }
}"""


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium package")
def test_comfyui_editor_receives_progress_state_text_and_reads_internal_routes(tmp_path):
    static = Path(frontend.__file__).parent / "static"
    server = real_server(tmp_path, extra_nodes=[SayLines],
                         config=ServerConfig(web_root=static, db_synchronous="NORMAL"))
    save_file({"w": np.zeros(2, dtype=np.float32)},
              str(server.runtime.folders.models_dir / "checkpoints" / "tiny.safetensors"),
              metadata={"modelspec.title": "Tiny"})
    page_errors: list[str] = []
    server_errors: list[tuple] = []

    async def drive():
        async with playwright_api.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = await browser.new_page()
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            page.on("response", lambda r: server_errors.append((r.status, r.url)) if r.status >= 500 else None)
            await page.goto(server.url + "/", wait_until="domcontentloaded")
            await page.wait_for_function("() => !!(window.app && window.app.graph)", timeout=90_000)
            await page.evaluate(LISTEN)
            await page.evaluate("(api) => window.app.loadApiJson(api, 'progress.json')", API_PROMPT)
            await page.evaluate("() => window.app.queuePrompt(0, 1)")
            await page.wait_for_function(
                "() => window.__got.some(([t, d]) => t === 'executing' && d === null)", timeout=30_000)
            got = await page.evaluate("() => window.__got")
            folder_paths = await page.evaluate("() => window.comfyAPI.api.api.getFolderPaths()")
            metadata = await page.evaluate(
                "() => window.comfyAPI.api.api.viewMetadata('checkpoints', 'tiny.safetensors')")
            await browser.close()
            return got, folder_paths, metadata

    try:
        got, folder_paths, metadata = asyncio.run(drive())
    finally:
        server.stop()
    texts = [(d["nodeId"], d["text"]) for t, d in got if t == "progress_text"]
    assert texts == [("2", "hello"), ("2", "editor ✓")]
    states = [d for t, d in got if t == "progress_state"]
    assert any(s["nodes"].get("1", {}).get("max") == 3 and s["nodes"]["1"]["state"] == "running" for s in states)
    assert {n: e["state"] for n, e in states[-1]["nodes"].items()} == dict.fromkeys(("1", "2", "3", "4"), "finished")
    assert folder_paths["checkpoints"] == [str(server.runtime.folders.models_dir / "checkpoints")]
    assert metadata == {"modelspec.title": "Tiny"}
    assert page_errors == [] and server_errors == []
