"""Limits on what an error report may hold, so that no prompt can make a huge reply.

A hostile prompt can have 20,000 nodes, megabyte-long ids and literals, or one long
cycle. Validation reports every problem it finds, but what goes into the reply is cut
to size here: each list is capped and says how many it left out, each text is cut, each
value copied into an error is cut in length and depth, and the report as a whole stops
adding nodes once it holds `MAX_REPORTED_NODES` of them or about `MAX_REPORT_BYTES`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

# Node ids named in one error (the members of a cycle).
MAX_LISTED_IDS = 20
# Output ids listed per failing node in ``dependent_outputs``.
MAX_DEPENDENT_OUTPUTS = 20
# Errors listed per node; the rest are summed up in one last error.
MAX_ERRORS_PER_NODE = 20
# Entries of ``node_errors`` and the rough size they may take together.
MAX_REPORTED_NODES = 100
MAX_REPORT_BYTES = 512 * 1024
# Lines of a top-level ``details`` text that lists several errors.
MAX_DETAIL_LINES = 50
# Characters of one message, of one details text, of one line of a details text that lists
# several errors, and of one string value inside an error.
MAX_TEXT = 1000
MAX_DETAILS_TEXT = 16_000
MAX_LINE_TEXT = 200
MAX_VALUE_TEXT = 200
# Items of one list or object value inside an error, all levels together, and its depth.
MAX_VALUE_ITEMS = 200
MAX_VALUE_DEPTH = 10
# Traceback frames kept (the innermost ones).
MAX_TRACEBACK_FRAMES = 50


def cut_text(text: str, limit: int = MAX_TEXT) -> str:
    """`text`, or its first `limit` characters and how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


def listed_ids(ids: Sequence[str], limit: int = MAX_LISTED_IDS) -> str:
    """"'#1', '#2' and 5 more": the first `limit` node ids, each cut short, and how many more."""
    shown = ", ".join(f"'#{cut_text(node_id, MAX_VALUE_TEXT)}'" for node_id in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def capped_lines(lines: Iterable[str], total: int, limit: int = MAX_DETAIL_LINES) -> str:
    """The first `limit` of `total` lines, joined, with a last line saying how many were left out."""
    shown = [cut_text(line, MAX_LINE_TEXT) for _, line in zip(range(limit), lines, strict=False)]
    if total > limit:
        shown.append(f"... and {total - limit} more")
    return "\n".join(shown)


def capped_traceback(frames: list[str], limit: int = MAX_TRACEBACK_FRAMES) -> list[str]:
    """The innermost `limit` frames of a formatted traceback, after a line counting the others."""
    if len(frames) <= limit:
        return frames
    return [f"... {len(frames) - limit} outer frames left out\n", *frames[-limit:]]


def json_safe(value: Any, items: int = MAX_VALUE_ITEMS) -> Any:
    """A copy of `value` fit for an error body: JSON types only, non-finite floats as text,
    odd objects as their repr, strings cut short, and at most `items` list or object items
    (all levels together) down to `MAX_VALUE_DEPTH` levels; cut places say how many were left out."""
    budget = [items]

    def copy(item: Any, depth: int) -> Any:
        if isinstance(item, str):
            return cut_text(item, MAX_VALUE_TEXT)
        if isinstance(item, bool) or item is None:
            return item
        if isinstance(item, int):
            return item if item.bit_length() <= 256 else f"<an integer of {item.bit_length()} bits>"
        if isinstance(item, float):
            return item if math.isfinite(item) else str(item)
        if isinstance(item, (list, tuple, dict)):
            if depth >= MAX_VALUE_DEPTH or budget[0] <= 0:
                return "..."
            return copy_container(item, depth)
        return cut_text(repr(item), MAX_VALUE_TEXT)

    def copy_container(item: list | tuple | dict, depth: int) -> Any:
        keep = min(len(item), budget[0])
        budget[0] -= keep
        more = len(item) - keep
        if isinstance(item, dict):
            out = {cut_text(str(k), MAX_VALUE_TEXT): copy(v, depth + 1) for k, v in _first_items(item, keep)}
            if more:
                out["..."] = f"{more} more"
            return out
        out_list = [copy(v, depth + 1) for v in item[:keep]]
        if more:
            out_list.append(f"... and {more} more")
        return out_list

    return copy(value, 0)


def _first_items(mapping: dict, count: int) -> list[tuple[Any, Any]]:
    return [pair for _, pair in zip(range(count), mapping.items(), strict=False)]


def capped_errors(errors: list[dict]) -> list[dict]:
    """A node's errors, the ones beyond `MAX_ERRORS_PER_NODE` summed up in one last error."""
    if len(errors) <= MAX_ERRORS_PER_NODE:
        return errors
    more = len(errors) - MAX_ERRORS_PER_NODE
    summary = {
        "type": "more_errors_not_shown",
        "message": f"{more} more errors of this node are not shown",
        "details": "",
        "extra_info": {"not_shown": more},
    }
    return [*errors[:MAX_ERRORS_PER_NODE], summary]


def capped_node_errors(node_errors: dict[str, dict]) -> tuple[dict[str, dict], int]:
    """The first entries of `node_errors` that fit the report limits, and how many were left out."""
    kept: dict[str, dict] = {}
    size = 0
    for node_id, entry in node_errors.items():
        if len(kept) >= MAX_REPORTED_NODES:
            break
        entry = {**entry, "errors": capped_errors(entry["errors"])}
        size += len(node_id) + len(json.dumps(entry, default=str))
        if kept and size > MAX_REPORT_BYTES:
            break
        kept[node_id] = entry
    return kept, len(node_errors) - len(kept)
