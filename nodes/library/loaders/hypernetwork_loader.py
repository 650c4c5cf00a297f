"""HypernetworkLoader (ComfyUI's comfy_extras/nodes_hypernetwork.py): an A1111 hypernetwork on the model.

The file (models/hypernetworks/) is loaded with weights_only (diffusion/models/hypernetwork/);
its networks patch the keys and values of every self- and cross-attention whose width they
cover (an attn1_patch and an attn2_patch on a clone of the model; the input is unchanged).
"""

from __future__ import annotations

from typing import Any

from folders.file_identity import file_identity
from nodes.api.declare import Combo, FileList, Float, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.loaders.model_loaders import ModelFileLoader

hypernetwork = lazy_import("diffusion.models.hypernetwork.hypernetwork")
model_hooks = lazy_import("diffusion.sampling.model_hooks")


class HypernetworkLoader(ModelFileLoader):
    node_id = "HypernetworkLoader"
    category = "loaders"
    file_input = Combo("hypernetwork_name", FileList("hypernetworks"))
    inputs = [Socket("MODEL", "model"), file_input, Float("strength", default=1.0, min=-10.0, max=10.0, step=0.01)]
    outputs = [Out("MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, hypernetwork_name: str, strength: float) -> tuple:
        path = cls.file_path(ctx, hypernetwork_name)

        def load() -> dict:
            try:
                return hypernetwork.load_hypernetwork(path)
            except hypernetwork.HypernetworkError as exc:
                raise hypernetwork.HypernetworkError(f"{cls.node_id}: {exc}") from None

        networks = ctx.runtime.models.files.raw(("hypernetwork", *file_identity(path)), load)
        patch = hypernetwork.HypernetworkPatch(networks, strength)
        patched = model_hooks.with_listed_option(model, model_hooks.ATTN1_PATCH, patch, cls.node_id)
        return (model_hooks.with_listed_option(patched, model_hooks.ATTN2_PATCH, patch, cls.node_id),)


NODES = [HypernetworkLoader]
