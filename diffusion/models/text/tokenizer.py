"""The real CLIP BPE tokenizer, offline and without torch or transformers.

The vocabulary and merges ship in `diffusion/models/text/data/` (written by
`scripts/make_clip_tokenizer_files.py` from the open_clip_torch wheel); the byte-level BPE
itself is `diffusion.models.text.clip_bpe`, which gives the ids transformers' CLIPTokenizer
gives. Nothing is fetched from the network.

`ClipTokenizer.word_ids(word)` gives the ids of one word without start/end tokens, the
unit the prompt chunker (`diffusion.models.text.prompt_weights`) works with; `ids(text)` tokenizes a
whole text with start/end tokens like CLIP does.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from diffusion.models.text.clip_bpe import (
    SPECIAL_TOKENS,
    byte_spelling,
    merge_word,
    normalize,
    split_special,
    split_words,
)

DATA_DIR = Path(__file__).resolve().parent / "data"
VOCAB_FILE = DATA_DIR / "clip_vocab.json"
MERGES_FILE = DATA_DIR / "clip_merges.txt"

START_TOKEN = 49406
END_TOKEN = 49407
VOCAB_SIZE = 49408


class TokenizerFilesError(RuntimeError):
    """The shipped vocabulary/merges files are missing or unreadable."""


def _read_files(vocab_path: Path, merges_path: Path) -> tuple[dict[str, int], dict[str, int]]:
    """The vocabulary (token -> id) and the merge ranks ("a b" -> rank) from the shipped files."""
    try:
        vocab = json.loads(vocab_path.read_text(encoding="utf-8"))
        lines = merges_path.read_text(encoding="utf-8").split("\n")
    except (OSError, ValueError) as exc:
        raise TokenizerFilesError(
            f"CLIP tokenizer files unreadable ({exc}); regenerate them with "
            "`python scripts/make_clip_tokenizer_files.py`"
        ) from exc
    if not isinstance(vocab, dict) or len(vocab) != VOCAB_SIZE:
        size = len(vocab) if isinstance(vocab, dict) else "no"
        raise TokenizerFilesError(f"{vocab_path} has {size} tokens, expected {VOCAB_SIZE}")
    ranks = {line: rank for rank, line in enumerate(line.strip() for line in lines[1:]) if line}
    return vocab, ranks


class ClipTokenizer:
    """CLIP's BPE tokenizer (lower-cases, byte-level BPE, `</w>` word ends)."""

    def __init__(self, vocab_path: Path = VOCAB_FILE, merges_path: Path = MERGES_FILE):
        self.vocab, self._ranks = _read_files(Path(vocab_path), Path(merges_path))
        self._inverse = {index: token for token, index in self.vocab.items()}
        self.start_token, self.end_token = (self.vocab[token] for token in SPECIAL_TOKENS)
        self._word_cache: dict[str, list[int]] = {}

    def ids(self, text: str) -> list[int]:
        """Token ids of `text` with the start and end tokens, unpadded."""
        ids = [self.start_token]
        for part in split_special(text):
            if part in SPECIAL_TOKENS:
                ids.append(self.vocab[part])
            else:
                for word in split_words(normalize(part)):
                    ids += self._bpe_ids(word)
        ids.append(self.end_token)
        return ids

    def _bpe_ids(self, word: str) -> list[int]:
        cached = self._word_cache.get(word)
        if cached is None:
            cached = [self.vocab[symbol] for symbol in merge_word(byte_spelling(word), self._ranks)]
            self._word_cache[word] = cached
        return list(cached)

    def word_ids(self, word: str) -> list[int]:
        """Token ids of one word (no start/end tokens); a whole-word vocabulary hit is taken directly."""
        exact = self.vocab.get(f"{word}</w>")
        if exact is not None:
            return [exact]
        return self.ids(word)[1:-1]

    def token_text(self, token_id: int) -> str:
        """The vocabulary entry of an id (`"cat</w>"`), or `"<id>"` when out of range."""
        return self._inverse.get(int(token_id), f"<{token_id}>")


@functools.lru_cache(maxsize=1)
def default_tokenizer() -> ClipTokenizer:
    """The shared tokenizer built from the shipped files (built once; only its word cache grows)."""
    return ClipTokenizer()


def pad_tokens(ids: list[int], length: int, pad_token: int) -> list[int]:
    """`ids` padded with `pad_token` up to `length` (SD1 pads with the end token, SD2/SDXL-G with 0)."""
    if len(ids) > length:
        raise ValueError(f"{len(ids)} tokens do not fit in {length}")
    return list(ids) + [pad_token] * (length - len(ids))
