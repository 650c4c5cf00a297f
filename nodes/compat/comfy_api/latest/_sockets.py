"""The V3 socket types and their Input/Output declarations (part of `comfy_api.latest.io`).

A socket type is a small class (`Int`, `Combo`, `Custom("MY_TYPE")`, ...) whose nested `Input` and
`Output` classes build declarations: `io.Int.Input("steps", default=20, min=1)`. Each declaration's
`as_dict()` gives the options in ComfyUI's names, unset ones left out, as /object_info shows them.
Also the hidden values (`Hidden`, `HiddenHolder`). No torch: building the registry imports this.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, ClassVar

from nodes.compat.comfy_api.latest._types import (
    BOOLEAN_OPTIONS,
    FLOAT_OPTIONS,
    INT_OPTIONS,
    STRING_OPTIONS,
    FolderType,
    NumberDisplay,
    RemoteOptions,
    UploadType,
    prune_dict,
)

__all__ = [
    "AnyType", "Boolean", "Combo", "ComfyTypeI", "ComfyTypeIO", "Custom", "Float", "FolderType", "Hidden",
    "HiddenHolder", "Input", "Int", "MultiCombo", "MultiType", "NumberDisplay", "Output", "RemoteOptions", "String",
    "UploadType", "WidgetInput", "comfytype",
]


class Input:
    """One V3 input: its id (the keyword `execute` receives), and options in ComfyUI's names."""

    io_type: ClassVar[str] = "*"
    Parent: ClassVar[Any] = None

    def __init__(self, id: str, display_name: str | None = None, optional: bool = False, tooltip: str | None = None,
                 lazy: bool | None = None, extra_dict: dict | None = None, raw_link: bool | None = None,
                 advanced: bool | None = None) -> None:
        if not isinstance(id, str) or not id:
            raise ValueError(f"a V3 input needs a non-empty string id, got {id!r}")
        self.id = id
        self.display_name = display_name
        self.optional = optional
        self.tooltip = tooltip
        self.lazy = lazy
        self.extra_dict = dict(extra_dict or {})
        self.raw_link = raw_link
        self.advanced = advanced

    def as_dict(self) -> dict[str, Any]:
        return prune_dict({"display_name": self.display_name, "optional": self.optional, "tooltip": self.tooltip,
                           "lazy": self.lazy, "rawLink": self.raw_link, "advanced": self.advanced}) \
            | prune_dict(self.extra_dict)

    def get_io_type(self) -> str:
        return self.io_type

    def get_all(self) -> list[Input]:
        return [self]

    def validate(self) -> None:
        return None


class WidgetInput(Input):
    """An input the editor can show as a widget: adds default, socketless, widgetType and forceInput."""

    def __init__(self, id: str, display_name: str | None = None, optional: bool = False, tooltip: str | None = None,
                 lazy: bool | None = None, default: Any = None, socketless: bool | None = None,
                 widget_type: str | None = None, force_input: bool | None = None, extra_dict: dict | None = None,
                 raw_link: bool | None = None, advanced: bool | None = None) -> None:
        super().__init__(id, display_name, optional, tooltip, lazy, extra_dict, raw_link, advanced)
        self.default = default
        self.socketless = socketless
        self.widget_type = widget_type
        self.force_input = force_input

    def as_dict(self) -> dict[str, Any]:
        return super().as_dict() | prune_dict({"default": self.default, "socketless": self.socketless,
                                               "widgetType": self.widget_type, "forceInput": self.force_input})

    def get_io_type(self) -> str:
        return self.widget_type or super().get_io_type()


class Output:
    """One V3 output; `display_name` is the name the editor shows (the type when unset)."""

    io_type: ClassVar[str] = "*"
    Parent: ClassVar[Any] = None

    def __init__(self, id: str | None = None, display_name: str | None = None, tooltip: str | None = None,
                 is_output_list: bool = False) -> None:
        self.id = id
        self.display_name = display_name
        self.tooltip = tooltip
        self.is_output_list = is_output_list

    def get_io_type(self) -> Any:
        return self.io_type

    def as_dict(self) -> dict[str, Any]:
        return prune_dict({"display_name": self.display_name, "tooltip": self.tooltip,
                           "is_output_list": self.is_output_list})

    def validate(self) -> None:
        return None


