"""Upscale models (ESRGAN, RealESRGAN, SwinIR, HAT, DAT, OmniSR, ...) through spandrel, safely.

The weights are read by `diffusion.checkpoints.checkpoint.load_state_dict` (safetensors, or
torch.load with weights_only: a pickle that would run code is refused), then spandrel builds
the architecture from the state dict alone (`ModelLoader.load_from_state_dict`), so no code
from the file is ever run.

torchvision: spandrel imports every architecture when it is imported, and two of them (LaMa,
an inpainter, and RestoreFormer, a face restorer; neither upscales) import torchvision. The
only torchvision wheels on PyPI for our CPU torch are CUDA builds that fail beside it, so it is
not a dependency: when it is missing, a stand-in module whose functions raise a clear error is
in place only while spandrel is imported. Every upscaling architecture works; those two fail
with that error when run.
"""

from __future__ import annotations

import importlib
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from diffusion.checkpoints.checkpoint import load_state_dict

NEEDS_TORCHVISION = "needs torchvision, which is not installed (only LaMa and RestoreFormer use it; no upscaler does)"


class UpscaleModelError(ValueError):
    """A file that is not a usable upscale model; the message names the file and what was expected."""


def _missing_torchvision(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError(f"this spandrel architecture {NEEDS_TORCHVISION}")


def _stand_in_modules() -> dict[str, types.ModuleType]:
    root = types.ModuleType("torchvision")
    transforms = types.ModuleType("torchvision.transforms")
    functional = types.ModuleType("torchvision.transforms.functional")
    functional.rotate = functional.normalize = _missing_torchvision
    functional.InterpolationMode = types.SimpleNamespace(BILINEAR="bilinear", NEAREST="nearest")
    root.transforms, transforms.functional = transforms, functional
    return {"torchvision": root, "torchvision.transforms": transforms, "torchvision.transforms.functional": functional}


def import_spandrel() -> types.ModuleType:
    """spandrel, imported with the torchvision stand-in when torchvision is absent (see the docstring)."""
    if "spandrel" in sys.modules:
        return sys.modules["spandrel"]
    try:
        importlib.import_module("torchvision")
        return importlib.import_module("spandrel")
    except ImportError:
        pass
    stand_ins = _stand_in_modules()
    saved = {name: sys.modules.get(name) for name in stand_ins}
    sys.modules.update(stand_ins)
    try:
        return importlib.import_module("spandrel")
    except ImportError as exc:
        raise ImportError(f"upscale models need the spandrel package ({exc}); run scripts/setup.sh") from None
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


@dataclass(frozen=True)
class UpscaleModel:
    """An UPSCALE_MODEL: spandrel's image model descriptor plus what the nodes need to know."""

    descriptor: Any            # spandrel.ImageModelDescriptor
    name: str                  # the file name it came from

    @property
    def scale(self) -> int:
        return int(self.descriptor.scale)

    @property
    def architecture(self) -> str:
        return str(self.descriptor.architecture.name)

    @property
    def module(self) -> torch.nn.Module:
        return self.descriptor.model

    def parameter_bytes(self) -> int:
        return sum(p.numel() * p.element_size() for p in self.module.parameters())

    def __call__(self, image_bchw: torch.Tensor) -> torch.Tensor:
        return self.descriptor(image_bchw)


def load_upscale_model(path: str | Path) -> UpscaleModel:
    """Build the upscale model in `path` (errors name the file and what was expected)."""
    path = Path(path)
    state_dict = dict(load_state_dict(path))  # raises CheckpointError for a missing/truncated/unsafe file
    return upscale_model_from_state_dict(state_dict, name=path.name)


def upscale_model_from_state_dict(state_dict: dict[str, torch.Tensor], *, name: str) -> UpscaleModel:
    spandrel = import_spandrel()
    if "module.layers.0.residual_group.blocks.0.norm1.weight" in state_dict:  # as ComfyUI: DataParallel SwinIR
        state_dict = {k.removeprefix("module."): v for k, v in state_dict.items()}
    try:
        descriptor = spandrel.ModelLoader().load_from_state_dict(state_dict)
    except spandrel.UnsupportedModelError:
        raise UpscaleModelError(f"{name}: not an upscale model spandrel knows (expected the weights of an "
                                "ESRGAN, RealESRGAN, SwinIR, HAT, DAT, OmniSR, ... image model)") from None
    except (KeyError, RuntimeError, ValueError, IndexError) as exc:
        raise UpscaleModelError(f"{name}: the weights do not form a complete upscale model ({str(exc).strip().splitlines()[0]})") from None
    if not isinstance(descriptor, spandrel.ImageModelDescriptor):
        raise UpscaleModelError(f"{name}: a {descriptor.architecture.name} model is not a single-image upscaler "
                                "(expected an image-to-image model such as ESRGAN)")
    descriptor.eval()
    return UpscaleModel(descriptor=descriptor, name=name)
