"""ComfyUI's prompt weighting syntax and the 77-token chunking of prompts.

Syntax (as ComfyUI's `comfy/sd1_clip.py` reads it):

- `(text)` multiplies the weight of `text` by 1.1 per nesting level;
- `(text:1.3)` sets the weight explicitly (the number after the *last* colon; if it is not a
  finite number the colon is plain text and the group counts as a 1.1 group);
- `\\(` and `\\)` are literal parentheses; unbalanced parentheses are plain text;
- square brackets have no meaning (ComfyUI does not down-weight `[text]`);
- `embedding:name` inserts a textual inversion (the lookup is supplied by the caller).

Chunking: every word is tokenized on its own; words are packed into windows of
`start + 75 tokens + end`, padded to 77. A word of 8 tokens or more may be split across
windows, a shorter word that does not fit moves to the next window whole.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_LENGTH = 77
MAX_WORD_LENGTH = 8  # words at least this long may be split across windows
EMBEDDING_PREFIX = "embedding:"
_ESCAPED_CLOSE = "\0\1"
_ESCAPED_OPEN = "\0\2"

log = logging.getLogger(__name__)


def escape_parentheses(text: str) -> str:
    """Hide `\\(` and `\\)` from the parser."""
    return text.replace("\\)", _ESCAPED_CLOSE).replace("\\(", _ESCAPED_OPEN)


def unescape_parentheses(text: str) -> str:
    """Turn hidden escapes back into literal parentheses."""
    return text.replace(_ESCAPED_CLOSE, ")").replace(_ESCAPED_OPEN, "(")


def split_top_level_groups(text: str) -> list[str]:
    """Split text into plain runs and top-level `( ... )` groups (which keep their parentheses)."""
    parts: list[str] = []
    current = ""
    depth = 0
    for char in text:
        if char == "(":
            if depth == 0:
                if current:
                    parts.append(current)
                current = "("
            else:
                current += char
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                parts.append(current + ")")
                current = ""
            else:
                current += char
        else:
            current += char
    if current:
        parts.append(current)
    return parts


def _explicit_weight(inner: str) -> tuple[str, float] | None:
    colon = inner.rfind(":")
    if colon <= 0:
        return None
    try:
        weight = float(inner[colon + 1 :])
    except ValueError:
        return None
    if not math.isfinite(weight):
        return None
    return inner[:colon], weight


def parse_weights(text: str, weight: float = 1.0) -> list[tuple[str, float]]:
    """Segments of (escaped) text with their weights, in order. Call on `escape_parentheses(text)`."""
    segments: list[tuple[str, float]] = []
    for part in split_top_level_groups(text):
        if len(part) >= 2 and part[0] == "(" and part[-1] == ")":
            inner = part[1:-1]
            explicit = _explicit_weight(inner)
            if explicit is not None:
                inner, inner_weight = explicit
            else:
                inner_weight = weight * 1.1
            segments += parse_weights(inner, inner_weight)
        else:
            segments.append((part, weight))
    return segments


def weighted_segments(prompt: str) -> list[tuple[str, float]]:
    """The prompt as (literal text, weight) pairs, escapes resolved."""
    return [(unescape_parentheses(text), weight) for text, weight in parse_weights(escape_parentheses(prompt))]


@dataclass(frozen=True)
class EmbeddingToken:
    """One vector of a textual inversion, standing where a token id would."""

    name: str
    index: int
    vector: Any = field(compare=False, repr=False)  # a 1-D tensor of the encoder's width


EmbeddingLookup = Callable[[str], "Sequence[Any] | None"]  # name -> rows (vectors) or None


@dataclass
class TokenizedPrompt:
    """Windows of (token, weight) pairs, each exactly `MAX_LENGTH` long, and what was skipped."""

    chunks: list[list[tuple[Any, float]]]
    warnings: list[str] = field(default_factory=list)


def _words_with_embeddings(prompt, tokenizer, lookup: EmbeddingLookup | None, warnings: list[str]):
    groups: list[list[tuple[Any, float]]] = []
    for text, weight in weighted_segments(prompt):
        for word in text.replace("\n", " ").split(" "):
            if not word:
                continue
            if word.startswith(EMBEDDING_PREFIX) and lookup is not None:
                name = word[len(EMBEDDING_PREFIX) :]
                name, rows, leftover = _find_embedding(name, lookup)
                if rows is None:
                    message = f"embedding:{name} does not exist, ignoring"
                    log.warning(message)
                    warnings.append(message)
                else:
                    groups.append([(EmbeddingToken(name, i, row), weight) for i, row in enumerate(rows)])
                if not leftover:
                    continue
                word = leftover
            groups.append([(token, weight) for token in tokenizer.word_ids(word)])
    return groups


def _find_embedding(name: str, lookup: EmbeddingLookup):
    """(name found, rows, leftover text); a trailing comma (`embedding:x,`) is retried without and left over."""
    rows = lookup(name)
    if rows is None:
        stripped = name.strip(",")
        if stripped and len(stripped) < len(name):
            return stripped, lookup(stripped), name[len(stripped) :]
    return name, rows, ""


def tokenize_prompt(
    prompt: str,
    tokenizer,
    *,
    pad_token: int,
    embedding_lookup: EmbeddingLookup | None = None,
    max_length: int = MAX_LENGTH,
) -> TokenizedPrompt:
    """Tokenize a weighted prompt into start/end-framed windows padded with `pad_token`."""
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a string, got {type(prompt).__name__}")
    warnings: list[str] = []
    groups = _words_with_embeddings(prompt, tokenizer, embedding_lookup, warnings)
    start, end = tokenizer.start_token, tokenizer.end_token
    room = max_length - 1  # a window holds the start token + words, then the end token
    chunks: list[list[tuple[Any, float]]] = []
    chunk: list[tuple[Any, float]] = [(start, 1.0)]
    chunks.append(chunk)
    for group in groups:
        splittable = len(group) >= MAX_WORD_LENGTH
        while group:
            if len(chunk) + len(group) <= room:
                chunk.extend(group)
                break
            free = room - len(chunk)
            if splittable:
                chunk.extend(group[:free])
                group = group[free:]
                chunk.append((end, 1.0))
            else:
                chunk.append((end, 1.0))
                chunk.extend([(pad_token, 1.0)] * free)
            chunk = [(start, 1.0)]
            chunks.append(chunk)
    chunk.append((end, 1.0))
    chunk.extend([(pad_token, 1.0)] * (max_length - len(chunk)))
    return TokenizedPrompt(chunks=chunks, warnings=warnings)


def empty_chunk(start: int, end: int, pad_token: int, length: int = MAX_LENGTH) -> list[int]:
    """The tokens of an empty prompt: start, end, then padding."""
    return [start, end] + [pad_token] * (length - 2)
