"""ComfyUI's ModelPatcher methods, put on latentgraph's MODEL handle class (diffusion/memory/patcher.py).

Packs call these on the MODEL a node receives, usually on a clone: `m = model.clone();
m.set_model_attn2_patch(fn); return (m,)`. Each one writes the handle's `options` under ComfyUI's
key (diffusion/sampling/model_hooks.py), copying a list or dict before changing it, so the handle
it was cloned from is never changed. `model_options` is that same flat dict: ComfyUI's sampler keys
(sampler_cfg_function, ...) are top-level as in ComfyUI, but the UNet patches are top-level too
(there is no "transformer_options" sub-dict); reading model_options["transformer_options"] is a KeyError.

`install()` adds the methods the class lacks; our own `add_patches` is wrapped so that ComfyUI's
form (state-dict keys, `strength_patch` / `strength_model`, values as tensors or ("diff" | "lora", ...))
works next to ours. Whatever cannot be honoured raises naming the call and what exists instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F

from diffusion.memory.patcher import ModelPatcher
from diffusion.sampling import model_hooks as keys
from diffusion.sampling.discrete import schedule_of

UNET_PREFIX = "diffusion_model."
MODEL_OBJECTS = ("model_sampling", "diffusion_model")


def _set(self: ModelPatcher, key: str, value: Any, disable_cfg1_optimization: bool = False) -> None:
    self.options = dict(self.options)
    self.options[key] = value
    if disable_cfg1_optimization:
        self.options[keys.DISABLE_CFG1_OPTIMIZATION] = True


def _append(self: ModelPatcher, key: str, value: Any, disable_cfg1_optimization: bool = False) -> None:
    _set(self, key, [*self.options.get(key, ()), value], disable_cfg1_optimization)


def _model_options(self: ModelPatcher) -> dict:
    return self.options


def _set_model_options(self: ModelPatcher, value: dict) -> None:
    if not isinstance(value, dict):
        raise TypeError(f"ModelPatcher.model_options must be a dict, got {type(value).__name__}")
    if "transformer_options" in value:
        raise ValueError("ModelPatcher.model_options: latentgraph keeps the UNet patches at the top level of "
                         "model_options (attn2_patch, ...), not under 'transformer_options'; use "
                         "set_model_patch / set_model_attn2_patch and the other set_model_* methods")
    self.options = value


def set_model_sampler_cfg_function(self, sampler_cfg_function: Callable, disable_cfg1_optimization=False) -> None:
    _set(self, keys.SAMPLER_CFG_FUNCTION, sampler_cfg_function, disable_cfg1_optimization)


def set_model_sampler_post_cfg_function(self, post_cfg_function: Callable, disable_cfg1_optimization=False) -> None:
    _append(self, keys.SAMPLER_POST_CFG_FUNCTION, post_cfg_function, disable_cfg1_optimization)


def set_model_sampler_pre_cfg_function(self, pre_cfg_function: Callable, disable_cfg1_optimization=False) -> None:
    _append(self, keys.SAMPLER_PRE_CFG_FUNCTION, pre_cfg_function, disable_cfg1_optimization)


def set_model_unet_function_wrapper(self, unet_wrapper_function: Callable) -> None:
    _set(self, keys.MODEL_FUNCTION_WRAPPER, unet_wrapper_function)


def set_model_denoise_mask_function(self, denoise_mask_function: Callable) -> None:
    _set(self, keys.DENOISE_MASK_FUNCTION, denoise_mask_function)


_LIST_PATCHES = (keys.INPUT_BLOCK_PATCH, keys.INPUT_BLOCK_PATCH_AFTER_SKIP, keys.OUTPUT_BLOCK_PATCH, keys.ATTN1_PATCH,
                 keys.ATTN1_OUTPUT_PATCH, keys.MIDDLE_PATCH, keys.ATTN2_PATCH, keys.ATTN2_OUTPUT_PATCH)
_REPLACE_PATCHES = (keys.ATTN1_REPLACE, keys.ATTN2_REPLACE)


def set_model_patch(self, patch: Callable, name: str) -> None:
    if name not in _LIST_PATCHES:
        raise ValueError(f"ModelPatcher.set_model_patch: patch {name!r} is not supported; "
                         f"latentgraph's UNet runs {', '.join(_LIST_PATCHES)}")
    _append(self, name, patch)


def default_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, info: Mapping) -> torch.Tensor:
    """The attention core the UNet runs when nothing replaces it ([B, N, heads*dim] in and out)."""
    heads = int(info["n_heads"])
    b, n, inner = q.shape

    def split(t: torch.Tensor) -> torch.Tensor:
        return t.reshape(b, -1, heads, inner // heads).transpose(1, 2)

    return F.scaled_dot_product_attention(split(q), split(k), split(v)).transpose(1, 2).reshape(b, n, inner)


class PerTransformerReplace:
    """attn replacements of one UNet block keyed by transformer index; other transformers attend as usual."""

    def __init__(self, by_index: Mapping[int, Callable]) -> None:
        self.by_index = dict(by_index)

    def __call__(self, q, k, v, info):
        patch = self.by_index.get(info.get("transformer_index"))
        return patch(q, k, v, info) if patch is not None else default_attention(q, k, v, info)


def set_model_patch_replace(self, patch: Callable, name: str, block_name: str, number: int,
                            transformer_index: int | None = None) -> None:
    if name not in _REPLACE_PATCHES:
        raise ValueError(f"ModelPatcher.set_model_patch_replace: {name!r} is not supported; "
                         f"latentgraph's UNet takes {', '.join(_REPLACE_PATCHES)}")
    if block_name not in ("input", "middle", "output"):
        raise ValueError(f"ModelPatcher.set_model_patch_replace: block_name must be input, middle or output, "
                         f"got {block_name!r}")
    replaced = dict(self.options.get(name, {}))
    block = (block_name, int(number))
    if transformer_index is None:
        replaced[block] = patch
    else:
        current = replaced.get(block)
        by_index = dict(current.by_index) if isinstance(current, PerTransformerReplace) else {}
        if current is not None and not isinstance(current, PerTransformerReplace):
            raise ValueError(f"ModelPatcher.set_model_patch_replace: block {block} already has a replacement for "
                             "all its transformers; one per transformer index cannot be added to it")
        by_index[int(transformer_index)] = patch
        replaced[block] = PerTransformerReplace(by_index)
    _set(self, name, replaced)


def _list_setter(name: str) -> Callable:
    def setter(self, patch: Callable) -> None:
        set_model_patch(self, patch, name)

    setter.__name__ = f"set_model_{name}"
    setter.__doc__ = f"ComfyUI's set_model_{name}: append `patch` to options[{name!r}]."
    return setter


def _replace_setter(name: str) -> Callable:
    def setter(self, patch: Callable, block_name: str, number: int, transformer_index: int | None = None) -> None:
        set_model_patch_replace(self, patch, name, block_name, number, transformer_index)

    setter.__name__ = f"set_model_{name}"
    return setter


def get_model_object(self, name: str) -> Any:
    """ComfyUI's get_model_object: "model_sampling" (the sampling schedule) or "diffusion_model" (the UNet)."""
    if name == "model_sampling":
        return schedule_of(self)
    if name == "diffusion_model":
        return self.model
    raise AttributeError(f"ModelPatcher.get_model_object({name!r}): latentgraph's MODEL provides "
                         f"{', '.join(MODEL_OBJECTS)}")


