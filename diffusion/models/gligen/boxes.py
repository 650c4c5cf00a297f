"""GLIGEN boxes in the conditioning -> the UNet `middle_patch` that applies them.

GLIGENTextBoxApply stores ComfyUI's `gligen` entry on a conditioning: ("position", model,
[(embedding [1, dim], height, width, y, x), ...]) with sizes in latent pixels (÷8). For one model
call the boxes become fractions (x1, y1, x2, y2) = (x/w, y/h, (x+width)/w, (y+height)/h) of the
latent; up to 30 boxes fill the position net's slots in order, the rest are padding (mask 0).

The GLIGEN module is used where the model manager loaded it (with the UNet, `conditioning_patchers`): the
position net and fusers run on their own device and dtype, the UNet's activations cast to them and back,
so using GLIGEN never moves or casts the shared module.
"""

from __future__ import annotations

from typing import Any

import torch

from diffusion.models.gligen.gligen import MAX_OBJECTS, Gligen, GligenError
from diffusion.models.unet.hooks import UNetHooks


def model_of(spec_model: Any) -> Gligen:
    model = getattr(spec_model, "model", spec_model)
    if not isinstance(model, Gligen):
        raise GligenError(f"the gligen conditioning holds {type(spec_model).__name__}, not a GLIGEN model")
    return model


def box_inputs(model: Gligen, latent_shape, positions: list) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(boxes [B, 30, 4], masks [B, 30], embeddings [B, 30, dim]) for the position net."""
    batch, _, height, width = latent_shape
    if len(positions) > MAX_OBJECTS:
        raise GligenError(f"GLIGEN takes at most {MAX_OBJECTS} boxes, got {len(positions)}")
    boxes = torch.zeros(MAX_OBJECTS, 4)
    masks = torch.zeros(MAX_OBJECTS)
    embeddings = torch.zeros(MAX_OBJECTS, model.key_dim)
    for slot, (embedding, box_h, box_w, y, x) in enumerate(positions):
        embedding = torch.as_tensor(embedding).float().reshape(-1)
        if embedding.shape[0] != model.key_dim:
            raise GligenError(f"GLIGEN box {slot}: its text embedding is {embedding.shape[0]} wide but the GLIGEN "
                              f"model takes {model.key_dim} (a GLIGEN model for another text encoder)")
        boxes[slot] = torch.tensor([x / width, y / height, (x + box_w) / width, (y + box_h) / height])
        masks[slot] = 1.0
        embeddings[slot] = embedding
    return (boxes.expand(batch, -1, -1), masks.expand(batch, -1), embeddings.expand(batch, -1, -1))


def gligen_hooks(spec: Any, latent_shape) -> UNetHooks:
    """The UNetHooks applying a `gligen` conditioning entry to a model call on a latent of `latent_shape`."""
    if not (isinstance(spec, (list, tuple)) and len(spec) == 3):
        raise GligenError(f"a gligen conditioning entry is (type, model, positions), got {type(spec).__name__}")
    kind, spec_model, positions = spec
    model = model_of(spec_model)
    if kind != "position":
        positions = []
    weights = next(model.position_net.parameters())  # where the model manager put it (sampling loads it)
    inputs = [t.to(device=weights.device, dtype=weights.dtype) for t in box_inputs(model, latent_shape, list(positions))]
    with torch.no_grad():
        objs = model.position_net(*inputs)

    def patch(x: torch.Tensor, info: dict) -> torch.Tensor:
        fuser = model.fuser(info["block"], int(info.get("block_index", 0)))
        if fuser is None:
            return x
        # computed where and in the precision the model manager put the fuser (never moved or cast here:
        # the module is shared, by the manager and by every node output holding it); only activations cast
        own = next(fuser.parameters())
        tokens = objs[:1].to(device=own.device, dtype=own.dtype).expand(x.shape[0], -1, -1)
        return fuser(x.to(device=own.device, dtype=own.dtype), tokens).to(device=x.device, dtype=x.dtype)

    return UNetHooks(middle_patch=(patch,))
