"""Realistic ComfyUI classic node classes, written the way ComfyUI and its packs write them."""

from __future__ import annotations

import asyncio
import hashlib

MAX_RESOLUTION = 16384
SAMPLERS = ["euler", "euler_ancestral", "heun", "dpmpp_2m"]
SCHEDULERS = ["normal", "karras", "exponential"]


class KSampler:
    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "model": ("MODEL", {"tooltip": "The model used for denoising the input latent."}),
                "seed": ("INT", {"default": 0, "min": 0, "max": 0xffffffffffffffff, "control_after_generate": True,
                                 "tooltip": "The random seed used for creating the noise."}),
                "steps": ("INT", {"default": 20, "min": 1, "max": 10000}),
                "cfg": ("FLOAT", {"default": 8.0, "min": 0.0, "max": 100.0, "step": 0.1, "round": 0.01}),
                "sampler_name": (SAMPLERS, {"tooltip": "The algorithm used when sampling."}),
                "scheduler": (SCHEDULERS,),
                "positive": ("CONDITIONING",),
                "negative": ("CONDITIONING",),
                "latent_image": ("LATENT",),
                "denoise": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0, "step": 0.01}),
            }
        }

    RETURN_TYPES = ("LATENT",)
    OUTPUT_TOOLTIPS = ("The denoised latent.",)
    FUNCTION = "sample"
    CATEGORY = "sampling"
    DESCRIPTION = "Uses the provided model, positive and negative conditioning to denoise the latent image."

    def sample(self, model, seed, steps, cfg, sampler_name, scheduler, positive, negative, latent_image, denoise=1.0):
        return ({"samples": (model, seed, steps)},)


class LoadTextFile:
    """Like LoadImage: a file combo, IS_CHANGED hashing the file, VALIDATE_INPUTS checking it."""

    folder = None  # set by the tests

    @classmethod
    def INPUT_TYPES(cls):
        files = sorted(p.name for p in cls.folder.iterdir()) if cls.folder else []
        return {"required": {"name": (files, {"image_upload": True})}}

    RETURN_TYPES = ("STRING", "INT")
    RETURN_NAMES = ("text", "length")
    FUNCTION = "load"
    CATEGORY = "text"

    def load(self, name):
        text = (self.folder / name).read_text()
        return (text, len(text))

    @classmethod
    def IS_CHANGED(cls, name):
        return hashlib.sha256((cls.folder / name).read_bytes()).hexdigest()

    @classmethod
    def VALIDATE_INPUTS(cls, name):
        if not (cls.folder / name).is_file():
            return f"Invalid text file: {name}"
        return True


class ComboStyle:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"mode": ("COMBO", {"options": ["fast", "slow"], "default": "fast"})},
                "optional": {"strength": ("FLOAT", {"default": 0.5})}}

    RETURN_TYPES = ()
    FUNCTION = "go"
    OUTPUT_NODE = True
    DEPRECATED = True
    EXPERIMENTAL = True
    API_NODE = False

    def go(self, mode, strength=0.5):
        return {"ui": {"text": [f"{mode}:{strength}"]}}


class BatchToList:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"values": ("INT", {"forceInput": True})}}

    RETURN_TYPES = ("INT", "INT")
    RETURN_NAMES = ("items", "count")
    OUTPUT_IS_LIST = (True, False)
    INPUT_IS_LIST = True
    FUNCTION = "split"
    CATEGORY = "lists"

    def split(self, values):
        return (list(values), len(values))


class HiddenAware:
    def __init__(self):
        self.runs = 0

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {"images": ("IMAGE",), "filename_prefix": ("STRING", {"default": "ComfyUI"})},
            "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO", "unique_id": "UNIQUE_ID",
                       "dynprompt": "DYNPROMPT"},
        }

    RETURN_TYPES = ()
    FUNCTION = "save"
    OUTPUT_NODE = True
    CATEGORY = "image"

    def save(self, images, filename_prefix, prompt=None, extra_pnginfo=None, unique_id=None, dynprompt=None):
        self.runs += 1
        return {"ui": {"images": [{"filename": f"{filename_prefix}_{unique_id}.png", "subfolder": "",
                                   "type": "output"}], "meta": [prompt, extra_pnginfo]}}


class TypeSensitive:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("*",), "count": ("INT", {"default": 1, "min": 1, "max": 4})}}

    RETURN_TYPES = ("*",)
    FUNCTION = "go"
    NOT_IDEMPOTENT = True

    @classmethod
    def VALIDATE_INPUTS(cls, input_types, count):
        if input_types.get("value") not in (None, "INT", "FLOAT"):
            return "value must be a number"
        return True

    def go(self, value, count):
        return (value,)


class KwargsValidated:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"a": ("INT", {"min": 0, "max": 1})}}

    RETURN_TYPES = ("INT",)
    FUNCTION = "go"

    @classmethod
    def VALIDATE_INPUTS(cls, **kwargs):
        return kwargs.get("a", 0) < 100

    def go(self, a):
        return [a]


class LazySwitch:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"switch": ("BOOLEAN", {"default": True}),
                             "on_true": ("*", {"lazy": True}), "on_false": ("*", {"lazy": True})}}

    RETURN_TYPES = ("*",)
    FUNCTION = "pick"

    def check_lazy_status(self, switch, on_true=None, on_false=None):
        if switch and on_true is None:
            return ["on_true"]
        if not switch and on_false is None:
            return ["on_false"]
        return []

    def pick(self, switch, on_true=None, on_false=None):
        return (on_true if switch else on_false,)


class AsyncDouble:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"x": ("INT", {"default": 1})}}

    RETURN_TYPES = ("INT",)
    FUNCTION = "double"

    async def double(self, x):
        await asyncio.sleep(0)
        return (x * 2,)


class CountingCalls:
    """Keeps state between calls, as classic nodes may."""

    def __init__(self):
        self.calls = 0

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {}}

    RETURN_TYPES = ("INT",)
    FUNCTION = "count"

    @classmethod
    def IS_CHANGED(cls, **kwargs):
        return float("nan")

    def count(self):
        self.calls += 1
        return (self.calls,)