def model_patches_to(self, device: Any) -> None:
    """Move the patch objects that have `.to` (ComfyUI's hook before sampling); plain functions stay."""
    for key in _LIST_PATCHES:
        for patch in self.options.get(key, ()):
            if hasattr(patch, "to") and not isinstance(patch, torch.Tensor):
                patch.to(device)


def model_dtype(self) -> torch.dtype:
    if self.compute_dtype is not None:
        return self.compute_dtype
    first = next((p for p in self.model.parameters() if p.is_floating_point()), None)
    return first.dtype if first is not None else torch.float32


def model_state_dict(self, filter_prefix: str | None = None) -> dict[str, torch.Tensor]:
    """The UNet's tensors under ComfyUI's keys ("diffusion_model." + our parameter name)."""
    state = {UNET_PREFIX + name: tensor for name, tensor in self.model.state_dict().items()}
    return {k: v for k, v in state.items() if filter_prefix is None or k.startswith(filter_prefix)}


def get_key_patches(self, filter_prefix: str | None = None) -> dict[str, list]:
    return {k: [v] for k, v in model_state_dict(self, filter_prefix).items()}


def _comfy_patch(key: str, value: Any) -> tuple[str, tuple]:
    """One ComfyUI patch value as our (kind, tensors)."""
    if isinstance(value, torch.Tensor):
        return "diff", (value,)
    if isinstance(value, (tuple, list)) and len(value) == 1 and isinstance(value[0], torch.Tensor):
        return "diff", (value[0],)
    if isinstance(value, (tuple, list)) and len(value) == 2 and isinstance(value[0], str):
        kind, tensors = value
        if kind == "diff":
            return "diff", (tensors[0] if isinstance(tensors, (tuple, list)) else tensors,)
        if kind == "lora":
            up, down, alpha, mid = (tuple(tensors) + (None, None))[:4]
            extra = tuple(tensors)[4:]
            if any(t is not None for t in extra):
                raise ValueError(f"ModelPatcher.add_patches: {key}: LoRA patches with DoRA scale or reshape are "
                                 "not supported; plain (up, down, alpha, mid) LoRA and 'diff' patches are")
            return "lora", (up, down, alpha, mid)
        raise ValueError(f"ModelPatcher.add_patches: {key}: patch kind {kind!r} is not supported; "
                         "latentgraph applies 'diff' and 'lora' patches")
    raise ValueError(f"ModelPatcher.add_patches: {key}: unrecognised patch value {type(value).__name__}")


