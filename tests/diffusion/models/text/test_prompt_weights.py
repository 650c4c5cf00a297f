"""ComfyUI prompt weighting syntax and 77-token windows."""

from __future__ import annotations

import pytest

from diffusion.models.text.prompt_weights import (
    EmbeddingToken,
    empty_chunk,
    tokenize_prompt,
    weighted_segments,
)
from diffusion.models.text.tokenizer import default_tokenizer


def _approx(segments):
    return [(text, round(weight, 6)) for text, weight in segments]


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("plain text", [("plain text", 1.0)]),
        ("(word:1.2)", [("word", 1.2)]),
        ("a (word) b", [("a ", 1.0), ("word", 1.1), (" b", 1.0)]),
        ("((word))", [("word", 1.21)]),
        ("(((word)))", [("word", 1.331)]),
        ("(a (b:1.5) c)", [("a ", 1.1), ("b", 1.5), (" c", 1.1)]),
        ("((a:0.5))", [("a", 0.5)]),
        ("(a:0.5) (b:-1)", [("a", 0.5), (" ", 1.0), ("b", -1.0)]),
        ("[word]", [("[word]", 1.0)]),  # ComfyUI gives square brackets no meaning
        ("\\(literal\\)", [("(literal)", 1.0)]),
        ("(x \\(y\\):1.3)", [("x (y)", 1.3)]),
        ("(word:abc)", [("word:abc", 1.1)]),  # not a number: the colon is text
        ("(time: 12:30)", [("time: 12", 30.0)]),  # the number after the last colon, as ComfyUI
        ("(word:nan)", [("word:nan", 1.1)]),  # non-finite weights are not weights
        ("(word:inf)", [("word:inf", 1.1)]),
        ("(:1.5)", [(":1.5", 1.1)]),  # a colon in front is not a weight
        ("(unclosed", [("(unclosed", 1.0)]),
        ("stray) paren", [("stray) paren", 1.0)]),
        ("()", []),
    ],
)
def test_weight_syntax(prompt, expected):
    assert _approx(weighted_segments(prompt)) == expected


def _ids(chunk):
    return [token for token, _ in chunk]


def test_short_prompt_is_one_padded_window():
    tok = default_tokenizer()
    result = tokenize_prompt("a photo of a cat", tok, pad_token=49407)
    assert len(result.chunks) == 1
    assert _ids(result.chunks[0]) == [49406, 320, 1125, 539, 320, 2368] + [49407] * 71
    zero_pad = tokenize_prompt("a photo of a cat", tok, pad_token=0)
    assert _ids(zero_pad.chunks[0])[6:] == [49407] + [0] * 70


def test_weights_travel_with_tokens():
    result = tokenize_prompt("a (cat:1.5)", default_tokenizer(), pad_token=0)
    pairs = result.chunks[0][:4]
    assert pairs == [(49406, 1.0), (320, 1.0), (2368, 1.5), (49407, 1.0)]


def test_empty_prompt_is_start_end_and_padding():
    result = tokenize_prompt("", default_tokenizer(), pad_token=0)
    assert _ids(result.chunks[0]) == empty_chunk(49406, 49407, 0)


def test_75_tokens_fit_one_window_and_76_need_two():
    tok = default_tokenizer()
    full = tokenize_prompt("cat " * 75, tok, pad_token=0)
    assert len(full.chunks) == 1 and _ids(full.chunks[0]) == [49406] + [2368] * 75 + [49407]
    over = tokenize_prompt("cat " * 76, tok, pad_token=0)
    assert len(over.chunks) == 2
    assert _ids(over.chunks[1])[:3] == [49406, 2368, 49407]
    assert all(len(chunk) == 77 for chunk in over.chunks)


def test_short_word_moves_whole_long_word_splits():
    tok = default_tokenizer()
    long_word = "supercalifragilisticexpialidocious"
    pieces = tok.word_ids(long_word)
    assert len(pieces) >= 8
    # 74 single-token words leave room for one more token: a 2-token word moves on whole...
    two_token = "catdogs"
    assert len(tok.word_ids(two_token)) == 2
    moved = tokenize_prompt("cat " * 74 + two_token, tok, pad_token=0)
    assert _ids(moved.chunks[0])[75:] == [49407, 0]
    assert _ids(moved.chunks[1])[1:3] == tok.word_ids(two_token)
    # ...while a long word is split across the windows.
    split = tokenize_prompt("cat " * 74 + long_word, tok, pad_token=0)
    assert _ids(split.chunks[0])[75] == pieces[0] and _ids(split.chunks[0])[76] == 49407
    assert _ids(split.chunks[1])[1 : len(pieces)] == pieces[1:]


def test_newlines_and_spaces_separate_words():
    tok = default_tokenizer()
    a = tokenize_prompt("a\nphoto   of", tok, pad_token=0)
    b = tokenize_prompt("a photo of", tok, pad_token=0)
    assert a.chunks == b.chunks


def test_embeddings_insert_vectors_and_report_missing():
    tok = default_tokenizer()
    vectors = {"style": ["v0", "v1"]}
    result = tokenize_prompt(
        "a embedding:style, (embedding:style:1.2) embedding:absent cat",
        tok,
        pad_token=0,
        embedding_lookup=vectors.get,
    )
    tokens = result.chunks[0]
    embeds = [(t, w) for t, w in tokens if isinstance(t, EmbeddingToken)]
    assert [(e.name, e.index, e.vector, w) for e, w in embeds] == [
        ("style", 0, "v0", 1.0), ("style", 1, "v1", 1.0), ("style", 0, "v0", 1.2), ("style", 1, "v1", 1.2),
    ]
    ids = [t for t, _ in tokens if not isinstance(t, EmbeddingToken)]
    assert tok.word_ids(",")[0] in ids  # the comma after the name is kept as text
    assert tok.word_ids("absent")[0] not in ids  # a missing embedding is dropped...
    assert result.warnings == ["embedding:absent does not exist, ignoring"]  # ...and reported
    assert 2368 in ids


def test_embedding_syntax_without_library_is_text():
    tok = default_tokenizer()
    result = tokenize_prompt("embedding:style", tok, pad_token=0)
    assert all(isinstance(t, int) for t, _ in result.chunks[0])


def test_non_string_prompt_is_refused():
    with pytest.raises(TypeError, match="prompt must be a string"):
        tokenize_prompt(None, default_tokenizer(), pad_token=0)
