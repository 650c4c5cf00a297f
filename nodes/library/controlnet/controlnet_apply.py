"""Applying ControlNets to conditioning (ComfyUI's ControlNetApply, ControlNetApplyAdvanced,
ControlNetInpaintingAliMamaApply).

Each entry's dict gets "control": an `AppliedControl` (diffusion/sampling/control.py) holding the
CONTROL_NET, the hint image (channel-first), strength, start/end percent and the entry's previous
control (so several ControlNets chain), and "control_apply_to_uncond" (True for the old node: the
control also reaches the negative side). Strength 0 returns the conditioning unchanged, as ComfyUI.
Inputs are never changed: entries are copied.
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Float, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.conditioning.edit import require_conditioning
from nodes.library.controlnet.controlnet_loaders import require_control_net
from nodes.library.image.transform import require_image

control = lazy_import("diffusion.sampling.control")

STRENGTH = {"default": 1.0, "min": 0.0, "max": 10.0, "step": 0.01}
PERCENT = {"min": 0.0, "max": 1.0, "step": 0.001}


def apply_to_sides(sides: list[list], net: Any, hint: Any, strength: float, start: float, end: float,
                   extra_concat: tuple = ()) -> list[list]:
    """Each side's entries with the control added; entries sharing a previous control share the new one."""
    made: dict[int, Any] = {}
    out = []
    for side in sides:
        entries = []
        for tensor, options in side:
            options = dict(options)
            previous = options.get("control")
            key = id(previous)
            if key not in made:
                made[key] = control.AppliedControl(net, hint, float(strength), float(start), float(end), previous,
                                                   tuple(extra_concat))
            options["control"] = made[key]
            options["control_apply_to_uncond"] = False
            entries.append([tensor, options])
        out.append(entries)
    return out


class ControlNetApply(Node):
    node_id = "ControlNetApply"
    display_name = "Apply ControlNet (OLD)"
    category = "conditioning/controlnet"
    inputs = [Socket("CONDITIONING", "conditioning"), Socket("CONTROL_NET", "control_net"), Socket("IMAGE", "image"),
              Float("strength", **STRENGTH)]
    outputs = [Out("CONDITIONING")]

    @classmethod
    def run(cls, ctx: Any, *, conditioning: list, control_net: Any, image: Any, strength: float) -> tuple:
        entries = require_conditioning(conditioning, cls.node_id)
        net = require_control_net(control_net, cls.node_id)
        hint = require_image(image, cls.node_id).movedim(-1, 1)
        if strength == 0:
            return (conditioning,)
        out = []
        for tensor, options in entries:
            options = dict(options)
            options["control"] = control.AppliedControl(net, hint, float(strength), previous=options.get("control"))
            options["control_apply_to_uncond"] = True
            out.append([tensor, options])
        return (out,)


class ControlNetApplyAdvanced(Node):
    node_id = "ControlNetApplyAdvanced"
    display_name = "Apply ControlNet"
    category = "conditioning/controlnet"
    inputs = [Socket("CONDITIONING", "positive"), Socket("CONDITIONING", "negative"),
              Socket("CONTROL_NET", "control_net"), Socket("IMAGE", "image"), Float("strength", **STRENGTH),
              Float("start_percent", default=0.0, **PERCENT), Float("end_percent", default=1.0, **PERCENT),
              Socket("VAE", "vae", optional=True)]
    outputs = [Out("CONDITIONING", "positive"), Out("CONDITIONING", "negative")]

    @classmethod
    def run(cls, ctx: Any, *, positive: list, negative: list, control_net: Any, image: Any, strength: float,
            start_percent: float, end_percent: float, vae: Any = None) -> tuple:
        sides = [require_conditioning(positive, cls.node_id, "positive"),
                 require_conditioning(negative, cls.node_id, "negative")]
        net = require_control_net(control_net, cls.node_id)
        hint = require_image(image, cls.node_id).movedim(-1, 1)
        if strength == 0:
            return (positive, negative)
        # vae: only ControlNets working on latents (SD3, Flux) use it; the SD ones here take pixels.
        return tuple(apply_to_sides(sides, net, hint, strength, start_percent, end_percent))


class ControlNetInpaintingAliMamaApply(Node):
    node_id = "ControlNetInpaintingAliMamaApply"
    category = "conditioning/controlnet"
    inputs = [Socket("CONDITIONING", "positive"), Socket("CONDITIONING", "negative"),
              Socket("CONTROL_NET", "control_net"), Socket("VAE", "vae"), Socket("IMAGE", "image"),
              Socket("MASK", "mask"), Float("strength", **STRENGTH), Float("start_percent", default=0.0, **PERCENT),
              Float("end_percent", default=1.0, **PERCENT)]
    outputs = [Out("CONDITIONING", "positive"), Out("CONDITIONING", "negative")]

    @classmethod
    def run(cls, ctx: Any, *, positive: list, negative: list, control_net: Any, vae: Any, image: Any, mask: Any,
            strength: float, start_percent: float, end_percent: float) -> tuple:
        # The mask is concatenated only by ControlNets that take it (concat_mask: the SD3/Flux AliMama
        # inpainting nets); for the SD ControlNets here ComfyUI applies the image as Apply ControlNet does.
        return ControlNetApplyAdvanced.run(ctx, positive=positive, negative=negative, control_net=control_net,
                                           image=image, strength=strength, start_percent=start_percent,
                                           end_percent=end_percent, vae=vae)


NODES = [ControlNetApply, ControlNetApplyAdvanced, ControlNetInpaintingAliMamaApply]
