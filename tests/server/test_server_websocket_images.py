"""SaveImageWebsocket over a real server: its images reach the prompt's client as binary frames
(type 1 with image type 2 = PNG, or type 4 with metadata after feature_flags) even though no preview
was asked for, no file is written, and the frames are never dropped as previews may be."""

from __future__ import annotations

import io
import json
import struct

import numpy as np
from PIL import Image
from real_engine_harness import real_server, run_and_collect

from graph.context import PreviewImage
from server.ws import OUTPUT_IMAGE, ClientConnection, Hub

PROMPT = {"1": {"class_type": "EmptyImage", "inputs": {"width": 4, "height": 3, "batch_size": 2, "color": 0xFF8000}},
          "2": {"class_type": "SaveImageWebsocket", "inputs": {"images": ["1", 0]}}}


def _decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_images_arrive_as_png_frames_without_asking_for_previews(tmp_path):
    server = real_server(tmp_path)
    try:
        assert server.config.preview_method == "none"
        prompt_id, messages = run_and_collect(server, PROMPT, "ws-client")
        frames = [m for m in messages if isinstance(m, bytes)]
        assert len(frames) == 2
        for frame in frames:
            assert struct.unpack(">II", frame[:8]) == (1, 2)  # PREVIEW_IMAGE, PNG
            assert _decode(frame[8:]).tolist() == [[[255, 128, 0]] * 4] * 3
        assert server.wait_done(prompt_id)["status"]["status_str"] == "success"
        assert list(server.runtime.folders.output_dir.iterdir()) == []

        flags = {"type": "feature_flags", "data": {"supports_preview_metadata": True}}
        PROMPT["1"]["inputs"]["color"] = 0x0000FF  # not from the cache: the node runs again
        prompt_id, messages = run_and_collect(server, PROMPT, "ws-meta", first_message=flags)
        frames = [m for m in messages if isinstance(m, bytes)]
        assert len(frames) == 2
        kind, length = struct.unpack(">II", frames[0][:8])
        meta = json.loads(frames[0][8:8 + length])
        assert kind == 4 and meta["node_id"] == "2" and meta["prompt_id"] == prompt_id
        assert meta["image_type"] == "image/png"
        assert _decode(frames[0][8 + length:])[0, 0].tolist() == [0, 0, 255]
    finally:
        PROMPT["1"]["inputs"]["color"] = 0xFF8000
        server.stop()


def test_output_frames_are_not_dropped_when_previews_would_be():
    hub = Hub(queue_limit=8)
    client = ClientConnection("c", ws=None, limit=8)
    hub.clients["c"] = client
    for _ in range(5):  # more than half full: previews are dropped from here on
        client.offer("text", droppable=False)
    picture = {"image": PreviewImage("PNG", b"\x89PNG"), "node_id": "2", "prompt_id": "p"}
    hub.dispatch("preview", dict(picture), "c")
    assert len(client.queue) == 5 and client.dropped_previews == 1
    hub.dispatch(OUTPUT_IMAGE, dict(picture), "c")
    assert len(client.queue) == 6 and client.queue[-1][1] == struct.pack(">II", 1, 2) + b"\x89PNG"


def test_the_node_is_listed_as_comfyui_lists_it(tmp_path):
    server = real_server(tmp_path)
    try:
        info = server.json("GET", "/object_info/SaveImageWebsocket")[1]["SaveImageWebsocket"]
        assert info["output_node"] is True and info["category"] == "api/image" and info["output"] == []
        assert info["input"]["required"] == {"images": ["IMAGE"]}
        assert server.queue_prompt(PROMPT)["node_errors"] == {}  # an output node: the prompt is accepted
    finally:
        server.stop()
