"""CLIP's byte-level BPE in plain Python, step for step as transformers' CLIPTokenizer runs it.

The pipeline (the one `tokenizers` builds for CLIP), for a text:

1. the special tokens `<|startoftext|>` / `<|endoftext|>` are cut out of the raw text;
2. each other part is normalised: Unicode NFC, every whitespace run becomes one space, and
   each character is lower-cased on its own;
3. it is split into words: a contraction (`'s`, `'t`, `'re`, `'ve`, `'m`, `'ll`, `'d`), a run
   of letters, one digit, or a run of other non-space characters; whitespace is dropped;
4. each word's UTF-8 bytes are spelled with GPT-2's 256 byte characters, `</w>` is added to
   its last character, and the merges are applied lowest rank first.

Letters and digits are the Unicode categories L* and N*; whitespace is what Oniguruma's `\\s`
matches (tab to carriage return, U+0085 and the categories Zs, Zl, Zp).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping

SPECIAL_TOKENS = ("<|startoftext|>", "<|endoftext|>")
CONTRACTIONS = ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d")
END_OF_WORD = "</w>"
_CONTROL_SPACES = frozenset("\t\n\x0b\x0c\r\x85")


def byte_to_character() -> dict[int, str]:
    """GPT-2's map from a byte to the printable character that stands for it."""
    direct = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    direct += list(range(ord("®"), ord("ÿ") + 1))
    table = {byte: chr(byte) for byte in direct}
    extra = 0
    for byte in range(256):
        if byte not in table:
            table[byte] = chr(256 + extra)
            extra += 1
    return table


_BYTE_CHARACTERS = byte_to_character()


def is_space(character: str) -> bool:
    return character in _CONTROL_SPACES or unicodedata.category(character) in ("Zs", "Zl", "Zp")


def _kind(character: str) -> str:
    """"s" (whitespace), "L" (letter), "N" (number) or "o" (anything else)."""
    if is_space(character):
        return "s"
    major = unicodedata.category(character)[0]
    return major if major in ("L", "N") else "o"


def split_special(text: str) -> Iterator[str]:
    """The raw text cut at the special tokens: the tokens themselves and the parts between them."""
    start = 0
    while True:
        found = [(text.find(token, start), token) for token in SPECIAL_TOKENS]
        found = [(at, token) for at, token in found if at >= 0]
        if not found:
            break
        at, token = min(found)
        if at > start:
            yield text[start:at]
        yield token
        start = at + len(token)
    if start < len(text):
        yield text[start:]


def normalize(text: str) -> str:
    """NFC, whitespace runs to one space, each character lower-cased on its own."""
    text = unicodedata.normalize("NFC", text)
    out: list[str] = []
    for character in text:
        if is_space(character):
            if not out or out[-1] != " ":
                out.append(" ")
        else:
            out.append(character.lower())
    return "".join(out)


def split_words(text: str) -> list[str]:
    """The words of normalised text, as CLIP's pre-tokenizer cuts them (whitespace dropped)."""
    words: list[str] = []
    kinds = [_kind(c) for c in text]
    i, n = 0, len(text)
    while i < n:
        kind = kinds[i]
        if kind == "s":
            i += 1
            continue
        special = next((t for t in SPECIAL_TOKENS if text.startswith(t, i)), None)
        if special is not None:  # typed as text: the byte-level split then cuts it at its bars
            words += ["<|", special[2:-2], "|>"]
            i += len(special)
            continue
        contraction = next((c for c in CONTRACTIONS if text.startswith(c, i)), None)
        if contraction is not None:
            words.append(contraction)
            i += len(contraction)
            continue
        j = i + 1
        if kind != "N":  # digits go one by one; letters and other characters in runs
            while j < n and kinds[j] == kind:
                j += 1
        words.append(text[i:j])
        i = j
    return words


def byte_spelling(word: str) -> str:
    """The word's UTF-8 bytes, one byte character each."""
    return "".join(_BYTE_CHARACTERS[b] for b in word.encode("utf-8"))


def merge_word(spelled: str, ranks: Mapping[str, int]) -> list[str]:
    """BPE of one byte-spelled word: `</w>` on the last symbol, then the merges by rank ("a b" keys)."""
    symbols = [*spelled[:-1], spelled[-1] + END_OF_WORD]
    while len(symbols) > 1:
        best_rank, best = None, None
        for left, right in zip(symbols[:-1], symbols[1:], strict=True):
            rank = ranks.get(f"{left} {right}")
            if rank is not None and (best_rank is None or rank < best_rank):
                best_rank, best = rank, (left, right)
        if best is None:
            break
        left, right = best
        merged: list[str] = []
        i = 0
        while i < len(symbols):
            if i + 1 < len(symbols) and symbols[i] == left and symbols[i + 1] == right:
                merged.append(left + right)
                i += 2
            else:
                merged.append(symbols[i])
                i += 1
        symbols = merged
    return symbols
