"""`comfy_api.latest.io`: ComfyUI's V3 node schema as packs import it.

    class Add(io.ComfyNode):
        @classmethod
        def define_schema(cls):
            return io.Schema(node_id="Add", category="math", inputs=[io.Int.Input("a"), io.Int.Input("b")],
                             outputs=[io.Int.Output()])

        @classmethod
        def execute(cls, a, b):
            return io.NodeOutput(a + b)

The widget types (Int, Float, String, Boolean, Combo, MultiCombo), AnyType and MultiType live in
_sockets.py; the dynamic types (MatchType, Autogrow, DynamicCombo) in _dynamic.py; every other socket type is named in SOCKET_TYPES below (attribute -> ComfyUI type name),
each with plain Input and Output declarations. nodes/compat/comfy_api/adapter.py runs the nodes.
`NodeReplace` (graph/node_replace.py) declares a node replacement for `ComfyAPI().node_replacement.register`.
"""

from __future__ import annotations

from graph.node_replace import NodeReplace
from nodes.compat.comfy_api.latest._dynamic import Autogrow, DynamicCombo, DynamicInput, DynamicOutput, MatchType
from nodes.compat.comfy_api.latest._schema import V1_INFO_KEYS, ComfyNode, NodeOutput, Schema
from nodes.compat.comfy_api.latest._sockets import (
    AnyType,
    Boolean,
    Combo,
    ComfyTypeI,
    ComfyTypeIO,
    Custom,
    Float,
    Hidden,
    HiddenHolder,
    Input,
    Int,
    MultiCombo,
    MultiType,
    Output,
    String,
    WidgetInput,
    comfytype,
)
from nodes.compat.comfy_api.latest._types import FolderType, NumberDisplay, RemoteOptions, UploadType

# io attribute -> ComfyUI socket type name, for the types that are plain sockets (no widget options).
SOCKET_TYPES = {
    "Image": "IMAGE", "Mask": "MASK", "Latent": "LATENT", "Conditioning": "CONDITIONING", "Model": "MODEL",
    "Clip": "CLIP", "Vae": "VAE", "ControlNet": "CONTROL_NET", "ClipVision": "CLIP_VISION",
    "ClipVisionOutput": "CLIP_VISION_OUTPUT", "StyleModel": "STYLE_MODEL", "Gligen": "GLIGEN",
    "UpscaleModel": "UPSCALE_MODEL", "LatentUpscaleModel": "LATENT_UPSCALE_MODEL", "Sampler": "SAMPLER",
    "Sigmas": "SIGMAS", "Noise": "NOISE", "Guider": "GUIDER", "Audio": "AUDIO", "Video": "VIDEO", "SVG": "SVG",
    "LoraModel": "LORA_MODEL", "LossMap": "LOSS_MAP", "Voxel": "VOXEL", "Mesh": "MESH", "Hooks": "HOOKS",
    "HookKeyframes": "HOOK_KEYFRAMES", "TimestepsRange": "TIMESTEPS_RANGE", "LatentOperation": "LATENT_OPERATION",
    "FlowControl": "FLOW_CONTROL", "Accumulation": "ACCUMULATION", "Photomaker": "PHOTOMAKER", "Point": "POINT",
    "FaceAnalysis": "FACE_ANALYSIS", "BBOX": "BBOX", "SEGS": "SEGS", "MODEL_PATCH": "MODEL_PATCH",
    "AudioEncoder": "AUDIO_ENCODER", "AudioEncoderOutput": "AUDIO_ENCODER_OUTPUT", "Tracks": "TRACKS",
    "WanCameraEmbedding": "WAN_CAMERA_EMBEDDING", "Load3DCamera": "LOAD3D_CAMERA", "Load3D": "LOAD_3D",
    "Load3DAnimation": "LOAD_3D_ANIMATION",
}


def _socket_type(attribute: str, io_type: str) -> type[ComfyTypeIO]:
    return comfytype(io_type)(type(attribute, (ComfyTypeIO,), {"__module__": __name__}))


globals().update({attribute: _socket_type(attribute, io_type) for attribute, io_type in SOCKET_TYPES.items()})

__all__ = [
    "V1_INFO_KEYS", "AnyType", "Autogrow", "Boolean", "Combo", "ComfyNode", "ComfyTypeI", "ComfyTypeIO", "Custom",
    "DynamicCombo", "DynamicInput", "DynamicOutput", "Float", "FolderType", "Hidden", "HiddenHolder", "Input", "Int",
    "MatchType", "MultiCombo", "MultiType", "NodeOutput", "NodeReplace",
    "NumberDisplay", "Output", "RemoteOptions", "Schema", "String", "UploadType", "WidgetInput", "comfytype",
    *SOCKET_TYPES,
]
