"""A real Stable Diffusion workflow through the real server: POST /prompt, WebSocket events with
binary latent previews, the image through /view, and the cache across prompts."""

from __future__ import annotations

import asyncio
import copy
import io
import json
import struct
import uuid
from pathlib import Path

import pytest
from PIL import Image
from server_harness import LiveServer, collect_ws, done_for

from app.cli import main as cli_main
from graph.executor import Executor
from graph.validate import validate_prompt
from nodes.api.runtime import NodeRuntime
from nodes.build import build_registry

ROOT = Path(__file__).resolve().parents[2]
SIZE = 64
STEPS = 3


@pytest.fixture(scope="module")
def sd_base(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("sd_server")
    ckpt = base / "models" / "checkpoints" / "sd15.safetensors"
    ckpt.parent.mkdir(parents=True)
    assert cli_main(["make-checkpoint", "--family", "sd15", "--size", "tiny", "--out", str(ckpt)]) == 0
    return base


@pytest.fixture
def sd_server(sd_base):
    runtime = NodeRuntime.for_directory(sd_base)
    runtime.folders.ensure_dirs()
    registry, _ = build_registry(runtime, [])
    server = LiveServer(sd_base, registry=registry, runtime=runtime,
                        executor=Executor(registry, runtime=runtime), validator=validate_prompt)
    yield server
    server.stop()


def txt2img_prompt() -> dict:
    prompt = json.loads((ROOT / "workflows" / "txt2img_sd15_api.json").read_text())
    prompt["4"]["inputs"]["ckpt_name"] = "sd15.safetensors"
    prompt["5"]["inputs"].update(width=SIZE, height=SIZE)
    prompt["3"]["inputs"]["steps"] = STEPS
    return prompt


def run_over_ws(server: LiveServer, prompt: dict, **fields) -> tuple[str, list]:
    client_id = uuid.uuid4().hex
    accepted: dict = {}

    async def submit():
        loop = asyncio.get_running_loop()
        accepted.update(await loop.run_in_executor(
            None, lambda: server.queue_prompt(prompt, client_id=client_id, **fields)))

    messages = asyncio.run(collect_ws(server.url, client_id,
                                      lambda m: bool(accepted) and done_for(accepted["prompt_id"])(m),
                                      on_open=submit, timeout=120))
    return accepted["prompt_id"], messages


def events(messages: list, kind: str) -> list[dict]:
    return [m["data"] for m in messages if isinstance(m, dict) and m["type"] == kind]


def test_txt2img_streams_progress_and_previews_and_serves_the_image(sd_server):
    # Previews are sent only when asked (ComfyUI's default is none): this prompt asks, as the editor does.
    prompt_id, messages = run_over_ws(sd_server, txt2img_prompt(), extra_data={"preview_method": "latent2rgb"})
    assert events(messages, "execution_success"), events(messages, "execution_error")

    progress = [p for p in events(messages, "progress") if p["node"] == "3"]
    assert [p["value"] for p in progress] == list(range(1, STEPS + 1))
    assert all(p["max"] == STEPS and p["prompt_id"] == prompt_id for p in progress)

    frames = [m for m in messages if isinstance(m, bytes)]
    assert len(frames) == STEPS, "one latent preview per sampler step"
    for frame in frames:
        event_type, image_format = struct.unpack(">II", frame[:8])
        assert (event_type, image_format) == (1, 1)  # PREVIEW_IMAGE, JPEG
        with Image.open(io.BytesIO(frame[8:])) as preview:
            assert preview.format == "JPEG"
            assert preview.size == (SIZE // 8, SIZE // 8)  # latent2rgb: one pixel per latent cell

    (saved,) = [e for e in events(messages, "executed") if e["node"] == "9"]
    image_ref = saved["output"]["images"][0]
    status, headers, body = sd_server.request(
        "GET", f"/view?filename={image_ref['filename']}&subfolder={image_ref['subfolder']}&type=output")
    assert status == 200 and headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(body)) as png:
        assert png.size == (SIZE, SIZE)
        assert json.loads(png.text["prompt"])["3"]["class_type"] == "KSampler"

    history = sd_server.wait_done(prompt_id)
    assert history["status"]["status_str"] == "success"
    assert history["outputs"]["9"]["images"] == saved["output"]["images"]


def test_the_cache_spans_prompts_and_only_changes_rerun(sd_server):
    prompt = txt2img_prompt()
    _, first = run_over_ws(sd_server, prompt)
    ran_first = {e["node"] for e in events(first, "executing") if e["node"] is not None}
    assert ran_first == set(prompt)

    reseeded = copy.deepcopy(prompt)
    reseeded["3"]["inputs"]["seed"] += 1
    _, second = run_over_ws(sd_server, reseeded)
    (cached,) = events(second, "execution_cached")
    assert set(cached["nodes"]) == {"4", "5", "6", "7"}
    ran_second = {e["node"] for e in events(second, "executing") if e["node"] is not None}
    assert ran_second == {"3", "8", "9"}


def test_a_missing_checkpoint_is_a_validation_error_naming_the_input(sd_server):
    prompt = txt2img_prompt()
    prompt["4"]["inputs"]["ckpt_name"] = "not-there.safetensors"
    status, body = sd_server.json("POST", "/prompt", {"prompt": prompt})
    assert status == 400
    (error,) = body["node_errors"]["4"]["errors"]
    assert error["type"] == "value_not_in_list"
    assert error["extra_info"]["input_name"] == "ckpt_name"


def test_system_stats_lists_the_models_a_run_loaded(sd_server):
    assert sd_server.json("GET", "/system_stats")[1]["models"] == []  # nothing loaded before the first prompt
    _, messages = run_over_ws(sd_server, txt2img_prompt())
    assert events(messages, "execution_success")
    models = sd_server.json("GET", "/system_stats")[1]["models"]
    assert {m["model"] for m in models} >= {"UNetModel"}
    assert all(m["bytes"] > 0 and m["placement"] in ("device", "streamed", "disk") for m in models)
    assert "sd15" in {m["family"] for m in models}