class ComfyTypeI:
    """A socket type with only inputs."""

    io_type: ClassVar[str] = "*"
    Type: ClassVar[Any] = Any
    Input = Input


class ComfyTypeIO(ComfyTypeI):
    """A socket type with inputs and outputs."""

    Output = Output


def comfytype(io_type: str, **_: Any):
    """Class decorator binding `io_type` to a socket type and to fresh copies of its Input/Output classes."""

    def bind(cls: type) -> type:
        if not issubclass(cls, ComfyTypeI):
            cls = type(cls.__name__, (cls, ComfyTypeIO), {"__module__": cls.__module__, "__doc__": cls.__doc__})
        cls.io_type = io_type
        for part in ("Input", "Output"):
            base = getattr(cls, part, None)
            if isinstance(base, type):
                setattr(cls, part, type(part, (base,), {"io_type": io_type, "Parent": cls,
                                                        "__qualname__": f"{cls.__name__}.{part}",
                                                        "__module__": cls.__module__}))
        return cls

    return bind


def Custom(io_type: str) -> type[ComfyTypeIO]:
    """A socket type for a custom io_type: `io.Custom("MY_TYPE").Input("thing")`."""
    return comfytype(io_type)(type(f"Custom_{io_type}", (ComfyTypeIO,), {}))


def _widget(io_type: str, name: str, option_names: tuple[str, ...], py_type: type,
            defaults: dict[str, Any] | None = None) -> type[ComfyTypeIO]:
    """A widget type whose Input takes the widget options `option_names` (ComfyUI's keyword names);
    `defaults` are the options ComfyUI always writes (String's `multiline: False`)."""

    class TypedInput(WidgetInput):
        def __init__(self, id: str, display_name: str | None = None, optional: bool = False,
                     tooltip: str | None = None, lazy: bool | None = None, *, socketless: bool | None = None,
                     force_input: bool | None = None, extra_dict: dict | None = None, raw_link: bool | None = None,
                     advanced: bool | None = None, default: Any = None, **options: Any) -> None:
            unknown = set(options) - set(option_names)
            if unknown:
                raise TypeError(f"io.{name}.Input({id!r}): unexpected option(s) {sorted(unknown)}; "
                                f"known: {', '.join(option_names)}")
            super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, force_input,
                             extra_dict, raw_link, advanced)
            self.options = {**(defaults or {}), **options}

        def as_dict(self) -> dict[str, Any]:
            opts = dict(self.options)
            display = opts.pop("display_mode", None)
            if "dynamic_prompts" in opts:
                opts["dynamicPrompts"] = opts.pop("dynamic_prompts")
            if display is not None:
                opts["display"] = display.value if isinstance(display, Enum) else display
            return super().as_dict() | prune_dict(opts)

    return comfytype(io_type)(type(name, (ComfyTypeIO,), {"Type": py_type, "Input": TypedInput}))


Int = _widget("INT", "Int", INT_OPTIONS, int)
Float = _widget("FLOAT", "Float", FLOAT_OPTIONS, float)
String = _widget("STRING", "String", STRING_OPTIONS, str, {"multiline": False})
Boolean = _widget("BOOLEAN", "Boolean", BOOLEAN_OPTIONS, bool)


def _choice_values(options: Any) -> list | None:
    if isinstance(options, type) and issubclass(options, Enum):
        return [member.value for member in options]
    return None if options is None else list(options)


