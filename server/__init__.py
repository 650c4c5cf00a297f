"""aiohttp application: ComfyUI-compatible HTTP/WebSocket API over a durable queue."""
