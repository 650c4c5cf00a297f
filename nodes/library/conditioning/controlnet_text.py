"""CLIPTextEncodeControlnet: a second prompt for ControlNets (ComfyUI's comfy_extras/nodes_cond.py).

It encodes `text` and puts the tokens and the pooled embedding on every entry of
`conditioning` as `cross_attn_controlnet` and `pooled_output_controlnet`. In ComfyUI only a
ControlNet reads these keys, instead of the prompt's own; latentgraph has no ControlNet
yet, so until it has one the keys are carried along and have no effect on sampling (as in
ComfyUI when no ControlNet is applied).
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Node, Out, Socket, String
from nodes.library.conditioning.clip_text import require_clip
from nodes.library.conditioning.edit import require_conditioning, with_values


class CLIPTextEncodeControlnet(Node):
    node_id = "CLIPTextEncodeControlnet"
    category = "_for_testing/conditioning"
    experimental = True
    description = ("Sets the encoded text as the ControlNet prompt (cross_attn_controlnet, pooled_output_controlnet) "
                   "of every entry. latentgraph has no ControlNet yet: until then these keys have no effect.")
    inputs = [
        Socket("CLIP", "clip"),
        Socket("CONDITIONING", "conditioning"),
        String("text", multiline=True, dynamic_prompts=True),
    ]
    outputs = [Out("CONDITIONING")]

    @classmethod
    def run(cls, ctx: Any, *, clip: Any, conditioning: list, text: str) -> tuple:
        clip = require_clip(clip, cls.node_id)
        entries = require_conditioning(conditioning, cls.node_id)
        if not isinstance(text, str):
            raise TypeError(f"{cls.node_id}: input 'text' must be a STRING, got {type(text).__name__}")
        ctx.runtime.models.load(clip.patchers())
        cond, pooled = clip.encode(text)
        return (with_values(entries, {"cross_attn_controlnet": cond, "pooled_output_controlnet": pooled}),)


NODES = [CLIPTextEncodeControlnet]
