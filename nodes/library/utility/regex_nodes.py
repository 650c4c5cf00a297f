"""Regular-expression string nodes with ComfyUI's ids and inputs: RegexMatch, RegexExtract, RegexReplace.

They use the `regex` package (a dependency of transformers) in its re-compatible mode,
because it can stop a match after a time limit: Python's `re` cannot be interrupted, so a
pattern with catastrophic backtracking such as `(a|aa)+$` would hold the worker for ever.
Bounds, each a clear error naming the input:
- a match gives up after MATCH_TIMEOUT_S seconds;
- `string` is at most MAX_TEXT_CHARS characters and `regex_pattern` at most MAX_PATTERN_CHARS;
- a pattern that does not compile is refused at validation (when typed in) or when the
  node runs (when linked).
Where this differs from ComfyUI (comfy_extras/nodes_string.py): ComfyUI's RegexMatch and
RegexExtract quietly give False / "" for a bad pattern; here it is an error. A group that
took no part in the match gives "" (ComfyUI gives None, or fails in "All Groups").
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Boolean, Combo, Int, Node, Out, String
from nodes.api.lazy import lazy_import

regex = lazy_import("regex")

MATCH_TIMEOUT_S = 5.0
MAX_TEXT_CHARS = 1_000_000
MAX_PATTERN_CHARS = 10_000
EXTRACT_MODES = ["First Match", "All Matches", "First Group", "All Groups"]


def compile_pattern(node: str, pattern: Any, case_insensitive: bool = False, multiline: bool = False,
                    dotall: bool = False) -> Any:
    """The compiled pattern with the node's flags, or a ValueError naming `regex_pattern`."""
    if not isinstance(pattern, str):
        raise TypeError(f"{node}: input 'regex_pattern' must be a STRING, got {type(pattern).__name__}")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ValueError(f"{node}: input 'regex_pattern' has {len(pattern)} characters; at most {MAX_PATTERN_CHARS}")
    flags = regex.VERSION0
    if case_insensitive:
        flags |= regex.IGNORECASE
    if multiline:
        flags |= regex.MULTILINE
    if dotall:
        flags |= regex.DOTALL
    try:
        return regex.compile(pattern, flags)
    except regex.error as exc:
        raise ValueError(f"{node}: input 'regex_pattern' is not a valid regular expression: {exc}") from None


def pattern_problem(node: str, pattern: Any) -> str | None:
    """Why a typed-in pattern is refused, or None (a linked pattern, None here, is checked when the node runs)."""
    if pattern is None:
        return None
    try:
        compile_pattern(node, pattern)
    except (TypeError, ValueError) as exc:
        return str(exc).split(": input 'regex_pattern' ", 1)[-1]
    return None


def check_text(node: str, string: Any, name: str = "string") -> str:
    if not isinstance(string, str):
        raise TypeError(f"{node}: input '{name}' must be a STRING, got {type(string).__name__}")
    if len(string) > MAX_TEXT_CHARS:
        raise ValueError(f"{node}: input '{name}' has {len(string)} characters; regex nodes take at most "
                         f"{MAX_TEXT_CHARS}")
    return string


def bounded(node: str, work):
    """`work()`, turning the regex time limit into an error that names the pattern."""
    try:
        return work()
    except TimeoutError:
        raise ValueError(f"{node}: input 'regex_pattern': matching took longer than {MATCH_TIMEOUT_S:g} s "
                         "(catastrophic backtracking?); simplify the pattern") from None


def _group(match: Any, index: int) -> str:
    value = match.group(index)
    return "" if value is None else value


class RegexMatch(Node):
    node_id = "RegexMatch"
    display_name = "Regex Match"
    category = "utils/string"
    description = "True when the pattern matches somewhere in the string. A bad pattern is an error."
    inputs = [
        String("string", multiline=True),
        String("regex_pattern", multiline=True),
        Boolean("case_insensitive", default=True),
        Boolean("multiline", default=False),
        Boolean("dotall", default=False),
    ]
    outputs = [Out("BOOLEAN", "matches")]

    @classmethod
    def validate(cls, ctx: Any, *, regex_pattern: Any = None) -> Any:
        problem = pattern_problem(cls.node_id, regex_pattern)
        return ("regex_pattern", problem) if problem else True

    @classmethod
    def run(cls, ctx: Any, *, string: str, regex_pattern: str, case_insensitive: bool, multiline: bool,
            dotall: bool) -> tuple:
        text = check_text(cls.node_id, string)
        compiled = compile_pattern(cls.node_id, regex_pattern, case_insensitive, multiline, dotall)
        return (bounded(cls.node_id, lambda: compiled.search(text, timeout=MATCH_TIMEOUT_S)) is not None,)


