"""At most `ws_max_clients` WebSockets at once (issue 20, item 9): one more is refused with HTTP 503
and a JSON error before the upgrade; closing a socket frees its place."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from server.config import ServerConfig


def test_the_default_cap_is_set_without_a_flag():
    assert ServerConfig().ws_max_clients == 256


def test_connections_over_the_cap_are_refused_with_503(make_live):
    live = make_live(config=ServerConfig(db_synchronous="NORMAL", ws_max_clients=3))

    async def run():
        async with aiohttp.ClientSession() as session:
            sockets = [await session.ws_connect(f"{live.url}/ws?clientId=c{i}") for i in range(3)]
            for ws in sockets:
                assert json.loads((await ws.receive()).data)["type"] == "status"
            with pytest.raises(aiohttp.WSServerHandshakeError) as info:
                await session.ws_connect(f"{live.url}/ws?clientId=extra")
            assert info.value.status == 503
            async with session.get(f"{live.url}/ws?clientId=extra2",
                                   headers={"Upgrade": "websocket", "Connection": "Upgrade",
                                            "Sec-WebSocket-Version": "13",
                                            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}) as response:
                body = await response.json()
                assert response.status == 503 and body["error"]["type"] == "too_many_connections"
                assert body["error"]["extra_info"]["limit"] == 3 and "limit" in body["error"]["message"]
            await sockets[0].close()
            for _ in range(100):  # the server notices the close
                if live.state.hub.open_sockets < 3:
                    break
                await asyncio.sleep(0.02)
            again = await session.ws_connect(f"{live.url}/ws?clientId=again")
            assert json.loads((await again.receive()).data)["type"] == "status"
            await again.close()
            for ws in sockets[1:]:
                await ws.close()

    asyncio.run(run())
    assert live.json("GET", "/system_stats")[0] == 200


def test_a_burst_of_connections_never_overshoots_the_cap(make_live):
    live = make_live(config=ServerConfig(db_synchronous="NORMAL", ws_max_clients=5))

    async def run():
        async with aiohttp.ClientSession() as session:
            async def connect(i):
                try:
                    return await session.ws_connect(f"{live.url}/ws?clientId=b{i}")
                except aiohttp.WSServerHandshakeError as exc:
                    return exc.status

            results = await asyncio.gather(*(connect(i) for i in range(30)))
            opened = [r for r in results if not isinstance(r, int)]
            assert len(opened) == 5 and sorted(set(r for r in results if isinstance(r, int))) == [503]
            assert live.state.hub.open_sockets == 5
            for ws in opened:
                await ws.close()

    asyncio.run(run())
