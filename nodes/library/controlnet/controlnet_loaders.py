"""ControlNet loaders (ComfyUI's ControlNetLoader, DiffControlNetLoader) and SetUnionControlNetType.

A CONTROL_NET is a `ControlModel` (diffusion/sampling/control.py): the network, the model family it
is made for and options. Files are read with the safe loader; the format is told by keys
(diffusion/models/controlnet/load.py). Loaded files are shared through the runtime's file cache.
"""

from __future__ import annotations

from typing import Any

from folders.file_identity import file_identity
from nodes.api.declare import Combo, FileList, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.loaders.model_loaders import ModelFileLoader
from nodes.library.sampling.ksampler import require_model

control_loading = lazy_import("diffusion.models.controlnet.load")
control = lazy_import("diffusion.sampling.control")

UNION_TYPES = ("auto", "openpose", "depth", "hed/pidi/scribble/ted", "canny/lineart/anime_lineart/mlsd", "normal",
               "segment", "tile", "repaint")


def _load(cls: type, ctx: Any, control_net_name: str) -> Any:
    path = cls.file_path(ctx, control_net_name)
    services = ctx.runtime.models
    choice = services.choice
    key = ("controlnet", *file_identity(path), str(choice.unet_dtype))
    (loaded,) = services.files.handles(key, lambda: (control_loading.load_controlnet(
        path, dtype=choice.unet_dtype, device=choice.offload_device),))
    return loaded


class ControlNetLoader(ModelFileLoader):
    node_id = "ControlNetLoader"
    display_name = "Load ControlNet Model"
    category = "loaders"
    file_input = Combo("control_net_name", FileList("controlnet"))
    inputs = [file_input]
    outputs = [Out("CONTROL_NET")]

    @classmethod
    def run(cls, ctx: Any, *, control_net_name: str) -> tuple:
        return (_load(cls, ctx, control_net_name),)


class DiffControlNetLoader(ModelFileLoader):
    node_id = "DiffControlNetLoader"
    display_name = "Load ControlNet Model (diff)"
    category = "loaders"
    file_input = Combo("control_net_name", FileList("controlnet"))
    inputs = [Socket("MODEL", "model"), file_input]
    outputs = [Out("CONTROL_NET")]

    description = ("Loads a ControlNet; one stored as a difference from a base model (a `difference` key) gets "
                   "this model's UNet weights added, as ComfyUI does. Other ControlNets load as with Load ControlNet.")

    @classmethod
    def run(cls, ctx: Any, *, model: Any, control_net_name: str) -> tuple:
        model = require_model(model, cls.node_id)
        path = cls.file_path(ctx, control_net_name)
        services = ctx.runtime.models
        choice = services.choice

        def load() -> tuple:
            with model.patched() as unet:  # the model as sampled: its LoRAs and merges included
                return (control_loading.load_controlnet(path, dtype=choice.unet_dtype, device=choice.offload_device,
                                                        base_unet=unet.state_dict()),)

        key = ("controlnet-diff", *file_identity(path), str(choice.unet_dtype), model.fingerprint())
        (loaded,) = services.files.handles(key, load)
        return (loaded,)


def require_control_net(value: Any, node: str) -> Any:
    if not isinstance(value, control.ControlModel):
        raise TypeError(f"{node}: input 'control_net' must be a CONTROL_NET (from Load ControlNet Model), "
                        f"got {type(value).__name__}")
    return value


class SetUnionControlNetType(Node):
    node_id = "SetUnionControlNetType"
    category = "conditioning/controlnet"
    inputs = [Socket("CONTROL_NET", "control_net"), Combo("type", UNION_TYPES)]
    outputs = [Out("CONTROL_NET")]

    @classmethod
    def run(cls, ctx: Any, *, control_net: Any, type: str) -> tuple:
        net = require_control_net(control_net, cls.node_id)
        number = control.UNION_CONTROLNET_TYPES.get(type, -1)
        return (net.with_extra("control_type", [number] if number >= 0 else []),)


NODES = [ControlNetLoader, DiffControlNetLoader, SetUnionControlNetType]
