"""Write the CLIP BPE tokenizer files shipped in diffusion/data/.

CLIP's byte-pair-encoding table travels inside the `open_clip_torch` wheel as
`open_clip/bpe_simple_vocab_16e6.txt.gz`. This script reads that file (from a wheel
path given on the command line, or from a wheel it fetches with
`pip download --no-deps open_clip_torch`) and writes the two files transformers'
CLIPTokenizer loads:

- `clip_vocab.json`: token -> id, built the way CLIP builds it: the 256 byte characters,
  the same 256 with `</w>`, one entry per merge, then `<|startoftext|>` and
  `<|endoftext|>` (49408 entries in all);
- `clip_merges.txt`: a `#version` header then the 48894 merges CLIP uses.

Usage:
    python scripts/make_clip_tokenizer_files.py [--wheel PATH] [--out DIR]
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

BPE_MEMBER = "open_clip/bpe_simple_vocab_16e6.txt.gz"
# CLIP keeps the merges on lines 1 .. 49152-256-2 of the file (line 0 is a header).
MERGE_COUNT = 49152 - 256 - 2
VOCAB_SIZE = 49408
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "diffusion" / "models" / "text" / "data"


def byte_characters() -> list[str]:
    """The 256 printable characters GPT-2/CLIP use for the bytes 0..255, in CLIP's order.

    Printable Latin-1 bytes stand for themselves; the remaining bytes are mapped, in
    increasing byte order, to code points from 256 upwards.
    """
    direct = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    direct += list(range(ord("®"), ord("ÿ") + 1))
    codes = list(direct)
    extra = 0
    for byte in range(256):
        if byte not in direct:
            direct.append(byte)
            codes.append(256 + extra)
            extra += 1
    return [chr(code) for code in codes]


def read_merges(bpe_text: str) -> list[tuple[str, str]]:
    """The merge pairs CLIP uses from the text of bpe_simple_vocab_16e6.txt."""
    lines = bpe_text.split("\n")[1 : MERGE_COUNT + 1]
    if len(lines) != MERGE_COUNT:
        raise ValueError(f"BPE file has {len(lines)} merge lines, expected {MERGE_COUNT}")
    merges = []
    for number, line in enumerate(lines, start=1):
        parts = line.split()
        if len(parts) != 2:
            raise ValueError(f"BPE file line {number} is not a pair: {line!r}")
        merges.append((parts[0], parts[1]))
    return merges


def build_vocab(merges: list[tuple[str, str]]) -> dict[str, int]:
    """CLIP's token -> id table from its merges."""
    tokens = byte_characters()
    tokens = tokens + [token + "</w>" for token in tokens]
    tokens += ["".join(pair) for pair in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {token: index for index, token in enumerate(tokens)}
    if len(vocab) != VOCAB_SIZE:
        raise ValueError(f"built {len(vocab)} distinct tokens, expected {VOCAB_SIZE}")
    return vocab


def read_bpe_text_from_wheel(wheel: Path) -> str:
    """The decompressed BPE text inside an open_clip_torch wheel."""
    with zipfile.ZipFile(wheel) as archive:
        try:
            packed = archive.read(BPE_MEMBER)
        except KeyError:
            raise ValueError(f"{wheel} has no {BPE_MEMBER}; is it an open_clip_torch wheel?") from None
    return gzip.decompress(packed).decode("utf-8")


def download_wheel(into: Path) -> Path:
    """Fetch the open_clip_torch wheel (without its dependencies) with pip."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "open_clip_torch", "-d", str(into)],
        check=True,
    )
    wheels = sorted(into.glob("open_clip_torch-*.whl"))
    if not wheels:
        raise RuntimeError("pip download finished but no open_clip_torch wheel was found")
    return wheels[-1]


def write_files(bpe_text: str, out_dir: Path) -> tuple[Path, Path]:
    """Write clip_vocab.json and clip_merges.txt into out_dir; returns their paths."""
    merges = read_merges(bpe_text)
    vocab = build_vocab(merges)
    out_dir.mkdir(parents=True, exist_ok=True)
    vocab_path = out_dir / "clip_vocab.json"
    merges_path = out_dir / "clip_merges.txt"
    vocab_path.write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    merges_text = "#version: 0.2\n" + "\n".join(f"{a} {b}" for a, b in merges) + "\n"
    merges_path.write_text(merges_text, encoding="utf-8")
    return vocab_path, merges_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, help="open_clip_torch wheel (downloaded with pip when omitted)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    if args.wheel is not None:
        bpe_text = read_bpe_text_from_wheel(args.wheel)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            bpe_text = read_bpe_text_from_wheel(download_wheel(Path(tmp)))
    for path in write_files(bpe_text, args.out):
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
