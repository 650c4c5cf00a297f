"""The registration check of a declared node: its methods take exactly what they are given.

A node's input names are written twice, once in `inputs` and once as keywords of `run`.
This check makes the two agree, so a typo is refused when the node is registered, naming
the node and the keyword, instead of failing the first time the node runs.

Every method takes the NodeContext as its first positional parameter, then keywords, and
only keywords it can be given:

- `run` takes every declared input and every hidden name (or `**kwargs` for the ones it
  does not name), and nothing else.
- `check_lazy_status` takes some of the declared inputs and hidden names.
- `fingerprint` takes some of the declared inputs; `validate` too, and `input_types`.
  Neither is given hidden inputs: they are asked before the node runs.

A keyword without a default must name a required input, a hidden name or `input_types`:
an optional input may be left out of a call, so its keyword needs a default. `*args` and
positional-only inputs are refused: inputs arrive by keyword.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nodes.api.inputs import HIDDEN_NAMES, Input
from nodes.api.results import NodeDefinitionError

# The optional hooks a declared node may define besides run().
HOOKS = ("fingerprint", "validate", "check_lazy_status")
# The methods that are given the hidden inputs (the others run before the node does).
TAKE_HIDDEN = ("run", "check_lazy_status")
# What validate() may take besides the inputs: the types of the linked inputs.
VALIDATE_EXTRAS = ("input_types",)


@dataclass(frozen=True)
class HookSignature:
    """The parameters of one hook: the context's name, the keywords and whether it takes **kwargs."""

    context: str
    keywords: frozenset[str]
    takes_kwargs: bool

    def pick(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The entries of `values` the hook accepts (all of them with **kwargs)."""
        if self.takes_kwargs:
            return dict(values)
        return {k: v for k, v in values.items() if k in self.keywords}


def check_node_methods(node_cls: type, where: str, inputs: Sequence[Input], hidden: Sequence[str],
                       hooks: Sequence[str]) -> dict[str, HookSignature]:
    """Checks `run` and the named `hooks` of `node_cls` against its declaration.

    Returns each checked method's HookSignature by name; raises NodeDefinitionError
    starting with `where` ("node KSampler") and naming the method and the keyword.
    """
    declared = {i.name for i in inputs} | {HIDDEN_NAMES[kind] for kind in hidden}
    signatures = {}
    for name in ("run", *hooks):
        given, required = _names_given(name, inputs, hidden)
        signatures[name] = _checked(node_cls, name, where, given, required, declared)
    _check_run_takes_everything(signatures["run"], where, inputs, hidden)
    return signatures


def _names_given(method: str, inputs: Sequence[Input], hidden: Sequence[str]) -> tuple[set[str], set[str]]:
    """The keywords `method` may be given, and those of them it needs no default for."""
    extras = {HIDDEN_NAMES[kind] for kind in hidden} if method in TAKE_HIDDEN else set()
    if method == "validate":
        extras |= set(VALIDATE_EXTRAS)
    given = {i.name for i in inputs} | extras
    required = {i.name for i in inputs if not i.optional} | extras
    return given, required


def _checked(node_cls: type, name: str, where: str, given: set[str], required: set[str],
             declared: set[str]) -> HookSignature:
    """The signature of method `name`: each keyword must be `given`, and have a default unless `required`."""
    method = f"{name}()"
    if not isinstance(inspect.getattr_static(node_cls, name), (classmethod, staticmethod)):
        raise NodeDefinitionError(f"{where}: {method} must be a @classmethod, as in {name}(cls, ctx, ...)")
    try:
        params = list(inspect.signature(getattr(node_cls, name)).parameters.values())
    except (TypeError, ValueError) as exc:
        raise NodeDefinitionError(f"{where}: cannot read the parameters of {method}: {exc}") from None
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if not params or params[0].kind not in positional:
        raise NodeDefinitionError(f"{where}: {method} must take the context as its first parameter, "
                                  f"as in {name}(cls, ctx, ...)")
    context = params[0].name
    if context in declared:
        raise NodeDefinitionError(f"{where}: the first parameter of {method} receives the context, but it is "
                                  f"named {context!r} like an input; write {name}(cls, ctx, *, {context}, ...)")
    keywords = set()
    takes_kwargs = False
    for param in params[1:]:
        if param.kind is param.VAR_KEYWORD:
            takes_kwargs = True
            continue
        if param.kind is param.VAR_POSITIONAL:
            raise NodeDefinitionError(f"{where}: {method} takes *{param.name}, but inputs arrive by keyword")
        if param.kind is param.POSITIONAL_ONLY:
            raise NodeDefinitionError(f"{where}: {method} takes {param.name!r} as positional-only, "
                                      "but inputs arrive by keyword")
        if param.name not in given:
            raise NodeDefinitionError(f"{where}: {method} takes keyword {param.name!r} but no input "
                                      f"{param.name!r} is declared{_hint(name, param.name)}")
        if param.default is param.empty and param.name not in required:
            raise NodeDefinitionError(f"{where}: {method} keyword {param.name!r} needs a default: input "
                                      f"{param.name!r} is optional, so it is not always given")
        keywords.add(param.name)
    return HookSignature(context=context, keywords=frozenset(keywords), takes_kwargs=takes_kwargs)


def _check_run_takes_everything(run: HookSignature, where: str, inputs: Sequence[Input],
                                hidden: Sequence[str]) -> None:
    """run() is given every declared input and hidden name it has: it must take each one."""
    if run.takes_kwargs:
        return
    for item in inputs:
        if item.name not in run.keywords:
            raise NodeDefinitionError(f"{where}: declares input {item.name!r} that run() does not take")
    for kind in hidden:
        if HIDDEN_NAMES[kind] not in run.keywords:
            raise NodeDefinitionError(f"{where}: declares hidden {kind!r}, given as keyword "
                                      f"{HIDDEN_NAMES[kind]!r}, that run() does not take")


def _hint(method: str, name: str) -> str:
    """Why `name` is not given to `method`, when it is a keyword some method could be given."""
    kinds = [kind for kind, keyword in HIDDEN_NAMES.items() if keyword == name]
    if kinds and method not in TAKE_HIDDEN:
        return f" (hidden inputs are given to {'() and '.join(TAKE_HIDDEN)}() only)"
    if kinds:
        return f" (for the hidden input, add hidden = ({kinds[0]!r},))"
    if name in VALIDATE_EXTRAS:
        return f" ({name} is given to validate() only)"
    return ""
