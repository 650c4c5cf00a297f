"""The opaque `after` / `next_cursor` token of `GET /api/assets` (ComfyUI v0.46's keyset pages).

A cursor names the last asset of a page by its sort value and id, and the sort field and direction it
was minted under, as base64url JSON without padding. The next page starts strictly after that
(value, id) pair in that order, so items added or removed meanwhile neither repeat nor skip the rest.
Cursors are untrusted input: anything malformed, oversized, or minted for another sort field or
direction is refused with InvalidCursorError (the route answers 400 `INVALID_CURSOR`).

Only `created_at`, `updated_at`, `name` and `size` page by cursor (as in ComfyUI); `last_access_time`
(often null) pages by offset only. Times travel as integer Unix microseconds.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

CURSOR_SORT_FIELDS = ("created_at", "updated_at", "name", "size")
TIME_FIELDS = ("created_at", "updated_at")
MAX_CURSOR_CHARS = 8192
MAX_VALUE_CHARS = 512
MAX_ID_CHARS = 128


class InvalidCursorError(ValueError):
    """A cursor this server did not mint for this sort and order."""


@dataclass(frozen=True)
class Cursor:
    sort: str
    value: int | str
    id: str
    order: str


def sort_value(sort: str, raw) -> int | str:
    """The comparable cursor value of a row's sort column (times as Unix microseconds)."""
    if sort in TIME_FIELDS:
        return int(raw * 1_000_000)
    return int(raw) if sort == "size" else str(raw)


def encode(sort: str, value: int | str, asset_id: str, order: str) -> str | None:
    """The cursor after this row; None when the row cannot carry one (a value over the length cap)."""
    if sort not in CURSOR_SORT_FIELDS or order not in ("asc", "desc") or not asset_id:
        return None
    text = str(value)
    if len(text) > MAX_VALUE_CHARS or len(asset_id) > MAX_ID_CHARS:
        return None
    raw = json.dumps({"s": sort, "v": text, "id": asset_id, "o": order}, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode("utf-8")).rstrip(b"=").decode("ascii")


def decode(token: str, sort: str, order: str) -> Cursor:
    """The cursor in `token`, checked against the request's `sort` and `order`."""
    if sort not in CURSOR_SORT_FIELDS:
        raise InvalidCursorError(f"Cursor pages are not supported for sort={sort!r}; use offset.")
    if len(token) > MAX_CURSOR_CHARS:
        raise InvalidCursorError("The cursor is too long.")
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursorError("The cursor is not one this server handed out.") from None
    if not isinstance(payload, dict):
        raise InvalidCursorError("The cursor is not one this server handed out.")
    fields = [payload.get(key) for key in ("s", "v", "id", "o")]
    if not all(isinstance(item, str) for item in fields):
        raise InvalidCursorError("The cursor is missing its sort, value, id or order.")
    field_name, text, asset_id, cursor_order = fields
    if not asset_id or len(asset_id) > MAX_ID_CHARS or len(text) > MAX_VALUE_CHARS:
        raise InvalidCursorError("The cursor's id or value is empty or too long.")
    if field_name != sort:
        raise InvalidCursorError(f"The cursor was made for sort={field_name[:40]!r}, not sort={sort!r}.")
    if cursor_order != order:
        raise InvalidCursorError(f"The cursor was made for order={cursor_order[:8]!r}, not order={order!r}.")
    if sort == "name":
        return Cursor(sort, text, asset_id, order)
    try:
        value = int(text)
    except ValueError:
        raise InvalidCursorError(f"The cursor's {sort} value is not an integer.") from None
    return Cursor(sort, value, asset_id, order)
