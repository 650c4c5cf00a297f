"""The real CLIP BPE tokenizer, offline.

The vocabulary and merges ship in `diffusion/data/` (written by
`scripts/make_clip_tokenizer_files.py` from the open_clip_torch wheel) and are loaded
with transformers' CLIPTokenizer; nothing is fetched from the network.

`ClipTokenizer.word_ids(word)` gives the ids of one word without start/end tokens, the
unit the prompt chunker (`diffusion.models.text.text_encode`) works with; `ids(text)` tokenizes a
whole text with start/end tokens like CLIP does.
"""

from __future__ import annotations

import functools
import inspect
import json
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
VOCAB_FILE = DATA_DIR / "clip_vocab.json"
MERGES_FILE = DATA_DIR / "clip_merges.txt"

START_TOKEN = 49406
END_TOKEN = 49407
VOCAB_SIZE = 49408


class TokenizerFilesError(RuntimeError):
    """The shipped vocabulary/merges files are missing or unreadable."""


def _read_files(vocab_path: Path, merges_path: Path) -> tuple[dict[str, int], list[tuple[str, str]]]:
    try:
        vocab = json.loads(vocab_path.read_text(encoding="utf-8"))
        lines = merges_path.read_text(encoding="utf-8").split("\n")
    except (OSError, ValueError) as exc:
        raise TokenizerFilesError(
            f"CLIP tokenizer files unreadable ({exc}); regenerate them with "
            "`python scripts/make_clip_tokenizer_files.py`"
        ) from exc
    merges = [tuple(line.split()) for line in lines[1:] if line.strip()]
    if len(vocab) != VOCAB_SIZE:
        raise TokenizerFilesError(f"{vocab_path} has {len(vocab)} tokens, expected {VOCAB_SIZE}")
    return vocab, merges


def _build_hf_tokenizer(vocab_path: Path, merges_path: Path):
    from transformers import CLIPTokenizer

    params = inspect.signature(CLIPTokenizer.__init__).parameters
    if "vocab_file" in params:  # transformers 4.x (python tokenizer reading files)
        for path in (vocab_path, merges_path):
            if not path.is_file():
                raise TokenizerFilesError(f"missing {path}; run `python scripts/make_clip_tokenizer_files.py`")
        return CLIPTokenizer(vocab_file=str(vocab_path), merges_file=str(merges_path))
    vocab, merges = _read_files(vocab_path, merges_path)  # transformers 5.x takes the tables
    return CLIPTokenizer(vocab=vocab, merges=merges)


class ClipTokenizer:
    """CLIP's BPE tokenizer (lower-cases, byte-level BPE, `</w>` word ends)."""

    def __init__(self, vocab_path: Path = VOCAB_FILE, merges_path: Path = MERGES_FILE):
        self._hf = _build_hf_tokenizer(Path(vocab_path), Path(merges_path))
        self.vocab: dict[str, int] = dict(self._hf.get_vocab())
        self._inverse = {index: token for token, index in self.vocab.items()}
        empty = self._hf("")["input_ids"]
        self.start_token, self.end_token = int(empty[0]), int(empty[1])

    def ids(self, text: str) -> list[int]:
        """Token ids of `text` with the start and end tokens, unpadded."""
        return [int(i) for i in self._hf(text)["input_ids"]]

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
    """The shared tokenizer built from the shipped files (built once, read-only afterwards)."""
    return ClipTokenizer()


def pad_tokens(ids: list[int], length: int, pad_token: int) -> list[int]:
    """`ids` padded with `pad_token` up to `length` (SD1 pads with the end token, SD2/SDXL-G with 0)."""
    if len(ids) > length:
        raise ValueError(f"{len(ids)} tokens do not fit in {length}")
    return list(ids) + [pad_token] * (length - len(ids))
