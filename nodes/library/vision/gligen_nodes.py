"""GLIGENLoader and GLIGENTextBoxApply (ComfyUI's ids): text boxes that place things where the box is.

GLIGENTextBoxApply encodes `text` with the CLIP given (its pooled embedding; CLIP-L's has no
projection, which is what SD1.x GLIGEN takes) and appends (embedding, height // 8, width // 8,
y // 8, x // 8) to every entry's `gligen` = ("position", model, [boxes...]). The sampler turns it
into the UNet's middle_patch (gated self-attention in every transformer block;
diffusion/models/gligen/). Entries without `gligen` (e.g. the negative) run unpatched.
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Combo, FileList, Int, Node, Out, Socket, String
from nodes.api.lazy import lazy_import
from nodes.library.conditioning.clip_text import require_clip
from nodes.library.conditioning.edit import require_conditioning
from nodes.library.loaders.model_loaders import ModelFileLoader

checkpoint_files = lazy_import("diffusion.checkpoints.checkpoint")
gligen = lazy_import("diffusion.models.gligen.gligen")

MAX_RESOLUTION = 16384


class GLIGENLoader(ModelFileLoader):
    node_id = "GLIGENLoader"
    category = "loaders"
    description = "Loads a GLIGEN text-box model (gligen_sd14_textbox layout) from the gligen folder."
    file_input = Combo("gligen_name", FileList("gligen"))
    inputs = [file_input]
    outputs = [Out("GLIGEN")]

    @classmethod
    def run(cls, ctx: Any, *, gligen_name: str) -> tuple:
        dtype = ctx.runtime.models.choice.unet_dtype  # computes beside the UNet, in its precision (as ComfyUI)

        def build(path: Any) -> Any:
            return gligen.Gligen.from_state_dict(checkpoint_files.load_state_dict(path), str(path)).to(dtype=dtype)

        return cls.load_shared(ctx, gligen_name, "gligen", build, refuse=(gligen.GligenError,))


def _size(name: str, default: int, minimum: int) -> Int:
    return Int(name, default=default, min=minimum, max=MAX_RESOLUTION, step=8)


class GLIGENTextBoxApply(Node):
    node_id = "GLIGENTextBoxApply"
    category = "conditioning/gligen"
    description = "Adds a text box (position and size in pixels) to the conditioning, for a GLIGEN model."
    inputs = [
        Socket("CONDITIONING", "conditioning_to"),
        Socket("CLIP", "clip"),
        Socket("GLIGEN", "gligen_textbox_model"),
        String("text", multiline=True, dynamic_prompts=True),
        _size("width", 64, 8),
        _size("height", 64, 8),
        _size("x", 0, 0),
        _size("y", 0, 0),
    ]
    outputs = [Out("CONDITIONING")]

    @classmethod
    def run(cls, ctx: Any, *, conditioning_to: Any, clip: Any, gligen_textbox_model: Any, text: str, width: int,
            height: int, x: int, y: int) -> tuple:
        conditioning_to = require_conditioning(conditioning_to, cls.node_id, "conditioning_to")
        clip = require_clip(clip, cls.node_id)
        model = getattr(gligen_textbox_model, "model", gligen_textbox_model)
        if not isinstance(model, gligen.Gligen):
            raise TypeError(f"{cls.node_id}: input 'gligen_textbox_model' must be a GLIGEN (from GLIGENLoader), "
                            f"got {type(gligen_textbox_model).__name__}")
        ctx.runtime.models.load(clip.patchers())
        _, pooled = clip.encode(text)
        if pooled is None or pooled.shape[-1] != model.key_dim:
            got = "no pooled embedding" if pooled is None else f"a {pooled.shape[-1]}-wide pooled embedding"
            raise ValueError(f"{cls.node_id}: this GLIGEN model takes {model.key_dim}-wide text embeddings; the "
                             f"CLIP gives {got} (GLIGEN text boxes are for SD1.x)")
        box = (pooled, height // 8, width // 8, y // 8, x // 8)
        out = []
        for tensor, options in conditioning_to:
            previous = list(options["gligen"][2]) if "gligen" in options else []
            out.append([tensor, {**options, "gligen": ("position", model, [*previous, box])}])
        return (out,)


NODES = [GLIGENLoader, GLIGENTextBoxApply]
