"""The plain-Python CLIP BPE gives transformers' CLIPTokenizer ids, and loads neither torch nor transformers."""

from __future__ import annotations

import inspect
import json
import random
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from diffusion.models.text.clip_bpe import byte_to_character, merge_word, normalize, split_special, split_words
from diffusion.models.text.prompt_weights import tokenize_prompt
from diffusion.models.text.tokenizer import MERGES_FILE, VOCAB_FILE, default_tokenizer
from scripts import make_clip_tokenizer_files as maker

ROOT = Path(__file__).resolve().parents[4]

HAND_PICKED = [
    "a photo of a cat", "A PHOTO OF A CAT", "", "   ", "\t\n",
    "(masterpiece:1.2), best quality, ((ultra detailed)), [blurry], (worst quality:-0.5)",
    "embedding:EasyNegative, embedding:my_style,", "\\(escaped\\) (paren:0.5) ((a (b:1.5) c))",
    "it's a dog's life, they're here, I've, I'm, we'll, he'd, ''s !'s ' s",
    "a<|endoftext|>b <|startoftext|> <|ENDOFTEXT|>! x<|StartOfText|>y",
    "ΟΔΟΣ Σ ς İstanbul STRASSE straße ẞ Ǆ ǅ",
    "日本語のテキスト 中文字符 한국어 텍스트", "emoji 🐱🚀 👩‍👩‍👧 ❤️ 🏳️‍🌈",
    "numbers 123 4.5 ½ ² Ⅻ ① ١٢٣ ०१२", "café cafe\u0301 naïve Å A\u030a Ω Ω",
    "tabs\tand\nnewlines\r\n  spaces\u00a0nbsp\u2003em\u3000ideographic\x85nel\u2028ls\x1cfs",
    "arabic العربية hebrew עברית thai ภาษาไทย devanagari हिन्दी",
    "e-mail@host.com http://x.y/z?q=1&r=2 snake_case_name CamelCaseName hy-phen",
    "supercalifragilisticexpialidocious " * 12, "a" * 300, "\u200b zero\u200bwidth \ufeff bom \x00 nul \x7f",
    "$%^&*()_+{}|:\"<>?~` ... --- ,,, !!!", "mixed ／ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３",
]

# Scripts whose characters both Python's and tokenizers' Unicode tables have long known.
_RANGES = [(0x20, 0x7F)] * 3 + [(0xA0, 0x250), (0x300, 0x370), (0x370, 0x400), (0x400, 0x530), (0x590, 0x600),
                               (0x600, 0x700), (0x900, 0x980), (0xE00, 0xE80), (0x2000, 0x2070), (0x2150, 0x2190),
                               (0x3000, 0x3100), (0x4E00, 0x4F00), (0xAC00, 0xAD00), (0xFF00, 0xFF60),
                               (0x1F300, 0x1F700)]
_ALPHABET = [chr(c) for a, b in _RANGES for c in range(a, b) if unicodedata.category(chr(c)) != "Cn"]


def _random_prompts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words = [w.replace("</w>", "") for w in json.loads(VOCAB_FILE.read_text(encoding="utf-8"))]
    prompts = ["".join(rng.choice(_ALPHABET) for _ in range(rng.randint(1, 60))) for _ in range(count)]
    for _ in range(count):
        picked = [rng.choice(words) for _ in range(rng.randint(1, 40))]
        picked = [f"({w}:{rng.uniform(0, 2):.2f})" if rng.random() < 0.1 else w for w in picked]
        text = rng.choice([" ", ", ", ",", "-", ""]).join(picked)
        prompts.append(text.upper() if rng.random() < 0.2 else text)
    return prompts


def _transformers_tokenizer():
    """transformers' CLIPTokenizer on the shipped files (what the project used before)."""
    transformers = pytest.importorskip("transformers")
    params = inspect.signature(transformers.CLIPTokenizer.__init__).parameters
    if "vocab_file" in params:  # transformers 4.x
        return transformers.CLIPTokenizer(vocab_file=str(VOCAB_FILE), merges_file=str(MERGES_FILE))
    vocab = json.loads(VOCAB_FILE.read_text(encoding="utf-8"))
    lines = MERGES_FILE.read_text(encoding="utf-8").split("\n")[1:]
    return transformers.CLIPTokenizer(vocab=vocab, merges=[tuple(line.split()) for line in lines if line.strip()])


@pytest.fixture(scope="module")
def reference():
    return _transformers_tokenizer()


def test_ids_match_transformers_on_many_prompts(reference):
    ours = default_tokenizer()
    prompts = HAND_PICKED + _random_prompts(600, seed=0)
    wrong = [p for p in prompts if ours.ids(p) != list(reference(p)["input_ids"])]
    assert not wrong, f"{len(wrong)} of {len(prompts)} prompts differ, e.g. {wrong[:3]!r}"


def test_weighted_windows_match_transformers(reference):
    """The prompt chunker gives the same windows on either tokenizer (weights, embeddings, long text)."""

    class Reference:
        vocab = dict(reference.get_vocab())
        start_token, end_token = 49406, 49407

        def ids(self, text):
            return list(reference(text)["input_ids"])

        def word_ids(self, word):
            exact = self.vocab.get(f"{word}</w>")
            return [exact] if exact is not None else self.ids(word)[1:-1]

    def lookup(name):
        return None if name.startswith("missing") else [[0.0]] * (1 + len(name) % 3)

    for prompt in HAND_PICKED + _random_prompts(100, seed=1) + ["embedding:foo, (embedding:missing_x:1.3) bar"]:
        for pad in (49407, 0):
            ours = tokenize_prompt(prompt, default_tokenizer(), pad_token=pad, embedding_lookup=lookup)
            theirs = tokenize_prompt(prompt, Reference(), pad_token=pad, embedding_lookup=lookup)
            assert ours == theirs, prompt


def test_byte_characters_are_the_generator_scripts():
    assert list(byte_to_character().values()) == maker.byte_characters()
    assert sorted(byte_to_character()) == list(range(256))


def test_the_steps_on_a_small_text():
    assert list(split_special("a<|endoftext|>b<|startoftext|>")) == ["a", "<|endoftext|>", "b", "<|startoftext|>"]
    assert normalize("  A\u00a0\u2003B\tΣ ") == " a b σ "  # one character at a time: no final sigma
    assert split_words("it's 12 cats!!'s <|endoftext|>x") == ["it", "'s", "1", "2", "cats", "!!'", "s", "<|",
                                                               "endoftext", "|>", "x"]
    assert merge_word("cat", {"c a": 0, "ca t</w>": 1}) == ["cat</w>"]
    assert merge_word("cat", {"a t</w>": 0, "c a": 1}) == ["c", "at</w>"]  # lowest rank first


def test_word_cache_hands_out_copies():
    tokenizer = default_tokenizer()
    first = tokenizer.ids("kitten")
    first.append(-1)
    assert tokenizer.ids("kitten") == first[:-1]


def test_tokenizing_loads_neither_torch_nor_transformers():
    code = ("import sys\n"
            "from diffusion.models.text.tokenizer import default_tokenizer\n"
            "from diffusion.models.text.prompt_weights import tokenize_prompt\n"
            "from diffusion.models.text.encoder_specs import FAMILY_ENCODERS\n"
            "tokenize_prompt('a (cat:1.2)', default_tokenizer(), pad_token=FAMILY_ENCODERS['sd2'][0].pad_token)\n"
            "print(sorted(m for m in ('torch', 'transformers', 'tokenizers') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
