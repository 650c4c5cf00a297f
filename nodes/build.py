"""The registry a process starts with: the library's node families, then the custom node packs.

`build_registry(runtime, custom_node_dirs)` is what the server and the CLI call. Each module
in BUILTIN_NODE_MODULES exposes `NODES = [...]` (declared Node classes or ComfyUI classic
classes). Built-in ids win over packs; a broken pack is reported and skipped.
"""

from __future__ import annotations

from pathlib import Path

from nodes.api.plugins import PluginReport, load_custom_nodes
from nodes.api.registry import NodeRegistry, register_module
from nodes.api.runtime import NodeRuntime

# Registered at start, in this order (the order of /object_info and of the editor's palette).
BUILTIN_NODE_MODULES = [
    "nodes.library.utility.basics",
    "nodes.library.utility.text_ops",
    "nodes.library.utility.regex_nodes",
    "nodes.library.utility.logic",
    "nodes.library.image.load_save",
    "nodes.library.image.postprocess",
    "nodes.library.image.geometry",
    "nodes.library.image.batch",
    "nodes.library.image.animated",
    "nodes.library.image.resize_image_mask",
    "nodes.library.image.websocket_save",
    "nodes.library.latent.latent_ops",
    "nodes.library.latent.latent_math",
    "nodes.library.latent.latent_slicing",
    "nodes.library.latent.latent_transform",
    "nodes.library.latent.rebatch",
    "nodes.library.latent.latent_files",
    "nodes.library.latent.latent_operations",
    "nodes.library.conditioning.edit",
    "nodes.library.loaders.model_loaders",
    "nodes.library.loaders.config_dual_loaders",
    "nodes.library.loaders.diffusers_loader",
    "nodes.library.loaders.lora_model",
    "nodes.library.loaders.hypernetwork_loader",
    "nodes.library.loaders.unclip_loaders",
    "nodes.library.upscaling.upscale_model",
    "nodes.library.model_merging.merge_nodes",
    "nodes.library.model_merging.block_merges",
    "nodes.library.model_merging.save_nodes",
    "nodes.library.model_merging.lora_extract",
    "nodes.library.conditioning.clip_text",
    "nodes.library.conditioning.image_conditioning",
    "nodes.library.conditioning.cond_properties",
    "nodes.library.conditioning.controlnet_text",
    "nodes.library.conditioning.sd4x_upscale",
    "nodes.library.controlnet.controlnet_loaders",
    "nodes.library.controlnet.controlnet_apply",
    "nodes.library.latent.vae_codec",
    "nodes.library.sampling.ksampler",
    "nodes.library.sampling.custom_sampling",
    "nodes.library.sampling.schedulers",
    "nodes.library.sampling.sigma_nodes",
    "nodes.library.sampling.guidance",
    "nodes.library.sampling.sampler_nodes",
    "nodes.library.model_patches.guidance_patches",
    "nodes.library.model_patches.guidance_rules",
    "nodes.library.model_patches.guidance_masks",
    "nodes.library.model_patches.guidance_perpneg",
    "nodes.library.model_patches.sampling_patches",
    "nodes.library.model_patches.unet_patches",
    "nodes.library.model_patches.attention_patches",
    "nodes.library.model_patches.downscale_patches",
    "nodes.library.model_patches.weight_patches",
    "nodes.library.model_patches.dtype_patches",
    "nodes.library.model_patches.cache_patches",
    "nodes.library.inspect.inspect_nodes",
    "nodes.library.mask.mask_ops",
    "nodes.library.mask.mask_convert",
    "nodes.library.mask.composite_masked",
    "nodes.library.mask.alpha_compositing",
    "nodes.library.vision.clip_vision_nodes",
    "nodes.library.vision.style_model_nodes",
    "nodes.library.vision.gligen_nodes",
]


def build_registry(runtime: NodeRuntime | None,
                   custom_node_dirs: list[Path] | tuple[Path, ...] = ()) -> tuple[NodeRegistry, PluginReport]:
    """The registry of built-in nodes plus the custom node packs found in `custom_node_dirs`.

    Returns (registry, PluginReport). A broken pack is in the report and skipped; a broken
    built-in module is a programming error and raises.
    """
    registry = NodeRegistry()
    for module_name in BUILTIN_NODE_MODULES:
        register_module(registry, module_name, runtime)
    report = load_custom_nodes(registry, [Path(d) for d in custom_node_dirs], runtime)
    return registry, report