class RegexExtract(Node):
    node_id = "RegexExtract"
    display_name = "Regex Extract"
    category = "utils/string"
    description = ("First Match: the first match; All Matches: every match, one a line (the first group of each "
                   "when the pattern has groups, as ComfyUI); First Group / All Groups: group `group_index` of the "
                   "first / every match. No match gives an empty string; a bad pattern is an error.")
    inputs = [
        String("string", multiline=True),
        String("regex_pattern", multiline=True),
        Combo("mode", EXTRACT_MODES),
        Boolean("case_insensitive", default=True),
        Boolean("multiline", default=False),
        Boolean("dotall", default=False),
        Int("group_index", default=1, min=0, max=100),
    ]
    outputs = [Out("STRING")]

    @classmethod
    def validate(cls, ctx: Any, *, regex_pattern: Any = None) -> Any:
        problem = pattern_problem(cls.node_id, regex_pattern)
        return ("regex_pattern", problem) if problem else True

    @classmethod
    def run(cls, ctx: Any, *, string: str, regex_pattern: str, mode: str, case_insensitive: bool, multiline: bool,
            dotall: bool, group_index: int) -> tuple:
        if mode not in EXTRACT_MODES:
            raise ValueError(f"{cls.node_id}: input 'mode' must be one of {EXTRACT_MODES}, got {mode!r}")
        if isinstance(group_index, bool) or not isinstance(group_index, int) or not 0 <= group_index <= 100:
            raise ValueError(f"{cls.node_id}: input 'group_index' must be an integer in 0..100, got {group_index!r}")
        text = check_text(cls.node_id, string)
        compiled = compile_pattern(cls.node_id, regex_pattern, case_insensitive, multiline, dotall)
        return (bounded(cls.node_id, lambda: extract(compiled, text, mode, group_index)),)


def extract(compiled: Any, text: str, mode: str, group_index: int) -> str:
    """What RegexExtract gives for one mode (see its description)."""
    groups = compiled.groups
    if mode == "First Match":
        match = compiled.search(text, timeout=MATCH_TIMEOUT_S)
        return match.group(0) if match else ""
    if mode == "All Matches":
        matches = compiled.finditer(text, timeout=MATCH_TIMEOUT_S)
        return "\n".join(_group(m, 1 if groups else 0) for m in matches)
    if mode == "First Group":
        match = compiled.search(text, timeout=MATCH_TIMEOUT_S)
        return _group(match, group_index) if match and groups >= group_index else ""
    if not groups or groups < group_index:
        return ""
    return "\n".join(_group(m, group_index) for m in compiled.finditer(text, timeout=MATCH_TIMEOUT_S))


class RegexReplace(Node):
    node_id = "RegexReplace"
    display_name = "Regex Replace"
    category = "utils/string"
    description = "Find and replace text using regex patterns."
    inputs = [
        String("string", multiline=True),
        String("regex_pattern", multiline=True),
        String("replace", multiline=True),
        Boolean("case_insensitive", default=True, optional=True),
        Boolean("multiline", default=False, optional=True),
        Boolean("dotall", default=False, optional=True,
                tooltip="When enabled, the dot (.) character will match any character including newline characters. "
                        "When disabled, dots won't match newlines."),
        Int("count", default=0, min=0, max=100, optional=True,
            tooltip="Maximum number of replacements to make. Set to 0 to replace all occurrences (default). Set to 1 "
                    "to replace only the first match, 2 for the first two matches, etc."),
    ]
    outputs = [Out("STRING")]

    @classmethod
    def validate(cls, ctx: Any, *, regex_pattern: Any = None) -> Any:
        problem = pattern_problem(cls.node_id, regex_pattern)
        return ("regex_pattern", problem) if problem else True

    @classmethod
    def run(cls, ctx: Any, *, string: str, regex_pattern: str, replace: str, case_insensitive: bool = True,
            multiline: bool = False, dotall: bool = False, count: int = 0) -> tuple:
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 100:
            raise ValueError(f"{cls.node_id}: input 'count' must be an integer in 0..100, got {count!r}")
        text = check_text(cls.node_id, string)
        replacement = check_text(cls.node_id, replace, "replace")
        compiled = compile_pattern(cls.node_id, regex_pattern, case_insensitive, multiline, dotall)
        substitute = BoundedSubstitution(cls.node_id, replacement, budget=MAX_TEXT_CHARS - len(text))
        try:
            return (bounded(cls.node_id, lambda: compiled.sub(substitute, text, count=count,
                                                               timeout=MATCH_TIMEOUT_S)),)
        except (regex.error, IndexError) as exc:
            raise ValueError(f"{cls.node_id}: input 'replace' is not a valid replacement for this pattern: "
                             f"{exc}") from None


class BoundedSubstitution:
    """The replacement of each match (the template expanded, as re.sub does), refusing a result that grows too big."""

    def __init__(self, node: str, template: str, *, budget: int) -> None:
        self.node, self.template, self.budget = node, template, budget

    def __call__(self, match: Any) -> str:
        piece = match.expand(self.template)
        self.budget -= len(piece) - (match.end() - match.start())
        if self.budget < 0:
            raise ValueError(f"{self.node}: the result would have more than {MAX_TEXT_CHARS} characters")
        return piece


NODES = [RegexMatch, RegexExtract, RegexReplace]
