"""Shared pieces of the `/api/assets` routes (routes_assets.py, assets_routes_v046.py): ComfyUI's error
shape and the `Asset` object, input checks (tags, integers, list filters and pages, JSON bodies), and the
handler wrapper that turns AssetRequestError into its answer.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime, timezone
from urllib.parse import quote

from aiohttp import web

from . import assets_cursor
from .assets_jobs import claim_recent
from .assets_store import SORT_FIELDS, Asset, AssetsStore, ListQuery, store_for
from .jsonbody import BodyError, read_json
from .security import refused_content_type
from .state import state_of

TAG_RE = re.compile(r"[^\x00-\x1f\x7f,]{1,128}")
UPLOAD_ROOTS = ("input", "output")
FIELD_LIMIT = 64 * 1024


class AssetRequestError(Exception):
    """A request the asset routes refuse: becomes `{"error": {code, message, details}}` with `status`."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.details = status, code, details or {}


def error(status: int, code: str, message: str, details: dict | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, "details": details or {}}}, status=status)


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone.utc).replace(tzinfo=None).isoformat()


def preview_url(asset: Asset | None) -> str | None:
    """ComfyUI's /api/view address of an input or output file (None for temp, models and from-hash
    references): `type`, the quoted file name, and the quoted subfolder when there is one."""
    if asset is None or asset.root not in ("input", "output"):
        return None
    subfolder, _, filename = asset.rel_path.rpartition("/")
    url = f"/api/view?type={asset.root}&filename={quote(filename, safe='')}"
    return url + (f"&subfolder={quote(subfolder, safe='')}" if subfolder else "")


def system_metadata(asset: Asset) -> dict | None:
    """ComfyUI's `metadata` (what the scan knows of the file: its loader name, length, format and content
    type); None for a from-hash reference, which has no file of its own."""
    if asset.loader_path is None:
        return None
    extension = asset.rel_path.rsplit("/", 1)[-1].rpartition(".")
    body = {"filename": asset.loader_path, "content_length": asset.size,
            "format": extension[2].lower() if extension[1] else "", "content_type": asset.mime_type}
    return {key: value for key, value in body.items() if value is not None}


def asset_json(asset: Asset, store: AssetsStore | None = None) -> dict:
    """ComfyUI's `Asset` object; fields that are null are left out, as ComfyUI does. With `store`, an
    asset with a `preview_id` shows that asset's preview URL (blocking: call it in a thread)."""
    preview = store.get(asset.preview_id) if store is not None and asset.preview_id else asset
    body = {"id": asset.id, "name": asset.name, "hash": asset.hash, "asset_hash": asset.hash,
            "loader_path": asset.loader_path, "display_name": asset.display_name,
            "size": asset.size, "mime_type": asset.mime_type, "tags": asset.tags, "preview_url": preview_url(preview),
            "preview_id": asset.preview_id, "user_metadata": asset.user_metadata, "metadata": system_metadata(asset),
            "job_id": asset.job_id, "prompt_id": asset.job_id,  # prompt_id: ComfyUI's deprecated alias
            "created_at": _iso(asset.created_at), "updated_at": _iso(asset.updated_at),
            "last_access_time": _iso(asset.last_access_time)}
    return {key: value for key, value in body.items() if value is not None}


async def asset_answer(store: AssetsStore, asset: Asset) -> dict:
    return await in_thread(asset_json, asset, store)


async def in_thread(func, *args):
    return await asyncio.get_running_loop().run_in_executor(None, func, *args)


def store_of(request: web.Request) -> AssetsStore:
    return store_for(state_of(request).folders)


def refresh(request: web.Request, store: AssetsStore) -> None:
    """Before a listing: claim the newest history's outputs (job_id) that the worker's claimer has not (history
    from before this process, or a claim still queued), and sync the index with the folders."""
    claim_recent(store, state_of(request).store)
    store.sync()


# ---------------------------------------------------------------------------------------- input checks
def check_tags(value, *, field_name: str = "tags", allow_empty: bool = False, csv: bool = False,
               code: str = "INVALID_BODY") -> list[str]:
    """Tags from a list (or, with `csv`, a comma-separated string): stripped, lower-cased, de-duplicated,
    each 1-128 characters without commas or control characters; AssetRequestError(400, `code`) otherwise
    (ComfyUI: INVALID_BODY in a body, INVALID_QUERY in a query)."""
    if csv and isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or any(not isinstance(tag, str) for tag in value):
        raise AssetRequestError(400, code, f"{field_name} must be a list of strings.")
    tags: list[str] = []
    for tag in value:
        tag = tag.strip().lower()
        if not TAG_RE.fullmatch(tag):
            raise AssetRequestError(400, code, f"The tag {tag[:80]!r} is not allowed: a tag is 1-128 "
                                    "characters without commas or control characters.", {"tag": tag[:200]})
        if tag not in tags:
            tags.append(tag)
    if not tags and not allow_empty:
        raise AssetRequestError(400, code, f"{field_name} must name at least one tag.")
    return tags


