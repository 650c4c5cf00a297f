"""The words a node is declared in: its inputs (Int, Float, String, Boolean, Combo, Socket), outputs (Out),
file-list combo options (FileList) and the keywords hidden inputs arrive as (HIDDEN_NAMES).

Each Input becomes a graph.schema.InputSpec with ComfyUI's option names, so /object_info
shows what ComfyUI shows for the same declaration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from graph.schema import HIDDEN_KINDS, InputSpec, OutputSpec

# Hidden kind -> the keyword the node receives (ComfyUI's conventional names).
HIDDEN_NAMES = {kind: kind.lower() for kind in HIDDEN_KINDS}


@dataclass(frozen=True)
class FileList:
    """Combo options read from a folder at schema time: `Folders.list_files(key, extensions)`, then `extra`
    (names that are not files, e.g. VAELoader's "pixel_space", offered after them as ComfyUI does)."""

    key: str
    extensions: frozenset[str] | None = None
    recursive: bool = True
    extra: tuple[str, ...] = ()

    def resolve(self, runtime: Any) -> list[str]:
        folders = getattr(runtime, "folders", None)
        files = [] if folders is None else folders.list_files(self.key, self.extensions, recursive=self.recursive)
        return [*files, *(name for name in self.extra if name not in files)]


@dataclass(frozen=True)
class Input:
    """One declared input. Subclasses fix the type and add type-specific options."""

    name: str
    _: KW_ONLY
    type: str = "*"
    optional: bool = False
    default: Any = None
    tooltip: str | None = None
    lazy: bool = False
    force_input: bool = False
    raw_link: bool = False
    advanced: bool = False
    # Any other option, passed to /object_info verbatim (ComfyUI option names).
    extra: Mapping[str, Any] = field(default_factory=dict)

    def type_options(self) -> dict[str, Any]:
        """Options specific to the input's type, in ComfyUI's names."""
        return {}

    def option_dict(self) -> dict[str, Any]:
        """Every option in ComfyUI's names and order, without the ones left unset."""
        opts: dict[str, Any] = {}
        if self.default is not None:
            opts["default"] = self.default
        opts.update({k: v for k, v in self.type_options().items() if v is not None and v is not False})
        flags = {"forceInput": self.force_input, "lazy": self.lazy, "rawLink": self.raw_link,
                 "advanced": self.advanced}
        opts.update({k: True for k, v in flags.items() if v})
        if self.tooltip:
            opts["tooltip"] = self.tooltip
        opts.update(self.extra)
        return opts

    def choices(self, runtime: Any) -> tuple[Any, ...] | None:
        return None

    def to_spec(self, runtime: Any) -> InputSpec:
        return InputSpec(name=self.name, type=self.type, required=not self.optional,
                         options=self.option_dict(), choices=self.choices(runtime))

    @property
    def is_dynamic(self) -> bool:
        """True when the spec depends on the disk (file lists), so it cannot be cached."""
        return False


@dataclass(frozen=True)
class Int(Input):
    _: KW_ONLY
    type: str = "INT"
    min: int | None = None
    max: int | None = None
    step: int | None = None
    control_after_generate: bool = False
    display: str | None = None

    def type_options(self) -> dict[str, Any]:
        return {"min": self.min, "max": self.max, "step": self.step,
                "control_after_generate": self.control_after_generate, "display": self.display}


@dataclass(frozen=True)
class Float(Input):
    _: KW_ONLY
    type: str = "FLOAT"
    min: float | None = None
    max: float | None = None
    step: float | None = None
    round: float | bool | None = None
    display: str | None = None

    def type_options(self) -> dict[str, Any]:
        return {"min": self.min, "max": self.max, "step": self.step, "round": self.round, "display": self.display}

    def option_dict(self) -> dict[str, Any]:
        opts = super().option_dict()
        if self.round is False:  # meaningful in ComfyUI: no rounding (the base drops False values)
            opts["round"] = False
        return opts


@dataclass(frozen=True)
class String(Input):
    _: KW_ONLY
    type: str = "STRING"
    multiline: bool = False
    placeholder: str | None = None
    dynamic_prompts: bool = False

    def type_options(self) -> dict[str, Any]:
        return {"multiline": self.multiline, "placeholder": self.placeholder,
                "dynamicPrompts": self.dynamic_prompts}


@dataclass(frozen=True)
class Boolean(Input):
    _: KW_ONLY
    type: str = "BOOLEAN"
    label_on: str | None = None
    label_off: str | None = None

    def type_options(self) -> dict[str, Any]:
        return {"label_on": self.label_on, "label_off": self.label_off}


@dataclass(frozen=True)
class Combo(Input):
    """A choice among `options`: a list, a FileList, or a callable(runtime) -> list."""

    options: Sequence[Any] | FileList | Callable[[Any], Sequence[Any]] = ()
    _: KW_ONLY
    type: str = "COMBO"
    image_upload: bool = False
    control_after_generate: bool = False

    def type_options(self) -> dict[str, Any]:
        return {"image_upload": self.image_upload, "control_after_generate": self.control_after_generate}

    def choices(self, runtime: Any) -> tuple[Any, ...]:
        source = self.options
        if isinstance(source, FileList):
            return tuple(source.resolve(runtime))
        if callable(source):
            return tuple(source(runtime))
        return tuple(source)

    @property
    def is_dynamic(self) -> bool:
        return isinstance(self.options, FileList) or callable(self.options)


def Socket(type: str, name: str, **kwargs: Any) -> Input:
    """A linked-only input of any socket type: `Socket("MODEL", "model")`."""
    return Input(name, type=type, **kwargs)


@dataclass(frozen=True)
class Autogrow(Input):
    """A growing group of one template input (ComfyUI's V3 Autogrow): `images.image0`, `images.image1`, ...

    The node's `run` receives the group as one dict by the names that arrived, in order
    (`{"image0": ..., "image1": ...}`); the first `min` are required when the input is.
    """

    template: Input = None  # type: ignore[assignment]
    _: KW_ONLY
    type: str = "COMFY_AUTOGROW_V3"
    prefix: str = ""
    min: int = 1
    max: int = 10

    def __post_init__(self) -> None:
        if not isinstance(self.template, Input) or isinstance(self.template, Autogrow):
            raise TypeError(f"growing input {self.name!r}: template must be one plain input, got {self.template!r}")
        if not 0 <= self.min <= self.max <= 100:
            raise ValueError(f"growing input {self.name!r}: need 0 <= min <= max <= 100, got {self.min}, {self.max}")

    def type_options(self) -> dict[str, Any]:
        inner = self.template.to_spec(None)
        entry = [list(inner.choices), dict(inner.options)] if inner.is_combo else [inner.type, dict(inner.options)]
        section = "optional" if self.template.optional else "required"
        return {"template": {"input": {section: {inner.name: entry}}, "max": self.max, "min": self.min,
                             "prefix": self.prefix}}


@dataclass(frozen=True)
class Out:
    """One declared output: its type, name (default: the type), list flag and tooltip."""

    type: str
    name: str | None = None
    is_list: bool = False
    tooltip: str | None = None

    def to_spec(self) -> OutputSpec:
        return OutputSpec(type=self.type, name=self.name or self.type, is_list=self.is_list, tooltip=self.tooltip)
