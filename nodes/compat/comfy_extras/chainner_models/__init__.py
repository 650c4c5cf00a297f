"""ComfyUI's former `comfy_extras.chainner_models` package (now spandrel): only `model_loading.load_state_dict`."""
