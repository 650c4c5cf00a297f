"""Reading JSON request bodies safely: size limit, depth limit, errors as ComfyUI-shaped 400s."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


class BodyError(Exception):
    """A request body that cannot be used; carries the HTTP status and the error dict."""

    def __init__(self, status: int, type_: str, message: str, details: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.error = {"type": type_, "message": message, "details": details, "extra_info": {}}

    def response(self, **extra: Any) -> web.Response:
        return web.json_response({"error": self.error, **extra}, status=self.status)


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """True when `value` nests lists/dicts deeper than `limit` (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def read_json(request: web.Request, *, max_bytes: int, max_depth: int, allow_empty: bool = False) -> Any:
    """Parse the body as JSON or raise BodyError (413 too large, 400 invalid_json)."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise BodyError(413, "request_too_large", f"The request body is larger than {max_bytes} bytes.")
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > max_bytes:
            raise BodyError(413, "request_too_large", f"The request body is larger than {max_bytes} bytes.")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        if allow_empty:
            return None
        raise BodyError(400, "invalid_json", "The request body is empty; a JSON object was expected.")
    try:
        value = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        raise BodyError(400, "invalid_json", "The JSON body is nested too deeply.",
                        f"at most {max_depth} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyError(400, "invalid_json", "The request body is not valid JSON.", str(exc)) from None
    if json_depth_exceeds(value, max_depth):
        raise BodyError(400, "invalid_json", "The JSON body is nested too deeply.", f"at most {max_depth} levels")
    return value
