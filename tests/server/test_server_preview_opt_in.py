"""Previews only when asked (ComfyUI since Dec 2025): none by default; a prompt asks with
extra_data.preview_method, or the server's --preview-method turns them on for prompts that do not."""

from __future__ import annotations

import asyncio
import itertools
import json
import struct
import uuid

import aiohttp
import pytest
from server_harness import done_for, slow_prompt

from server.config import ServerConfig

_VALUES = itertools.count(1)  # a new value each run: a cached Slow node would report no progress


async def _binary_frames(live, extra_data: dict | None) -> list[bytes]:
    cid = uuid.uuid4().hex
    messages: list = []
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{live.url}/ws?clientId={cid}") as ws:
        fields = {"prompt": slow_prompt(next(_VALUES), steps=3, delay_ms=1, preview=1), "client_id": cid}
        if extra_data is not None:
            fields["extra_data"] = extra_data
        async with session.post(f"{live.url}/prompt", json=fields) as resp:
            assert resp.status == 200
            prompt_id = (await resp.json())["prompt_id"]
        until = done_for(prompt_id)

        async def read():
            async for msg in ws:
                messages.append(json.loads(msg.data) if msg.type == aiohttp.WSMsgType.TEXT else msg.data)
                if until(messages):
                    return

        await asyncio.wait_for(read(), 20)
    progress = [m for m in messages if isinstance(m, dict) and m["type"] == "progress"]
    assert len(progress) == 3  # the prompt ran and reported progress either way
    return [m for m in messages if isinstance(m, bytes)]


@pytest.mark.parametrize("extra_data", [None, {}, {"preview_method": "none"}, {"preview_method": "default"},
                                        {"preview_method": "bogus"}])
def test_a_client_that_did_not_ask_gets_no_binary_frames(live, extra_data):
    assert live.config.preview_method == "none"
    assert asyncio.run(_binary_frames(live, extra_data)) == []


@pytest.mark.parametrize("method", ["auto", "latent2rgb", "taesd"])
def test_a_prompt_that_asks_gets_preview_frames(live, method):
    frames = asyncio.run(_binary_frames(live, {"preview_method": method}))
    assert len(frames) == 3 and all(struct.unpack(">I", f[:4])[0] == 1 for f in frames)


def test_the_server_flag_turns_previews_on_and_a_prompt_can_still_refuse(make_live):
    live = make_live(config=ServerConfig(db_synchronous="NORMAL", preview_method="auto"))
    assert len(asyncio.run(_binary_frames(live, None))) == 3
    assert len(asyncio.run(_binary_frames(live, {"preview_method": "default"}))) == 3
    assert asyncio.run(_binary_frames(live, {"preview_method": "none"})) == []