def _is_ours(patches: Mapping) -> bool:
    """True for our own form: parameter names (no "diffusion_model." prefix) -> (kind, tensors)."""
    return all(isinstance(key, str) and not key.startswith(UNET_PREFIX) and isinstance(value, (tuple, list))
               and len(value) == 2 and isinstance(value[0], str) for key, value in patches.items())


def _wrap_add_patches(ours: Callable) -> Callable:
    def add_patches(self, patches: Mapping, strength_patch: float = 1.0, strength_model: float = 1.0, *,
                    strength: float | None = None, source: str = "") -> Any:
        """Our form ({param: (kind, tensors)}, strength) or ComfyUI's (state-dict keys, strength_patch,
        strength_model); ComfyUI's form returns the list of keys applied, as ComfyUI does."""
        if strength is not None:
            strength_patch = strength
        if strength_model == 1.0 and _is_ours(patches):
            return ours(self, patches, strength_patch, source=source)
        converted = {}
        names = {}
        for key, value in patches.items():
            name = key[len(UNET_PREFIX):] if isinstance(key, str) and key.startswith(UNET_PREFIX) else key
            if not isinstance(name, str):
                raise ValueError(f"ModelPatcher.add_patches: key {key!r} is not supported; keys are state-dict "
                                 "names such as 'diffusion_model.input_blocks.1.1.proj_in.weight'")
            converted[name] = _comfy_patch(str(key), value)
            names[name] = key
        applied: set[str] = set()
        if strength_model != 1.0:
            present = set(converted) & self.parameter_names()
            applied |= ours(self, {n: ("scale", ()) for n in present}, float(strength_model), source=source)
        applied |= ours(self, converted, float(strength_patch), source=source or "comfy add_patches")
        return [names[n] for n in converted if n in applied]

    add_patches.__wrapped__ = ours
    return add_patches


_METHODS: dict[str, Callable] = {
    "set_model_sampler_cfg_function": set_model_sampler_cfg_function,
    "set_model_sampler_post_cfg_function": set_model_sampler_post_cfg_function,
    "set_model_sampler_pre_cfg_function": set_model_sampler_pre_cfg_function,
    "set_model_unet_function_wrapper": set_model_unet_function_wrapper,
    "set_model_denoise_mask_function": set_model_denoise_mask_function,
    "set_model_patch": set_model_patch,
    "set_model_patch_replace": set_model_patch_replace,
    **{f"set_model_{name}": _list_setter(name) for name in _LIST_PATCHES if name != keys.MIDDLE_PATCH},
    **{f"set_model_{name}": _replace_setter(name) for name in _REPLACE_PATCHES},
    "get_model_object": get_model_object,
    "model_patches_to": model_patches_to,
    "model_dtype": model_dtype,
    "model_state_dict": model_state_dict,
    "get_key_patches": get_key_patches,
}


def install() -> None:
    """Give latentgraph's ModelPatcher ComfyUI's methods (idempotent; never replaces one it has)."""
    if getattr(ModelPatcher, "_comfy_methods_installed", False):
        return
    for name, function in _METHODS.items():
        if not hasattr(ModelPatcher, name):
            setattr(ModelPatcher, name, function)
    if not hasattr(ModelPatcher, "model_options"):
        ModelPatcher.model_options = property(_model_options, _set_model_options)
    ModelPatcher.add_patches = _wrap_add_patches(ModelPatcher.add_patches)
    ModelPatcher._comfy_methods_installed = True
