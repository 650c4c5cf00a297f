"""SaveImageWebsocket: images sent to the prompt's client as binary WebSocket frames, no files.

ComfyUI ships it as custom_nodes/websocket_image_save.py; clients that stream results (its
websockets_api_example, several SDKs) collect images only this way. Each image of the batch is
encoded as PNG and reported as a progress step (step i of batch size) carrying the picture, as
ComfyUI does through its progress bar; the server sends it as a type-1 binary frame with image
type 2 (PNG) — or a type-4 frame with metadata to a client that announced
`supports_preview_metadata` — whatever the preview method, and never drops it as it may drop
previews (server/worker.py, server/ws.py). The node has no outputs and shows nothing in the editor.
"""

from __future__ import annotations

import io
from typing import Any

from graph.context import PreviewImage
from nodes.api.declare import Node, Socket
from nodes.library.image.image_io import check_image_batch, to_pil

# Fast PNG: the frame goes over the socket at once (ComfyUI leaves Pillow's default, 6).
FRAME_COMPRESS_LEVEL = 1


def png_bytes(image: Any) -> bytes:
    """One image [H, W, C] (0..1) as PNG file bytes."""
    buffer = io.BytesIO()
    to_pil(image).save(buffer, format="PNG", compress_level=FRAME_COMPRESS_LEVEL)
    return buffer.getvalue()


class SaveImageWebsocket(Node):
    node_id = "SaveImageWebsocket"
    display_name = "SaveImageWebsocket"
    category = "api/image"
    description = ""
    output_node = True
    inputs = [Socket("IMAGE", "images")]
    outputs = []

    @classmethod
    def run(cls, ctx: Any, *, images) -> dict:
        batch = check_image_batch(images, cls.node_id)
        total = int(batch.shape[0])
        for index in range(total):
            # ComfyUI reports step i (0-based) of the batch with each image; so do we.
            ctx.progress(index, total, PreviewImage("PNG", png_bytes(batch[index])))
        return {"ui": {}}


NODES = [SaveImageWebsocket]
