"""CheckpointLoader (the deprecated one with a config file) and DualCLIPLoader, with ComfyUI's ids.

The model family and prediction type are read from the checkpoint itself, so the config file
CheckpointLoader names is checked to exist but not used. DualCLIPLoader loads SDXL's two text
encoders (CLIP-L and CLIP-G, in either order) from the text_encoders folder; the other types
ComfyUI lists are for models this project does not run and are refused with a clear error.
"""

from __future__ import annotations

from typing import Any

from folders.file_identity import file_identity
from nodes.api.declare import Combo, FileList, Out
from nodes.api.runtime import runtime_of
from nodes.library.loaders.model_loaders import (
    CheckpointLoaderSimple,
    ModelFileLoader,
    checkpoints,
    embeddings_dirs,
    file_fingerprint,
    model_file,
)

DUAL_CLIP_TYPES = ("sdxl", "sd3", "flux", "hunyuan_video", "hidream", "hunyuan_image", "hunyuan_video_15",
                   "kandinsky5", "kandinsky5_image", "ltxv", "newbie")
SUPPORTED_DUAL_CLIP_TYPES = ("sdxl",)


class CheckpointLoader(ModelFileLoader):
    node_id = "CheckpointLoader"
    display_name = "Load Checkpoint With Config (DEPRECATED)"
    category = "advanced/loaders"
    deprecated = True
    description = ("Loads a checkpoint exactly as Load Checkpoint does. The config file is only checked to "
                   "exist: the model's family and prediction type are detected from the checkpoint itself.")
    file_input = Combo("ckpt_name", FileList("checkpoints"))
    inputs = [Combo("config_name", FileList("configs")), file_input]
    outputs = [Out("MODEL"), Out("CLIP"), Out("VAE")]

    @classmethod
    def fingerprint(cls, ctx: Any, **inputs: Any) -> list:
        runtime = ctx.runtime
        return [*file_fingerprint(runtime, "checkpoints", inputs.get("ckpt_name")),
                *file_fingerprint(runtime, "configs", inputs.get("config_name"))]

    @classmethod
    def run(cls, ctx: Any, *, config_name: str, ckpt_name: str) -> tuple:
        model_file(ctx, "configs", config_name, cls.node_id, "config_name")
        cls.file_path(ctx, ckpt_name)
        return CheckpointLoaderSimple.run(ctx, ckpt_name=ckpt_name)


class DualCLIPLoader(ModelFileLoader):
    node_id = "DualCLIPLoader"
    category = "advanced/loaders"
    description = ("Loads two text encoder files as one CLIP. Of the types, sdxl is supported: a CLIP-L and a "
                   "CLIP-G file (either order) give SDXL's text encoders.")
    file_input = Combo("clip_name1", FileList("text_encoders"))
    inputs = [
        file_input,
        Combo("clip_name2", FileList("text_encoders")),
        Combo("type", DUAL_CLIP_TYPES),
        Combo("device", ("default", "cpu"), optional=True, advanced=True),
    ]
    outputs = [Out("CLIP")]

    @classmethod
    def fingerprint(cls, ctx: Any, **inputs: Any) -> list:
        runtime = ctx.runtime
        return [*file_fingerprint(runtime, "text_encoders", inputs.get("clip_name1")),
                *file_fingerprint(runtime, "text_encoders", inputs.get("clip_name2"))]

    @classmethod
    def run(cls, ctx: Any, *, clip_name1: str, clip_name2: str, type: str, device: str = "default") -> tuple:
        if type not in SUPPORTED_DUAL_CLIP_TYPES:
            raise ValueError(f"{cls.node_id}: input 'type': {type!r} text encoders are not supported; "
                             f"supported: {', '.join(SUPPORTED_DUAL_CLIP_TYPES)}")
        paths = [cls.file_path(ctx, clip_name1), model_file(ctx, "text_encoders", clip_name2, cls.node_id,
                                                            "clip_name2")]
        services = runtime_of(ctx, cls.node_id).models
        dtype = services.choice.text_encoder_dtype
        key = ("dual_text_encoder", *file_identity(paths[0]), *file_identity(paths[1]), str(dtype), device)

        def load() -> tuple:
            try:
                clip = checkpoints.load_text_encoder(paths, embeddings_dirs=embeddings_dirs(ctx), dtype=dtype)
            except checkpoints.CheckpointError as exc:
                raise checkpoints.CheckpointError(f"{cls.node_id}: {exc}") from None
            if device == "default":
                for patcher in clip.patchers():
                    patcher.load_device = services.choice.device
            return (clip,)

        # each encoder carries its own file's path (load_text_encoder): a queued prompt naming either needs it
        return services.files.handles(key, load)


NODES = [CheckpointLoader, DualCLIPLoader]