def int_param(query, name: str, default: int, low: int, high: int | None) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise AssetRequestError(400, "INVALID_QUERY", f"{name} must be an integer, not {raw[:40]!r}.") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise AssetRequestError(400, "INVALID_QUERY", f"{name} must be {bounds}, not {value}.")
    return value


def parse_filters(query) -> ListQuery:
    """The filters of ComfyUI's ListAssetsQuery: tags as CSV or repeated, metadata_filter as a JSON object."""
    include = check_tags(",".join(query.getall("include_tags", [])), field_name="include_tags", allow_empty=True,
                         csv=True, code="INVALID_QUERY")
    exclude = check_tags(",".join(query.getall("exclude_tags", [])), field_name="exclude_tags", allow_empty=True,
                         csv=True, code="INVALID_QUERY")
    metadata_filter = None
    if query.get("metadata_filter", "").strip():
        try:
            metadata_filter = json.loads(query["metadata_filter"])
        except ValueError:
            metadata_filter = None
        if not isinstance(metadata_filter, dict):
            raise AssetRequestError(400, "INVALID_QUERY", "metadata_filter must be a JSON object.")
    return ListQuery(include, exclude, query.get("name_contains") or None, metadata_filter)


def parse_list_query(query) -> ListQuery:
    """ComfyUI's ListAssetsQuery: the filters, limit 1-500, offset, sort and order as ComfyUI validates
    them (an unknown value is 400 INVALID_QUERY), and `after`, a cursor from an earlier `next_cursor`
    (400 INVALID_CURSOR when forged, or made for another sort or order)."""
    listing = parse_filters(query)
    sort = query.get("sort", "created_at") or "created_at"
    order = query.get("order", "desc") or "desc"
    if sort not in SORT_FIELDS:
        raise AssetRequestError(400, "INVALID_QUERY", f"sort must be one of {', '.join(SORT_FIELDS)}.")
    if order not in ("asc", "desc"):
        raise AssetRequestError(400, "INVALID_QUERY", "order must be asc or desc.")
    listing.limit, listing.offset = int_param(query, "limit", 20, 1, 500), int_param(query, "offset", 0, 0, None)
    listing.sort, listing.order = sort, order
    if "after" in query:
        try:
            listing.after = assets_cursor.decode(query["after"], sort, order)
        except assets_cursor.InvalidCursorError as exc:
            raise AssetRequestError(400, "INVALID_CURSOR", str(exc)) from None
    return listing


async def json_body(request: web.Request) -> dict:
    bad = refused_content_type(request)
    if bad is not None:
        raise AssetRequestError(415, "UNSUPPORTED_MEDIA_TYPE", f"{request.path} takes application/json, not {bad}.")
    try:
        body = await read_json(request, max_bytes=FIELD_LIMIT, max_depth=32)
    except BodyError as exc:
        code = "INVALID_JSON" if exc.status == 400 else "BODY_TOO_LARGE"
        raise AssetRequestError(exc.status, code, f"Request body must be a JSON object: {exc}") from None
    if not isinstance(body, dict):
        raise AssetRequestError(400, "INVALID_BODY", "The body must be a JSON object.")
    return body


def handles_errors(handler):
    """Turn AssetRequestError into its JSON answer."""
    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except AssetRequestError as exc:
            return error(exc.status, exc.code, str(exc), exc.details)
    wrapper.__name__, wrapper.__doc__ = handler.__name__, handler.__doc__
    return wrapper


async def existing(request: web.Request) -> tuple[AssetsStore, Asset]:
    store, asset_id = store_of(request), request.match_info["id"]
    asset = await in_thread(store.get, asset_id)
    if asset is None:
        raise AssetRequestError(404, "ASSET_NOT_FOUND", f"No asset has the id {asset_id[:80]!r}.",
                                {"id": asset_id[:200]})
    return store, asset


async def existing_preview(store: AssetsStore, preview_id) -> None:
    """A `preview_id` must name a live asset (ComfyUI: an asset reference id)."""
    if not isinstance(preview_id, str) or await in_thread(store.get, preview_id) is None:
        raise AssetRequestError(400, "INVALID_BODY", "preview_id must be the id of an existing asset.")