@comfytype("COMBO")
class Combo(ComfyTypeIO):
    """A choice among `options` (a list or an Enum class)."""

    Type = str

    class Input(WidgetInput):
        def __init__(self, id: str, options: Any = None, display_name: str | None = None, optional: bool = False,
                     tooltip: str | None = None, lazy: bool | None = None, default: Any = None,
                     control_after_generate: bool | None = None, upload: UploadType | None = None,
                     image_folder: FolderType | None = None, remote: RemoteOptions | None = None,
                     socketless: bool | None = None, extra_dict: dict | None = None, raw_link: bool | None = None,
                     advanced: bool | None = None) -> None:
            super().__init__(id, display_name, optional, tooltip, lazy, default.value if isinstance(default, Enum)
                             else default, socketless, None, None, extra_dict, raw_link, advanced)
            self.multiselect = False
            self.options = _choice_values(options)
            self.control_after_generate = control_after_generate
            self.upload = upload
            self.image_folder = image_folder
            self.remote = remote

        def as_dict(self) -> dict[str, Any]:
            return super().as_dict() | prune_dict({
                "multiselect": self.multiselect, "options": self.options,
                "control_after_generate": self.control_after_generate,
                **({UploadType(self.upload).value: True} if self.upload is not None else {}),
                "image_folder": FolderType(self.image_folder).value if self.image_folder else None,
                "remote": self.remote.as_dict() if self.remote else None})

    class Output(Output):
        def __init__(self, id: str | None = None, display_name: str | None = None, options: Any = None,
                     tooltip: str | None = None, is_output_list: bool = False) -> None:
            super().__init__(id, display_name, tooltip, is_output_list)
            self.options = _choice_values(options) or []

        def get_io_type(self) -> Any:
            return list(self.options) if self.options else self.io_type


@comfytype("COMBO")
class MultiCombo(ComfyTypeI):
    """A combo where more than one option may be chosen."""

    Type = list

    class Input(Combo.Input):
        def __init__(self, id: str, options: Any, display_name: str | None = None, optional: bool = False,
                     tooltip: str | None = None, lazy: bool | None = None, default: Any = None,
                     placeholder: str | None = None, chip: bool | None = None, **kwargs: Any) -> None:
            super().__init__(id, options, display_name, optional, tooltip, lazy, default, **kwargs)
            self.multiselect = True
            self.placeholder = placeholder
            self.chip = chip

        def as_dict(self) -> dict[str, Any]:
            return super().as_dict() | prune_dict({"multi_select": True, "placeholder": self.placeholder,
                                                   "chip": self.chip})


@comfytype("*")
class AnyType(ComfyTypeIO):
    Type = Any


@comfytype("COMFY_MULTITYPED_V3")
class MultiType(ComfyTypeI):
    """An input accepting several socket types (a "TYPE_A,TYPE_B" union); a widget Input as `id` gives the widget."""

    class Input(Input):
        def __init__(self, id: str | Input, types: list, display_name: str | None = None, optional: bool = False,
                     tooltip: str | None = None, lazy: bool | None = None, extra_dict: dict | None = None,
                     raw_link: bool | None = None, advanced: bool | None = None) -> None:
            self.input_override = id if isinstance(id, Input) else None
            if self.input_override is not None:
                optional = optional or bool(id.optional)
                tooltip = id.tooltip if id.tooltip is not None else tooltip
                display_name = id.display_name if id.display_name is not None else display_name
                lazy = id.lazy if id.lazy is not None else lazy
                id = id.id
            super().__init__(id, display_name, optional, tooltip, lazy, extra_dict, raw_link, advanced)
            self.types = list(types)

        def get_io_type(self) -> str:
            names = [t.io_type for t in self.types]
            if self.input_override is not None:
                names.insert(0, self.input_override.io_type)
            return ",".join(dict.fromkeys(names))

        def as_dict(self) -> dict[str, Any]:
            own = super().as_dict()
            return (self.input_override.as_dict() | own) if self.input_override is not None else own


class Hidden(str, Enum):
    """The hidden values a node can ask for in `Schema.hidden`; they arrive as `cls.hidden.<name>`."""

    unique_id = "UNIQUE_ID"
    prompt = "PROMPT"
    extra_pnginfo = "EXTRA_PNGINFO"
    dynprompt = "DYNPROMPT"
    auth_token_comfy_org = "AUTH_TOKEN_COMFY_ORG"
    api_key_comfy_org = "API_KEY_COMFY_ORG"


class HiddenHolder:
    """`cls.hidden` while a V3 node runs: one attribute per Hidden name; None for what was not asked for."""

    def __init__(self, **values: Any) -> None:
        for member in Hidden:
            setattr(self, member.name, values.get(member.name))

    def __getattr__(self, name: str) -> Any:  # only reached for names that are not Hidden members
        return None

