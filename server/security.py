"""Request checks: access token, Host/Origin (CSRF and DNS rebinding), JSON-only POSTs.

Policy (see also the README of the server in the report):
- When every listen address is loopback, the Host header must name a loopback host
  (`localhost`, `127.x.x.x`, `::1`), or the request gets 403: a DNS-rebinding page whose
  own name resolves to 127.0.0.1 is refused even when its Origin equals its Host.
- When an Origin header is present it must be the server's own origin: the same scheme (the
  socket's, or `X-Forwarded-Proto` behind a TLS proxy), host and effective port (a missing port
  is the scheme's default, 80 or 443), so a page on `http://127.0.0.1` cannot reach
  `127.0.0.1:8188`; `Origin: null` and malformed origins are refused (403).
- With a token configured, every request must carry it: `Authorization: Bearer <token>`,
  `?token=<token>`, or the cookie set after a successful `?token=` (so a browser tab opened
  with `?token=` keeps working).
- JSON routes refuse bodies with the "simple" content types a page can send without a CORS
  preflight (text/plain, form-urlencoded, multipart) when a browser sends them from another
  site: 415. "From another site" = `Sec-Fetch-Site` is cross-site/same-site, or the request
  carries browser markers (Referer, Sec-Fetch-*) but no Origin proving the same origin.
  Same-origin pages pass (an Origin that reached this point equals the Host): ComfyUI's own
  editor posts settings as form-urlencoded JSON through axios. Plain scripts (no browser
  headers) pass too, as ComfyUI's urllib examples send form-urlencoded.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from aiohttp import web

TOKEN_COOKIE = "latentgraph_token"
_SIMPLE_CONTENT_TYPES = {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"}
_BROWSER_HEADERS = ("Origin", "Referer", "Sec-Fetch-Site", "Sec-Fetch-Mode")
DEFAULT_PORTS = {"http": 80, "https": 443}


class InsecureListenError(ValueError):
    """Listening beyond loopback without a token and without the explicit unsafe flag."""


def is_loopback(host: str) -> bool:
    """True for loopback IPs and the name `localhost` (brackets around IPv6 allowed)."""
    host = host.strip().strip("[]").lower().rstrip(".")
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_listen_security(listen: Iterable[str], token: str | None, unsafe_no_token: bool) -> None:
    """Raise InsecureListenError when a non-loopback address is bound with no token and no opt-out."""
    exposed = [addr for addr in listen if not is_loopback(addr)]
    if exposed and not token and not unsafe_no_token:
        raise InsecureListenError(
            f"Listening on {', '.join(exposed)} exposes the server to the network. Pass --token <secret> "
            "(clients then send 'Authorization: Bearer <secret>' or '?token=<secret>'), or "
            "--unsafe-no-token to run without one.")


def split_host(value: str) -> tuple[str, int | None] | None:
    """'host:port' -> (host, port); None when malformed (bad port, empty host)."""
    try:
        parts = urlsplit("//" + value)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    return host.lower(), port


def check_host_origin(headers, loopback_only: bool, scheme: str = "http") -> str | None:
    """The reason to refuse the request, or None when Host/Origin are acceptable.

    `scheme` is how the request reached us (`request_scheme`); a missing port means the scheme's default."""
    host_header = headers.get("Host", "")
    host = split_host(host_header) if host_header else None
    if host_header and host is None:
        return f"malformed Host header {host_header!r}"
    if loopback_only and host is not None and not is_loopback(host[0]):
        return f"Host {host_header!r} is not a loopback name while the server listens on loopback only"
    origin = headers.get("Origin")
    if origin is None:
        return None
    try:
        parts = urlsplit(origin)
        origin_host, origin_port = parts.hostname, parts.port
    except ValueError:
        return f"malformed Origin {origin!r}"
    if not origin_host or parts.scheme not in ("http", "https"):
        return f"Origin {origin!r} is not allowed"
    if host is None:
        return "an Origin header was sent without a Host header"
    origin_key = (parts.scheme, origin_host.lower(), origin_port or DEFAULT_PORTS[parts.scheme])
    host_key = (scheme, host[0], host[1] or DEFAULT_PORTS[scheme])
    if origin_key != host_key:
        return (f"Origin {origin!r} does not match the server's own origin "
                f"{scheme}://{host_header} (scheme, host and port must all agree)")
    return None


def request_scheme(request: web.Request) -> str:
    """The scheme the browser used: `X-Forwarded-Proto` from a TLS-terminating proxy, else the socket's.

    A page cannot add that header to a request without a CORS preflight, which this server never grants."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    if forwarded in DEFAULT_PORTS:
        return forwarded
    return request.scheme if request.scheme in DEFAULT_PORTS else "http"


def token_ok(request: web.Request, token: str) -> tuple[bool, bool]:
    """(accepted, came from the query string)."""
    expected = token.encode()
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].strip().encode(), expected):
        return True, False
    query = request.query.get("token")
    if query is not None and hmac.compare_digest(query.encode(), expected):
        return True, True
    cookie = request.cookies.get(TOKEN_COOKIE)
    if cookie is not None and hmac.compare_digest(cookie.encode(), expected):
        return True, False
    return False, False


def refused_content_type(request: web.Request) -> str | None:
    """The content type to refuse on a JSON route (a cross-site browser post), or None."""
    content_type = request.content_type.lower()
    if content_type not in _SIMPLE_CONTENT_TYPES:
        return None
    site = request.headers.get("Sec-Fetch-Site", "").lower()
    if site in ("cross-site", "same-site"):
        return content_type
    if site in ("same-origin", "none"):
        return None
    if "Origin" not in request.headers and any(name in request.headers for name in _BROWSER_HEADERS):
        return content_type
    return None


def error_response(status: int, type_: str, message: str) -> web.Response:
    return web.json_response({"error": {"type": type_, "message": message, "details": "", "extra_info": {}}},
                             status=status)


def make_security_middleware(*, loopback_only: bool, token: str | None, json_routes: frozenset[str]):
    """The middleware applying the policy in the module docstring."""

    @web.middleware
    async def security_middleware(request: web.Request, handler):
        reason = check_host_origin(request.headers, loopback_only, request_scheme(request))
        if reason is not None:
            return error_response(403, "forbidden_origin", reason)
        from_query = False
        if token:
            accepted, from_query = token_ok(request, token)
            if not accepted:
                return error_response(401, "unauthorized", "A valid access token is required "
                                      "(Authorization: Bearer <token> or ?token=<token>).")
        if request.method == "OPTIONS":
            return web.Response(status=200)
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            path = request.path[4:] if request.path.startswith("/api/") else request.path
            if _is_json_route(path, json_routes):
                bad = refused_content_type(request)
                if bad is not None:
                    return error_response(415, "unsupported_media_type",
                                          f"{request.path} takes application/json, not {bad}.")
        response = await handler(request)
        if from_query and token and not response.prepared:
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")
        return response

    return security_middleware


def _is_json_route(path: str, json_routes: frozenset[str]) -> bool:
    return path in json_routes or any(path.startswith(prefix + "/") for prefix in json_routes)
