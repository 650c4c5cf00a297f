"""Running a model whose weights stay on the offload device: each block visits the compute device.

ComfyUI's "lowvram" idea. `streaming_units(module)` splits a model into the blocks that move: a
UNet's embeddings, each input block, the middle block, each output block and the head; any other
model its children, a child holding more than a quarter of the model split again. `Streamer`
then moves a unit to the device right before it computes and back right after (forward hooks),
and keeps the parameters no unit covers (a bare positional embedding, say) on the device for the
whole call. Only one unit's weights are on the device at a time, so the peak is the largest unit
plus the activations.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
from torch import nn

Mover = Callable[[nn.Module, torch.device], None]


def _size(module: nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in [*module.parameters(), *module.buffers()])


def _default_move(module: nn.Module, device: torch.device) -> None:
    module.to(device)


def streaming_units(module: nn.Module) -> list[nn.Module]:
    """The blocks of `module` that move one at a time (empty when it cannot be split)."""
    if all(hasattr(module, name) for name in ("input_blocks", "middle_block", "output_blocks")):
        head = [getattr(module, name) for name in ("time_embed", "label_emb") if getattr(module, name, None) is not None]
        tail = [module.out] if getattr(module, "out", None) is not None else []
        return [*head, *module.input_blocks, module.middle_block, *module.output_blocks, *tail]
    total = _size(module)
    units: list[nn.Module] = []

    def split(parent: nn.Module, depth: int) -> None:
        for child in parent.children():
            size = _size(child)
            if size == 0:
                continue
            if depth < 4 and size * 4 > total and any(True for _ in child.children()):
                split(child, depth + 1)
            else:
                units.append(child)

    split(module, 0)
    return units if len(units) > 1 else []


def largest_unit_bytes(module: nn.Module) -> int:
    """Bytes of the largest streamed block (0 when the model cannot be streamed)."""
    return max((_size(unit) for unit in streaming_units(module)), default=0)


def _loose_tensors(module: nn.Module, units: list[nn.Module]) -> list[nn.Module]:
    """Modules holding parameters or buffers directly that lie outside every unit."""
    inside = {id(sub) for unit in units for sub in unit.modules()}
    return [sub for sub in module.modules() if id(sub) not in inside
            and (any(True for _ in sub.parameters(recurse=False)) or any(True for _ in sub.buffers(recurse=False)))]


class Streamer:
    """Moves each unit to `device` as it computes; `with streamer.active(): module(...)`."""

    def __init__(self, module: nn.Module, device: torch.device | str, offload_device: torch.device | str = "cpu",
                 mover: Mover = _default_move) -> None:
        self.module = module
        self.device = torch.device(device)
        self.offload_device = torch.device(offload_device)
        self.units = streaming_units(module)
        if not self.units:
            raise ValueError(f"{type(module).__name__} cannot be streamed: it has no separate blocks")
        self._mover = mover

    @contextlib.contextmanager
    def active(self) -> Iterator[nn.Module]:
        loose = _loose_tensors(self.module, self.units)
        handles = []
        for unit in self.units:
            handles.append(unit.register_forward_pre_hook(lambda m, args: self._mover(m, self.device)))
            handles.append(unit.register_forward_hook(lambda m, args, out: self._mover(m, self.offload_device)))
        for holder in loose:
            self._move_own(holder, self.device)
        try:
            yield self.module
        finally:
            for handle in handles:
                handle.remove()
            for holder in loose:
                self._move_own(holder, self.offload_device)
            for unit in self.units:  # a unit left behind by an exception mid-forward
                self._mover(unit, self.offload_device)

    def _move_own(self, holder: nn.Module, device: torch.device) -> None:
        for tensor in list(holder.parameters(recurse=False)):
            tensor.data = tensor.data.to(device)
        for name, tensor in list(holder.named_buffers(recurse=False)):
            holder._buffers[name] = tensor.to(device)
