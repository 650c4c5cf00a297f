"""SaveImageWebsocket: each image of the batch goes out as a PNG progress picture, no file is written."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from graph.context import NodeContext
from nodes.library.image.websocket_save import SaveImageWebsocket
from tests.nodes.sd_fakes import execute, gradient


def _run(runtime, images):
    sent = []
    ctx = NodeContext(node_id="9", prompt_id="p1", runtime=runtime,
                      on_progress=lambda node, value, total, picture: sent.append((node, value, total, picture)))
    result = execute(SaveImageWebsocket, ctx, images=images)
    return result, sent


def test_each_image_is_sent_as_an_exact_png(runtime):
    pixels = np.stack([gradient(5, 7, 3, seed=s) for s in (1, 2)])  # uint8 [2, 5, 7, 3]
    images = torch.from_numpy(pixels.astype(np.float32) / 255.0)
    result, sent = _run(runtime, images)
    assert [(node, value, total) for node, value, total, _ in sent] == [("9", 0, 2), ("9", 1, 2)]
    for (_, _, _, picture), expected in zip(sent, pixels, strict=True):
        assert picture.format == "PNG" and picture.data[:8] == b"\x89PNG\r\n\x1a\n"
        decoded = np.asarray(Image.open(io.BytesIO(picture.data)))
        assert decoded.shape == (5, 7, 3) and np.array_equal(decoded, expected)  # lossless, 8 bits
    assert result.ui in ({}, None)  # nothing for the editor to show
    assert not any(runtime.folders.output_dir.iterdir()) and not any(runtime.folders.temp_dir.iterdir())


def test_values_are_clipped_to_8_bits(runtime):
    images = torch.tensor([[[[-0.5, 0.5, 2.0]]]])  # one 1x1 RGB image outside 0..1
    _, sent = _run(runtime, images)
    assert np.asarray(Image.open(io.BytesIO(sent[0][3].data))).tolist() == [[[0, 127, 255]]]


@pytest.mark.parametrize("bad", [torch.zeros(4, 4, 3), torch.zeros(0, 4, 4, 3), "image"])
def test_bad_input_is_a_clear_error(runtime, bad):
    with pytest.raises((TypeError, ValueError), match="SaveImageWebsocket: images must be an IMAGE tensor"):
        _run(runtime, bad)
