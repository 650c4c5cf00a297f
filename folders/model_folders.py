"""The model folder keys ComfyUI knows, the directories they map to, and which files they list."""

from __future__ import annotations

MODEL_EXTENSIONS = frozenset({".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft"})

# Folder key -> directory names under <base>/models (the first one is where new files go).
MODEL_FOLDERS: dict[str, tuple[str, ...]] = {
    "checkpoints": ("checkpoints",),
    "configs": ("configs",),
    "loras": ("loras",),
    "vae": ("vae",),
    "text_encoders": ("text_encoders", "clip"),
    "diffusion_models": ("unet", "diffusion_models"),
    "clip_vision": ("clip_vision",),
    "style_models": ("style_models",),
    "embeddings": ("embeddings",),
    "diffusers": ("diffusers",),
    "vae_approx": ("vae_approx",),
    "controlnet": ("controlnet", "t2i_adapter"),
    "gligen": ("gligen",),
    "upscale_models": ("upscale_models",),
    "latent_upscale_models": ("latent_upscale_models",),
    "hypernetworks": ("hypernetworks",),
    "photomaker": ("photomaker",),
    "classifiers": ("classifiers",),
    "model_patches": ("model_patches",),
    "audio_encoders": ("audio_encoders",),
}
# ComfyUI's legacy key names.
LEGACY_KEYS = {"clip": "text_encoders", "unet": "diffusion_models"}
# Keys whose files are not model weights.
FOLDER_EXTENSIONS: dict[str, frozenset[str] | None] = {
    "configs": frozenset({".yaml"}),
    "custom_nodes": None,
    "diffusers": None,
}
