"""What the graph layer knows about a node type: pure data plus a small protocol.

`nodes/` builds these from its declarations (and from ComfyUI classic classes);
`graph/` validates, plans, caches and executes using nothing else. No torch here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

# ComfyUI's primitive widget types. Everything else is a socket type.
WIDGET_TYPES = frozenset({"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"})

# Hidden input kinds the executor fills in (ComfyUI names).
HIDDEN_KINDS = frozenset(
    {"PROMPT", "DYNPROMPT", "EXTRA_PNGINFO", "UNIQUE_ID", "AUTH_TOKEN_COMFY_ORG", "API_KEY_COMFY_ORG"}
)


@dataclass(frozen=True)
class InputSpec:
    """One declared input.

    `type` is a ComfyUI type name ("INT", "MODEL", "*", "FLOAT,INT", ...) or "COMBO".
    For a combo, `choices` holds the allowed values (already resolved, e.g. file lists).
    `options` holds every other declared option verbatim (default, min, max, step, round,
    multiline, tooltip, lazy, forceInput, rawLink, control_after_generate, image_upload, ...).
    """

    name: str
    type: str
    required: bool = True
    options: Mapping[str, Any] = field(default_factory=dict)
    choices: tuple[Any, ...] | None = None

    @property
    def is_combo(self) -> bool:
        return self.choices is not None

    @property
    def is_widget(self) -> bool:
        """True when the editor shows a widget for it (unless forceInput)."""
        return (self.is_combo or self.type in WIDGET_TYPES) and not self.options.get("forceInput")

    @property
    def links_only(self) -> bool:
        """True for a socket-typed input (MODEL, LATENT, ...): only a link can feed it, never a literal.

        Combos, the widget types, unions holding one of them ("INT,FLOAT", "STRING,MODEL") and the
        wildcard ``*`` take literals.
        """
        if self.is_combo:
            return False
        parts = {part.strip() for part in self.type.split(",") if part.strip()}
        return bool(parts) and not parts & (WIDGET_TYPES | {"*"})

    @property
    def lazy(self) -> bool:
        return bool(self.options.get("lazy"))


@dataclass(frozen=True)
class OutputSpec:
    type: str
    name: str
    is_list: bool = False
    tooltip: str | None = None


@dataclass(frozen=True)
class NodeSchema:
    class_type: str
    inputs: tuple[InputSpec, ...] = ()
    outputs: tuple[OutputSpec, ...] = ()
    # (input name, hidden kind) pairs, e.g. ("prompt", "PROMPT").
    hidden: tuple[tuple[str, str], ...] = ()
    output_node: bool = False
    input_is_list: bool = False
    display_name: str | None = None
    category: str = "sd"
    description: str = ""
    python_module: str = "nodes"
    # Bump when a node's behaviour changes so old cache entries no longer match.
    version: str = "1"
    deprecated: bool = False
    experimental: bool = False
    # The node id becomes part of the cache key (ComfyUI NOT_IDEMPOTENT / hidden UNIQUE_ID).
    not_idempotent: bool = False
    # Input names handled by the node's own validation: the generic min/max/combo
    # checks are skipped for them. "*" means all inputs (a **kwargs validator).
    custom_validated: frozenset[str] = frozenset()
    # True when the custom validator wants the received link types: the generic
    # link type check is then skipped (ComfyUI's `input_types` argument).
    validates_input_types: bool = False
    # Extra facts for object_info that graph/ ignores (output_tooltips, api_node, ...).
    extra: Mapping[str, Any] = field(default_factory=dict)

    def input(self, name: str) -> InputSpec | None:
        for spec in self.inputs:
            if spec.name == name:
                return spec
        return None

    @property
    def output_types(self) -> tuple[str, ...]:
        return tuple(o.type for o in self.outputs)


@dataclass
class NodeOutput:
    """What one call of a node returns.

    `values` has one entry per declared output (for an OUTPUT_IS_LIST output, a list).
    `ui` is ComfyUI's ui dict of lists (e.g. {"images": [{filename, subfolder, type}]}).
    `expand` is ComfyUI's node expansion: a prompt-format dict of new nodes the executor adds and
    runs; `values` may then hold links `[new node id, output index]` to their outputs (graph/expansion.py).
    """

    values: tuple[Any, ...] = ()
    ui: dict[str, list] | None = None
    expand: dict[str, dict] | None = None


@runtime_checkable
class NodeType(Protocol):
    """A runnable node type as the graph layer sees it."""

    def schema(self) -> NodeSchema:
        """The schema as of now (combo choices such as file lists are read at call time)."""
        ...

    def fingerprint(self, inputs: Mapping[str, Any]) -> Any:
        """ComfyUI's IS_CHANGED: extra cache-key material from the literal inputs
        (linked inputs arrive as None). Return None when the node has none. Raising means
        "always re-run"."""
        ...

    def validate(self, inputs: Mapping[str, Any], input_types: Mapping[str, str] | None) -> list[tuple[str | None, str]]:
        """Custom validation (ComfyUI's VALIDATE_INPUTS). Returns (input name or None, message)
        pairs; empty when valid. Linked inputs arrive as None."""
        ...

    def check_lazy_status(self, context: Any, inputs: Mapping[str, Any]) -> Sequence[str]:
        """Names of lazy inputs that must be evaluated before `execute` (None = not evaluated yet)."""
        ...

    def execute(self, context: Any, inputs: Mapping[str, Any]) -> NodeOutput:
        """Run one (list-mapped) call. `context` is a graph.context.NodeContext."""
        ...


@runtime_checkable
class Registry(Protocol):
    """The node types available to a graph: built by main.py from nodes/ and custom_nodes/."""

    def get(self, class_type: str) -> NodeType | None: ...

    def class_types(self) -> list[str]: ...
