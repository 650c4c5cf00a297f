"""The shipped CLIP BPE tokenizer files and their generator script."""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import pytest

from diffusion.models.text.tokenizer import (
    END_TOKEN,
    MERGES_FILE,
    START_TOKEN,
    VOCAB_FILE,
    ClipTokenizer,
    TokenizerFilesError,
    default_tokenizer,
    pad_tokens,
)
from scripts import make_clip_tokenizer_files as maker


def test_a_photo_of_a_cat_gives_clip_ids():
    assert default_tokenizer().ids("a photo of a cat") == [49406, 320, 1125, 539, 320, 2368, 49407]


def test_padding_sd1_with_end_token_and_sd2_with_zero():
    ids = default_tokenizer().ids("a photo of a cat")
    sd1 = pad_tokens(ids, 77, END_TOKEN)
    sd2 = pad_tokens(ids, 77, 0)
    assert len(sd1) == len(sd2) == 77
    assert sd1[7:] == [49407] * 70
    assert sd2[7:] == [0] * 70
    with pytest.raises(ValueError, match="do not fit"):
        pad_tokens(list(range(78)), 77, 0)


def test_lowercases_and_marks_word_ends():
    tok = default_tokenizer()
    assert tok.ids("A PHOTO") == tok.ids("a photo")
    assert tok.token_text(2368) == "cat</w>"
    assert tok.start_token == START_TOKEN and tok.end_token == END_TOKEN
    assert tok.word_ids("cat") == [2368]
    # a word outside the vocabulary is split into several BPE pieces
    assert len(tok.word_ids("supercalifragilistic")) > 1


def test_vocab_files_are_clip_sized():
    vocab = json.loads(VOCAB_FILE.read_text(encoding="utf-8"))
    assert len(vocab) == 49408
    assert vocab["<|startoftext|>"] == 49406 and vocab["<|endoftext|>"] == 49407
    assert vocab["!"] == 0 and vocab["!</w>"] == 256
    merges = MERGES_FILE.read_text(encoding="utf-8").split("\n")
    assert merges[0].startswith("#version")
    assert len([line for line in merges[1:] if line]) == 48894


def test_byte_characters_cover_all_bytes_once():
    chars = maker.byte_characters()
    assert len(chars) == len(set(chars)) == 256
    assert chars[0] == "!" and "Ā" in chars  # printable first, then code points from 256


def _fake_wheel(tmp_path: Path, lines: list[str]) -> Path:
    wheel = tmp_path / "open_clip_torch-0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(maker.BPE_MEMBER, gzip.compress("\n".join(lines).encode()))
    return wheel


def test_script_rebuilds_the_shipped_files_from_the_bpe_text(tmp_path):
    # Rebuild the BPE text from the shipped merges, run the script on a wheel holding it,
    # and get byte-identical files back.
    merges = MERGES_FILE.read_text(encoding="utf-8").split("\n")[1:]
    merges = [line for line in merges if line]
    wheel = _fake_wheel(tmp_path, ["\"bpe_simple_vocab_16e6.txt#version: 0.2", *merges, "extra line"])
    assert maker.main(["--wheel", str(wheel), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "clip_vocab.json").read_bytes() == VOCAB_FILE.read_bytes()
    assert (tmp_path / "out" / "clip_merges.txt").read_bytes() == MERGES_FILE.read_bytes()
    tok = ClipTokenizer(tmp_path / "out" / "clip_vocab.json", tmp_path / "out" / "clip_merges.txt")
    assert tok.ids("a photo of a cat")[1:-1] == [320, 1125, 539, 320, 2368]


def test_script_rejects_short_or_malformed_bpe_files(tmp_path):
    with pytest.raises(ValueError, match="merge lines"):
        maker.read_merges("header\na b\n")
    lines = ["header"] + ["a b"] * (maker.MERGE_COUNT - 1) + ["oops"]
    with pytest.raises(ValueError, match="line 48894 is not a pair"):
        maker.read_merges("\n".join(lines))


def test_script_rejects_a_wheel_without_the_bpe_file(tmp_path):
    wheel = tmp_path / "other.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("other/file.txt", b"x")
    with pytest.raises(ValueError, match="open_clip_torch wheel"):
        maker.read_bpe_text_from_wheel(wheel)


def test_missing_or_broken_files_give_a_clear_error(tmp_path):
    broken = tmp_path / "vocab.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(TokenizerFilesError, match="make_clip_tokenizer_files"):
        ClipTokenizer(broken, MERGES_FILE)
    with pytest.raises(TokenizerFilesError):
        ClipTokenizer(tmp_path / "absent.json", MERGES_FILE)


def test_small_vocab_is_refused(tmp_path):
    small = tmp_path / "vocab.json"
    small.write_text(json.dumps({"a": 0}), encoding="utf-8")
    with pytest.raises(TokenizerFilesError, match="expected 49408"):
        ClipTokenizer(small, MERGES_FILE)

