"""CLIP vision nodes with ComfyUI's ids: CLIPVisionLoader, CLIPVisionEncode, unCLIPConditioning.

CLIPVisionLoader reads a `clip_vision` file in the released Hugging Face layout (ViT-L/14,
ViT-H/14, ViT-bigG/14, told by depth as ComfyUI does; diffusion/models/clip_vision/model.py).
CLIPVisionEncode preprocesses as ComfyUI (crop "center": shorter side to the model's size then
the centre square; "none": stretched) and returns a CLIP_VISION_OUTPUT (last_hidden_state,
penultimate_hidden_states, image_embeds). unCLIPConditioning appends {clip_vision_output,
strength, noise_augmentation} to each entry's `unclip_conditioning`; the sampler turns it into
the UNet's `y` (diffusion/models/clip_vision/unclip.py): SD2.1 unCLIP models take the whole
vector, SDXL takes its first part as the pooled embedding (revision).
"""

from __future__ import annotations

from typing import Any

from folders.file_identity import file_identity
from nodes.api.declare import Combo, FileList, Float, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.conditioning.edit import require_conditioning
from nodes.library.latent.vae_codec import require_image
from nodes.library.loaders.model_loaders import ModelFileLoader

checkpoint_files = lazy_import("diffusion.checkpoints.checkpoint")
clip_vision_model = lazy_import("diffusion.models.clip_vision.model")
clip_vision_encode = lazy_import("diffusion.models.clip_vision.encode")
model_services = lazy_import("nodes.api.model_services")


def load_clip_vision(ctx: Any, path, node: str):
    """A CLIP_VISION handle of the file at `path`, shared through the runtime's file cache."""
    services = ctx.runtime.models
    choice = services.choice
    key = ("clip_vision", *file_identity(path), str(choice.text_encoder_dtype))

    def load() -> tuple:
        sd = checkpoint_files.load_state_dict(path)
        try:
            model = clip_vision_model.ClipVisionModel.from_state_dict(sd, source=str(path))
        except clip_vision_model.ClipVisionError as exc:
            raise ValueError(f"{node}: {exc}") from None
        vision = clip_vision_encode.ClipVision(model, device=choice.offload_device, dtype=choice.text_encoder_dtype)
        model_services.managed_patcher(vision.model, choice, source=model_services.file_source(path))
        return (vision,)

    (vision,) = services.files.handles(key, load)
    return vision


def load_clip_vision_for_encode(ctx: Any, clip_vision: Any) -> None:
    """Put a ClipVision's model on the compute device through the model manager (no activation estimate: one
    image batch through a ViT is small beside its weights); a pack's own CLIP vision object is left as it is."""
    if isinstance(clip_vision, clip_vision_encode.ClipVision) and getattr(ctx, "runtime", None) is not None:
        services = ctx.runtime.models
        services.load([model_services.managed_patcher(clip_vision.model, services.choice)])


def require_clip_vision_output(value: Any, node: str, name: str = "clip_vision_output") -> Any:
    try:
        embeds = value["image_embeds"]
    except (KeyError, TypeError, IndexError):
        embeds = None
    if embeds is None or getattr(embeds, "ndim", 0) != 2:
        raise TypeError(f"{node}: input '{name}' must be a CLIP_VISION_OUTPUT (from CLIPVisionEncode), "
                        f"got {type(value).__name__}")
    return value


class CLIPVisionLoader(ModelFileLoader):
    node_id = "CLIPVisionLoader"
    display_name = "Load CLIP Vision"
    category = "loaders"
    description = ("Loads a CLIP vision model (ViT-L/14, ViT-H/14 or ViT-bigG/14 in the released Hugging Face "
                   "layout) from the clip_vision folder.")
    file_input = Combo("clip_name", FileList("clip_vision"))
    inputs = [file_input]
    outputs = [Out("CLIP_VISION")]

    @classmethod
    def run(cls, ctx: Any, *, clip_name: str) -> tuple:
        return (load_clip_vision(ctx, cls.file_path(ctx, clip_name), cls.node_id),)


class CLIPVisionEncode(Node):
    node_id = "CLIPVisionEncode"
    display_name = "CLIP Vision Encode"
    category = "conditioning"
    description = ("Encodes images with a CLIP vision model. crop center: the shorter side is scaled to the "
                   "model's size and the centre square kept; none: the image is stretched to that square.")
    inputs = [Socket("CLIP_VISION", "clip_vision"), Socket("IMAGE", "image"), Combo("crop", ("center", "none"))]
    outputs = [Out("CLIP_VISION_OUTPUT")]

    @classmethod
    def run(cls, ctx: Any, *, clip_vision: Any, image: Any, crop: str) -> tuple:
        if not hasattr(clip_vision, "encode_image"):
            raise TypeError(f"{cls.node_id}: input 'clip_vision' must be a CLIP_VISION (from CLIPVisionLoader), "
                            f"got {type(clip_vision).__name__}")
        if crop not in ("center", "none"):
            raise ValueError(f"{cls.node_id}: input 'crop' must be center or none, got {crop!r}")
        image = require_image(image, cls.node_id, "image")
        load_clip_vision_for_encode(ctx, clip_vision)
        return (clip_vision.encode_image(image, crop=crop == "center"),)


class unCLIPConditioning(Node):  # noqa: N801 (ComfyUI's node id)
    node_id = "unCLIPConditioning"
    category = "conditioning"
    description = ("Adds a CLIP vision image embedding to the conditioning, for SD2.1 unCLIP models and SDXL "
                   "(revision); noise_augmentation noises the embedding (0..1 of the 1000-step schedule).")
    inputs = [
        Socket("CONDITIONING", "conditioning"),
        Socket("CLIP_VISION_OUTPUT", "clip_vision_output"),
        Float("strength", default=1.0, min=-10.0, max=10.0, step=0.01),
        Float("noise_augmentation", default=0.0, min=0.0, max=1.0, step=0.01),
    ]
    outputs = [Out("CONDITIONING")]

    @classmethod
    def run(cls, ctx: Any, *, conditioning: Any, clip_vision_output: Any, strength: float,
            noise_augmentation: float) -> tuple:
        conditioning = require_conditioning(conditioning, cls.node_id)
        clip_vision_output = require_clip_vision_output(clip_vision_output, cls.node_id)
        if strength == 0:
            return (conditioning,)
        item = {"clip_vision_output": clip_vision_output, "strength": float(strength),
                "noise_augmentation": float(noise_augmentation)}
        out = []
        for tensor, options in conditioning:
            previous = list(options.get("unclip_conditioning") or [])
            out.append([tensor, {**options, "unclip_conditioning": [*previous, item]}])
        return (out,)


NODES = [CLIPVisionLoader, CLIPVisionEncode, unCLIPConditioning]
