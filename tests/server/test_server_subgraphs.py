"""Subgraph blueprints of custom node packs (/global_subgraphs, as ComfyUI's subgraph manager serves
them to its editor): listed without their text, fetched one by one, nothing else reachable."""

from __future__ import annotations

import json

from real_engine_harness import real_server

BLUEPRINT = {"nodes": [{"id": 1, "type": "0fe56559-1cb1-4fe8-955a-15de80e086e9"}], "links": [], "version": 0.4,
             "definitions": {"subgraphs": [{"id": "0fe56559-1cb1-4fe8-955a-15de80e086e9", "name": "Upscale twice"}]}}


def test_pack_blueprints_are_listed_and_served(tmp_path):
    server = real_server(tmp_path)
    try:
        packs = server.runtime.folders.model_paths("custom_nodes")[0]
        (packs / "my_pack" / "subgraphs").mkdir(parents=True)
        (packs / "my_pack" / "subgraphs" / "upscale_twice.json").write_text(json.dumps(BLUEPRINT))
        (packs / "my_pack" / "subgraphs" / "notes.txt").write_text("not a blueprint")
        (packs / ".hidden" / "subgraphs").mkdir(parents=True)
        (packs / ".hidden" / "subgraphs" / "x.json").write_text("{}")
        (packs / "secret.json").write_text('{"secret": 1}')

        status, listing = server.json("GET", "/api/global_subgraphs")
        assert status == 200 and len(listing) == 1
        [(key, entry)] = listing.items()
        assert entry == {"source": "custom_node", "name": "upscale_twice", "info": {"node_pack": "my_pack"}}
        assert server.json("GET", "/api/global_subgraphs")[1] == listing  # ids are stable

        status, one = server.json("GET", f"/api/global_subgraphs/{key}")
        assert status == 200 and {k: one[k] for k in entry} == entry
        assert isinstance(one["data"], str) and json.loads(one["data"]) == BLUEPRINT  # a string, as the editor wants
        for other in ("0123456789abcdef", "..%2Fsecret.json", "secret"):
            status, body = server.json("GET", f"/api/global_subgraphs/{other}")
            assert status == 404 and "error" in body
    finally:
        server.stop()


def test_no_packs_no_blueprints(live):
    assert live.json("GET", "/global_subgraphs") == (200, {})
