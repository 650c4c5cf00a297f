"""RebatchLatents: a list of latent batches regrouped into batches of batch_size (comfy_extras/nodes_rebatch.py).

The node takes its inputs as lists (ComfyUI's INPUT_IS_LIST) and returns a list (OUTPUT_IS_LIST):
the executor runs whatever follows once per output batch. Entries are taken in order; a run
of equal-sized latents is cut into batches of batch_size, and a latent of another height or
width starts a new batch (the last batch of each run may be smaller).

Every output batch carries a batch_index (an input's own, or the entry's position counted
over all inputs) and a noise_mask [b, 1, H*8, W*8] when some entry had one (entries without
a mask count as all ones; a batch whose mask is all ones gets none), as in ComfyUI.
One difference: ComfyUI means to resize masks of another size to H*8 x W*8 but drops the
result (and then fails to join masks of different sizes); here they are resized (bilinear).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nodes.api.declare import Int, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.latent.latent_ops import require_latent

torch = lazy_import("torch")
F = lazy_import("torch.nn.functional")

MAX_REBATCH = 4096


@dataclass
class _Run:
    """Samples, masks and batch indices of consecutive entries of one size, not yet emitted."""

    samples: torch.Tensor
    masks: torch.Tensor
    indices: list[int]

    def __len__(self) -> int:
        return self.samples.shape[0]

    def joined(self, other: _Run) -> _Run:
        return _Run(torch.cat((self.samples, other.samples.to(self.samples))),
                    torch.cat((self.masks, other.masks.to(self.masks))), self.indices + other.indices)

    def take(self, count: int) -> tuple[_Run, _Run | None]:
        """The first `count` entries, and the rest (None when nothing is left)."""
        head = _Run(self.samples[:count], self.masks[:count], self.indices[:count])
        if count >= len(self):
            return head, None
        return head, _Run(self.samples[count:], self.masks[count:], self.indices[count:])

    def as_latent(self) -> dict:
        latent = {"samples": self.samples, "noise_mask": self.masks, "batch_index": list(self.indices)}
        if bool((self.masks == 1.0).all()):
            del latent["noise_mask"]
        return latent


def pixel_masks(latent: dict, samples: torch.Tensor) -> torch.Tensor:
    """The latent's noise mask as [B, 1, H*8, W*8] (ones when it has none), repeated to its batch."""
    batch, height, width = samples.shape[0], samples.shape[2] * 8, samples.shape[3] * 8
    mask = latent.get("noise_mask")
    if mask is None:
        return torch.ones((batch, 1, height, width))
    mask = mask.reshape(-1, 1, mask.shape[-2], mask.shape[-1]).float()
    if mask.shape[-2:] != (height, width):
        mask = F.interpolate(mask, size=(height, width), mode="bilinear")
    if mask.shape[0] < batch:
        mask = mask.repeat((batch - 1) // mask.shape[0] + 1, 1, 1, 1)
    return mask[:batch]


def rebatch(latents: list[dict], batch_size: int, node: str = "RebatchLatents") -> list[dict]:
    """The latents regrouped into batches of at most `batch_size` (see the module docstring)."""
    out: list[dict] = []
    current: _Run | None = None
    seen = 0
    for position, latent in enumerate(latents):
        samples = require_latent(latent, node, f"latents[{position}]")["samples"]
        indices = list(latent["batch_index"]) if "batch_index" in latent else [seen + i for i in range(len(samples))]
        seen += len(indices)
        entry = _Run(samples, pixel_masks(latent, samples), indices)
        if current is None:
            current = entry
        elif samples.shape[2:] != current.samples.shape[2:]:
            out.append(current.as_latent())
            current = entry
        else:
            current = current.joined(entry)
        while current is not None and len(current) > batch_size:
            head, current = current.take(batch_size)
            out.append(head.as_latent())
    if current is not None:
        out.append(current.as_latent())
    return out


class RebatchLatents(Node):
    node_id = "RebatchLatents"
    display_name = "Rebatch Latents"
    category = "latent/batch"
    description = ("Regroups a list of latent batches into batches of batch_size; a latent of another size starts "
                   "a new batch. Whatever follows runs once per batch.")
    input_is_list = True
    inputs = [Socket("LATENT", "latents"), Int("batch_size", default=1, min=1, max=MAX_REBATCH)]
    outputs = [Out("LATENT", is_list=True)]

    @classmethod
    def run(cls, ctx: Any, *, latents: list, batch_size: list) -> tuple:
        size = batch_size[0] if isinstance(batch_size, (list, tuple)) and batch_size else batch_size
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"{cls.node_id}: batch_size must be an integer of at least 1, got {size!r}")
        if not isinstance(latents, (list, tuple)):
            latents = [latents]
        return (rebatch(list(latents), size, cls.node_id),)


NODES = [RebatchLatents]
