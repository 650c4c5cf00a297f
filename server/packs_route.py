"""GET /packs (ours): every custom node pack found at start and how it went.

Each pack is `loaded`, `loaded_with_problems` (it imported, but some of its nodes were refused:
a node id already taken, a class that does not follow the node contract) or `failed` (it raised
while importing, or exports no usable NODE_CLASS_MAPPINGS), with the reasons. The data is the
plugin loader's report (nodes.api.plugins.PluginReport), handed to `create_app(packs=...)`; the
server reads it only through the Protocols below. Without a report the list is empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from aiohttp import web

LOADED, LOADED_WITH_PROBLEMS, FAILED = "loaded", "loaded_with_problems", "failed"


class LoadedPackInfo(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def path(self) -> Path: ...

    @property
    def node_ids(self) -> Sequence[str]: ...

    @property
    def refused(self) -> Sequence[str]:
        """One sentence per node of the pack that was not registered."""
        ...

    @property
    def web_dir(self) -> Path | None: ...


class FailedPackInfo(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def path(self) -> Path: ...

    @property
    def error(self) -> str:
        """`ExceptionType: message` of what stopped the import."""
        ...

    @property
    def traceback(self) -> str: ...


class PackReport(Protocol):
    @property
    def loaded(self) -> Sequence[LoadedPackInfo]: ...

    @property
    def failed(self) -> Sequence[FailedPackInfo]: ...


PACKS = web.AppKey("latentgraph_packs", PackReport)


def pack_entries(report: PackReport | None) -> list[dict]:
    """One JSON object per pack, sorted by name."""
    if report is None:
        return []
    entries = [{"name": pack.name, "path": str(pack.path),
                "status": LOADED_WITH_PROBLEMS if pack.refused else LOADED,
                "nodes": list(pack.node_ids), "problems": list(pack.refused), "error": None, "traceback": None,
                "web_directory": str(pack.web_dir) if pack.web_dir is not None else None}
               for pack in report.loaded]
    entries += [{"name": pack.name, "path": str(pack.path), "status": FAILED, "nodes": [], "problems": [pack.error],
                 "error": pack.error, "traceback": pack.traceback or None, "web_directory": None}
                for pack in report.failed]
    return sorted(entries, key=lambda entry: (entry["name"], entry["status"]))


async def get_packs(request: web.Request) -> web.Response:
    return web.json_response({"packs": pack_entries(request.app.get(PACKS))})


ROUTES = [("GET", "/packs", get_packs)]
