"""ComfyUI's FUNCTION name and positional argument order for the core node classes packs call from Python.

Packs call core nodes classic-style, `nodes.VAEDecode().decode(vae, samples)`: the method name is
ComfyUI's FUNCTION and the positional order is that method's parameters, which is not always the
INPUT_TYPES order (CLIPTextEncode.encode takes clip before text; VAEDecode.decode takes vae before
samples). FUNCTIONS gives (name, order) where they are known from ComfyUI's nodes.py and the classic
comfy_extras modules; `order` None means "the declared input order" (then the hidden inputs). A node
missing here gets DEFAULT_FUNCTION. Keyword calls work whatever the order.
"""

from __future__ import annotations

DEFAULT_FUNCTION = "execute"

_SAME_ORDER = {
    # nodes.py
    "ConditioningCombine": "combine", "ConditioningAverage": "addWeighted", "ConditioningConcat": "concat",
    "ConditioningSetArea": "append", "ConditioningSetAreaPercentage": "append",
    "ConditioningSetAreaStrength": "append", "ConditioningZeroOut": "zero_out",
    "ConditioningSetTimestepRange": "set_range", "SaveLatent": "save", "LoadLatent": "load",
    "CheckpointLoader": "load_checkpoint", "DiffusersLoader": "load_checkpoint",
    "CheckpointLoaderSimple": "load_checkpoint", "unCLIPCheckpointLoader": "load_checkpoint",
    "CLIPSetLastLayer": "set_last_layer", "LoraLoader": "load_lora", "LoraLoaderModelOnly": "load_lora_model_only",
    "VAELoader": "load_vae", "ControlNetLoader": "load_controlnet", "DiffControlNetLoader": "load_controlnet",
    "ControlNetApply": "apply_controlnet", "ControlNetApplyAdvanced": "apply_controlnet",
    "UNETLoader": "load_unet", "CLIPLoader": "load_clip", "DualCLIPLoader": "load_clip",
    "CLIPVisionLoader": "load_clip", "CLIPVisionEncode": "encode", "StyleModelLoader": "load_style_model",
    "StyleModelApply": "apply_stylemodel", "unCLIPConditioning": "apply_adm", "GLIGENLoader": "load_gligen",
    "GLIGENTextBoxApply": "append", "EmptyLatentImage": "generate", "LatentUpscale": "upscale",
    "LatentUpscaleBy": "upscale", "LatentFromBatch": "frombatch", "RepeatLatentBatch": "repeat",
    "LatentRotate": "rotate", "LatentFlip": "flip", "LatentComposite": "composite", "LatentBlend": "blend",
    "LatentCrop": "crop", "SetLatentNoiseMask": "set_mask", "KSampler": "sample", "KSamplerAdvanced": "sample",
    "SaveImage": "save_images", "PreviewImage": "save_images", "LoadImage": "load_image",
    "LoadImageMask": "load_image", "LoadImageOutput": "load_image", "ImageScale": "upscale",
    "ImageScaleBy": "upscale", "ImageInvert": "invert", "ImageBatch": "batch", "ImagePadForOutpaint": "expand_image",
    "EmptyImage": "generate", "InpaintModelConditioning": "encode", "CLIPTextEncodeSDXL": "encode",
    "CLIPTextEncodeSDXLRefiner": "encode", "HypernetworkLoader": "load_hypernetwork",
    "UpscaleModelLoader": "load_model", "ImageUpscaleWithModel": "upscale",
    # comfy_extras (their classic names)
    "SamplerCustom": "sample", "SamplerCustomAdvanced": "sample", "KSamplerSelect": "get_sampler",
    "BasicScheduler": "get_sigmas", "KarrasScheduler": "get_sigmas", "ExponentialScheduler": "get_sigmas",
    "PolyexponentialScheduler": "get_sigmas", "SDTurboScheduler": "get_sigmas", "BetaSamplingScheduler": "get_sigmas",
    "VPScheduler": "get_sigmas", "AlignYourStepsScheduler": "get_sigmas", "SplitSigmas": "get_sigmas",
    "SplitSigmasDenoise": "get_sigmas", "FlipSigmas": "get_sigmas", "BasicGuider": "get_guider",
    "CFGGuider": "get_guider", "DualCFGGuider": "get_guider", "RandomNoise": "get_noise",
    "DisableNoise": "get_noise", "LatentAdd": "op", "LatentSubtract": "op", "LatentMultiply": "op",
    "LatentInterpolate": "op", "LatentBatch": "batch", "LatentBatchSeedBehavior": "op",
    "ModelMergeSimple": "merge", "ModelMergeAdd": "merge", "ModelMergeSubtract": "merge", "CLIPMergeSimple": "merge",
    "ModelSamplingDiscrete": "patch", "RescaleCFG": "patch", "FreeU": "patch", "FreeU_V2": "patch",
    "PerturbedAttentionGuidance": "patch", "SelfAttentionGuidance": "patch", "PatchModelAddDownscale": "patch",
    "ImageSharpen": "sharpen", "ImageBlur": "blur", "ImageBlend": "blend_images", "Morphology": "process",
    "ImageCrop": "crop", "RepeatImageBatch": "repeat", "ImageFromBatch": "frombatch",
    "MaskToImage": "mask_to_image", "ImageToMask": "image_to_mask", "SolidMask": "solid", "InvertMask": "invert",
    "CropMask": "crop", "FeatherMask": "feather", "GrowMask": "expand_mask", "ThresholdMask": "image_to_mask",
    "MaskComposite": "combine", "ImageCompositeMasked": "composite", "JoinImageWithAlpha": "join_image_with_alpha",
    "SplitImageWithAlpha": "split_image_with_alpha",
}

# Nodes whose ComfyUI method takes its arguments in another order than INPUT_TYPES lists them.
_REORDERED = {
    "CLIPTextEncode": ("encode", ("clip", "text")),
    "VAEDecode": ("decode", ("vae", "samples")),
    "VAEEncode": ("encode", ("vae", "pixels")),
    "VAEDecodeTiled": ("decode", ("vae", "samples", "tile_size", "overlap", "temporal_size", "temporal_overlap")),
    "VAEEncodeTiled": ("encode", ("vae", "pixels", "tile_size", "overlap", "temporal_size", "temporal_overlap")),
    "VAEEncodeForInpaint": ("encode", ("vae", "pixels", "mask", "grow_mask_by")),
    "ConditioningSetMask": ("append", ("conditioning", "mask", "set_cond_area", "strength")),
    "CLIPTextEncodeSDXL": ("encode", ("clip", "width", "height", "crop_w", "crop_h", "target_width",
                                      "target_height", "text_g", "text_l")),
    "CLIPTextEncodeSDXLRefiner": ("encode", ("clip", "ascore", "width", "height", "text")),
}

FUNCTIONS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    **{node: (name, None) for node, name in _SAME_ORDER.items()}, **_REORDERED}


def function_of(class_type: str) -> tuple[str, tuple[str, ...] | None]:
    """(ComfyUI's FUNCTION name, positional order or None for the declared order) of a core node."""
    return FUNCTIONS.get(class_type, (DEFAULT_FUNCTION, None))
