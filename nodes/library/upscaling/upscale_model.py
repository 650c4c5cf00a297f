"""UpscaleModelLoader and ImageUpscaleWithModel (ComfyUI's comfy_extras/nodes_upscale_model.py).

The loader builds the model with spandrel from the file's weights only (diffusion/models/upscale/
loading.py: safetensors or torch.load weights_only; no pickled code runs). The upscale is tiled
(diffusion/models/upscale/tiling.py): 512-pixel tiles overlapping by 32, or the largest smaller
tile the memory estimate says fits, halved on out-of-memory down to 128; the result is clamped
to [0, 1] as ComfyUI does.

The model is loaded through the model manager before it runs (counted in the budget, evicted and offloaded
like the UNet; it stays on the device until then instead of going back to the CPU after every upscale), with
one 512-pixel tile's rough activations as the work beside it (`tiling.device_work_bytes`: ComfyUI's 384 bytes
per output element of the tile); the tile is then chosen against the device's free memory as before.
"""

from __future__ import annotations

from typing import Any

from folders.file_identity import file_identity
from nodes.api.declare import Combo, FileList, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.loaders.model_loaders import ModelFileLoader

loading = lazy_import("diffusion.models.upscale.loading")
tiling = lazy_import("diffusion.models.upscale.tiling")
checkpoint_files = lazy_import("diffusion.checkpoints.checkpoint")
model_services = lazy_import("nodes.api.model_services")
torch = lazy_import("torch")


class UpscaleModelLoader(ModelFileLoader):
    node_id = "UpscaleModelLoader"
    display_name = "Load Upscale Model"
    category = "loaders"
    file_input = Combo("model_name", FileList("upscale_models"))
    inputs = [file_input]
    outputs = [Out("UPSCALE_MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, model_name: str) -> tuple:
        path = cls.file_path(ctx, model_name)

        def load() -> tuple:
            try:
                model = loading.load_upscale_model(path)
            except checkpoint_files.CheckpointError as exc:
                raise type(exc)(f"{cls.node_id}: {exc} (expected an upscale model's weights)") from None
            except loading.UpscaleModelError as exc:
                raise loading.UpscaleModelError(f"{cls.node_id}: {exc}") from None
            model.descriptor.to(torch.float32)
            model_services.managed_patcher(model.module, ctx.runtime.models.choice,
                                           source=model_services.file_source(path))
            return (model,)

        return ctx.runtime.models.files.handles(("upscale_model", *file_identity(path)), load)


def load_upscale_model(ctx: Any, upscale_model: Any) -> Any:
    """Put the upscale model on the compute device through the model manager; the device it computes on (where
    its weights are: the CPU when there is no runtime, or when the manager streams it)."""
    runtime = getattr(ctx, "runtime", None)
    if runtime is not None:
        services = runtime.models
        work = tiling.device_work_bytes(scale=upscale_model.scale, element_size=4)
        services.load([model_services.managed_patcher(upscale_model.module, services.choice)], work_bytes=work)
    weights = next(upscale_model.module.parameters(), None)
    return weights.device if weights is not None else torch.device("cpu")


class ImageUpscaleWithModel(Node):
    node_id = "ImageUpscaleWithModel"
    display_name = "Upscale Image (using Model)"
    category = "image/upscaling"
    inputs = [Socket("UPSCALE_MODEL", "upscale_model"), Socket("IMAGE", "image")]
    outputs = [Out("IMAGE")]

    @classmethod
    def run(cls, ctx: Any, *, upscale_model: Any, image: Any) -> tuple:
        if not isinstance(upscale_model, loading.UpscaleModel):
            raise TypeError(f"{cls.node_id}: input 'upscale_model': expected an UPSCALE_MODEL, "
                            f"got {type(upscale_model).__name__}")
        if not isinstance(image, torch.Tensor) or image.ndim != 4 or image.shape[-1] not in (1, 3, 4):
            raise ValueError(f"{cls.node_id}: input 'image': expected an IMAGE tensor [batch, height, width, 3]")
        device = load_upscale_model(ctx, upscale_model)
        pixels = image[..., :3].movedim(-1, -3).to(device=device, dtype=torch.float32)
        if pixels.shape[1] == 1:
            pixels = pixels.expand(-1, 3, -1, -1)
        minimum = upscale_model.descriptor.size_requirements.minimum
        if min(pixels.shape[-2:]) < minimum:
            raise ValueError(f"{cls.node_id}: the image is {pixels.shape[-1]}x{pixels.shape[-2]}; "
                             f"{upscale_model.architecture} needs at least {minimum} pixels a side")
        tile = tiling.choose_tile(scale=upscale_model.scale, element_size=4, image_shape=tuple(pixels.shape),
                                  parameter_bytes=upscale_model.parameter_bytes(),
                                  available=tiling.free_bytes(device))
        steps = {"done": 0, "total": 1}

        def told(tile_size: int, total: int) -> None:
            steps.update(done=0, total=total)

        def progress() -> None:
            steps["done"] += 1
            ctx.progress(steps["done"], steps["total"])

        with torch.inference_mode():
            out, _ = tiling.upscale_with_oom_retry(pixels, upscale_model, scale=upscale_model.scale, tile=tile,
                                                   on_tile_size=told, progress=progress)
        return (torch.clamp(out.movedim(-3, -1), 0.0, 1.0),)


NODES = [UpscaleModelLoader, ImageUpscaleWithModel]
