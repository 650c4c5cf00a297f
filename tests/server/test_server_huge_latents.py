"""Huge latents are refused at POST /prompt (400, the node named) before anything is allocated (issue 20.2)."""

from __future__ import annotations

import gc

import psutil
import pytest
from real_engine_harness import real_server

MB = 1024**2


@pytest.fixture
def server(tmp_path):
    live = real_server(tmp_path)
    yield live
    live.stop()


def latent_prompt(width: int, height: int, batch_size: int) -> dict:
    return {"1": {"class_type": "EmptyLatentImage",
                  "inputs": {"width": width, "height": height, "batch_size": batch_size}},
            "2": {"class_type": "SaveLatent", "inputs": {"samples": ["1", 0], "filename_prefix": "huge"}}}


def test_the_16384_square_and_the_4096_batch_are_refused_without_memory_growth(server):
    process = psutil.Process()
    # Warm up the routes and the validator with a prompt that is accepted and runs.
    accepted = server.queue_prompt(latent_prompt(64, 64, 1))
    assert server.wait_done(accepted["prompt_id"])["status"]["status_str"] == "success"
    gc.collect()
    before = process.memory_info().rss

    status, body = server.json("POST", "/prompt", {"prompt": latent_prompt(16384, 16384, 1)})
    assert status == 400, body
    [error] = body["node_errors"]["1"]["errors"]
    assert body["node_errors"]["1"]["class_type"] == "EmptyLatentImage"
    assert error["extra_info"]["input_name"] == "width"
    assert "EmptyLatentImage: 16384x16384 is 268,435,456 pixels per image" in error["details"]

    status, body = server.json("POST", "/prompt", {"prompt": latent_prompt(64, 64, 4096)})
    assert status == 400, body
    [error] = body["node_errors"]["1"]["errors"]
    assert error["extra_info"]["input_name"] == "batch_size"
    assert "EmptyLatentImage: a batch of 4,096 is over the limit of 64 (--max-batch)" in error["details"]

    gc.collect()
    grown = process.memory_info().rss - before
    assert grown < 200 * MB, f"RSS grew by {grown / MB:.0f} MB"
    status, queue = server.json("GET", "/queue")
    assert status == 200 and queue["queue_running"] == [] and queue["queue_pending"] == []
