"""Shared pieces of the UI → API conversion tests: the stub registry, the SDXL example files and a
hand-built checkpoint → sampler → save graph whose parts each test changes."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from ui_stub_registry import StubRegistry, slot, ui_node, workflow  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
REG = StubRegistry()
KSAMPLER_VALUES = [5, "fixed", 20, 8, "euler", "normal", 1]


def sdxl_ui() -> dict:
    return json.loads((FIXTURES / "comfyui_sdxl_simple_ui.json").read_text())


def sdxl_api() -> dict:
    return json.loads((FIXTURES / "comfyui_sdxl_simple_api.json").read_text())


def ksampler_inputs(model=1, positive=2, negative=3, latent=4, seed_link=None):
    slots = [slot("model", "MODEL", model)]
    if seed_link is not None:
        slots.append(slot("seed", "INT", seed_link, widget="seed"))
    return slots + [
        slot("positive", "CONDITIONING", positive),
        slot("negative", "CONDITIONING", negative),
        slot("latent_image", "LATENT", latent),
    ]


def base_graph(extra_nodes=(), extra_links=(), ks_inputs=None, ks_values=None):
    """Checkpoint(1) → two prompts (2, 3), latent (4) → KSampler(5) → decode (6) → save (7)."""
    nodes = [
        ui_node(1, "CheckpointLoaderSimple", outputs=["MODEL", "CLIP", "VAE"], values=["sd_xl_base_1.0.safetensors"]),
        ui_node(2, "CLIPTextEncode", inputs=[slot("clip", "CLIP", 2)], outputs=["CONDITIONING"], values=["cat"]),
        ui_node(3, "CLIPTextEncode", inputs=[slot("clip", "CLIP", 3)], outputs=["CONDITIONING"], values=["dog"]),
        ui_node(4, "EmptyLatentImage", outputs=["LATENT"], values=[512, 512, 1]),
        ui_node(
            5,
            "KSampler",
            inputs=ks_inputs or ksampler_inputs(1, 4, 5, 6),
            outputs=["LATENT"],
            values=ks_values or list(KSAMPLER_VALUES),
        ),
        ui_node(6, "VAEDecode", inputs=[slot("samples", "LATENT", 7), slot("vae", "VAE", 8)], outputs=["IMAGE"]),
        ui_node(7, "SaveImage", inputs=[slot("images", "IMAGE", 9)], values=["out"]),
        *extra_nodes,
    ]
    links = [
        [1, 1, 0, 5, 0, "MODEL"],
        [2, 1, 1, 2, 0, "CLIP"],
        [3, 1, 1, 3, 0, "CLIP"],
        [4, 2, 0, 5, 1, "CONDITIONING"],
        [5, 3, 0, 5, 2, "CONDITIONING"],
        [6, 4, 0, 5, 3, "LATENT"],
        [7, 5, 0, 6, 0, "LATENT"],
        [8, 1, 2, 6, 1, "VAE"],
        [9, 6, 0, 7, 0, "IMAGE"],
        *extra_links,
    ]
    return workflow(nodes, links)
