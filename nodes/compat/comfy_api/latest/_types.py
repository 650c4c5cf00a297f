"""Small shared pieces of the V3 schema: option enums, remote combo options, the widget option names."""

from __future__ import annotations

from enum import Enum
from typing import Any


def prune_dict(values: dict[str, Any]) -> dict[str, Any]:
    """`values` without the entries that are None (ComfyUI leaves unset options out of /object_info)."""
    return {key: value for key, value in values.items() if value is not None}


class FolderType(str, Enum):
    input = "input"
    output = "output"
    temp = "temp"


class UploadType(str, Enum):
    """The upload widget a combo gets; the value is the option name set to True."""

    image = "image_upload"
    audio = "audio_upload"
    video = "video_upload"
    model = "file_upload"


class NumberDisplay(str, Enum):
    number = "number"
    slider = "slider"


class RemoteOptions:
    """A combo whose options the editor fetches from `route`."""

    def __init__(self, route: str, refresh_button: bool, control_after_refresh: str = "first",
                 timeout: int | None = None, max_retries: int | None = None, refresh: int | None = None) -> None:
        self.route = route
        self.refresh_button = refresh_button
        self.control_after_refresh = control_after_refresh
        self.timeout = timeout
        self.max_retries = max_retries
        self.refresh = refresh

    def as_dict(self) -> dict[str, Any]:
        return prune_dict({"route": self.route, "refresh_button": self.refresh_button,
                           "control_after_refresh": self.control_after_refresh, "timeout": self.timeout,
                           "max_retries": self.max_retries, "refresh": self.refresh})


# The keyword options of each widget input, in ComfyUI's names (display_mode becomes "display").
INT_OPTIONS = ("min", "max", "step", "control_after_generate", "display_mode")
FLOAT_OPTIONS = ("min", "max", "step", "round", "display_mode")
STRING_OPTIONS = ("multiline", "placeholder", "dynamic_prompts")
BOOLEAN_OPTIONS = ("label_on", "label_off")
