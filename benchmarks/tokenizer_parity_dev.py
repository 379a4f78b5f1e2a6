"""Tokenizer parity before and after byte-budget balancing, on real multi-parallel text.

Splits ``parallel_dev.tsv`` (Django UI messages, ../shared/data) by English message into a
training part and a held-out part. From the training part it writes one text file per language
with a web-like skew (all English, a fraction of each other language's rows), runs the
``tokenizer_parity`` pipeline (raw-mixture vs temperature-balanced sentencepiece models of the
same normalised size) and prints parity per language on the held-out part. Prints "skipped"
when the data is absent.

    python benchmarks/tokenizer_parity_dev.py                  # temperature 0.3, vocab 1000
    python benchmarks/tokenizer_parity_dev.py --temperature 0.5 --vocab 2000
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import tempfile
from pathlib import Path

from corpusforge.pipelines.tokenizer_parity import config_from_dict, run

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
# Share of its training rows each locale keeps: a web-like skew (English whole, Latin and
# Cyrillic scripts next, South Asian scripts and Burmese scarce).
SKEW = {
    "en": 1.0,
    "de": 0.3,
    "fr": 0.3,
    "ru": 0.2,
    "ja": 0.15,
    "zh_Hans": 0.15,
    "ar": 0.1,
    "hi": 0.06,
    "ur": 0.05,
    "bn": 0.05,
    "ta": 0.04,
    "my": 0.04,
}


def fraction(*parts: str) -> float:
    """A stable number in [0, 1) from ``parts``."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def prepare(tsv: Path, root: Path, heldout_share: float) -> tuple[list[dict], Path]:
    with tsv.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    heldout_rows = [r for r in rows if fraction("heldout", r["en"]) < heldout_share]
    training_rows = [r for r in rows if fraction("heldout", r["en"]) >= heldout_share]
    heldout = root / "heldout.tsv"
    with heldout.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE, escapechar="\\")
        writer.writerow(list(SKEW))
        writer.writerows([r[locale] for locale in SKEW] for r in heldout_rows)
    inputs = []
    for locale, share in SKEW.items():
        kept = [r[locale] for r in training_rows if r[locale] and fraction(locale, r["en"]) < share]
        path = root / f"{locale}.txt"
        path.write_text("".join(text + "\n" for text in kept), encoding="utf-8")
        inputs.append({"name": locale, "format": "text", "paths": [str(path)], "options": {"lang": locale}})
    print(
        f"{len(training_rows)} training rows, {len(heldout_rows)} held-out rows; training lines per locale: "
        + ", ".join(f"{i['name']} {sum(1 for _ in open(i['paths'][0], encoding='utf-8'))}" for i in inputs)
    )
    return inputs, heldout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA / "parallel_dev.tsv")
    parser.add_argument("--temperature", type=float, default=0.3)
    parser.add_argument("--max-repeat", type=float, default=10.0, help="up-sampling cap for the balanced set")
    parser.add_argument("--vocab", type=int, default=1000)
    parser.add_argument("--model-type", default="unigram", choices=["unigram", "bpe"])
    parser.add_argument(
        "--no-byte-fallback", dest="byte_fallback", action="store_false", help="unseen characters become <unk>, not byte tokens"
    )
    parser.add_argument("--heldout-share", type=float, default=0.4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not args.data.is_file():
        print(f"skipped: {args.data} is absent")
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        inputs, heldout = prepare(args.data, root, args.heldout_share)
        job = config_from_dict(
            {
                "name": "parity-dev",
                "seed": args.seed,
                "inputs": inputs,
                "premium": {"parallel": str(args.data)},
                "sample": {"temperature": args.temperature, "max_repeat": args.max_repeat},
                "tokenizer": {"vocab_size": args.vocab, "model_type": args.model_type, "byte_fallback": args.byte_fallback},
                "heldout": {"path": str(heldout)},
                "output": {"path": str(root / "out")},
            },
            base_dir=str(root),
        )
        result = run(job)
    sampling = result["sampling"]
    print(f"\nmixtures (share of normalised bytes), temperature {args.temperature}, max_repeat {args.max_repeat}:")
    print(f"{'lang':10s} {'input':>7s} {'raw':>7s} {'balanced':>8s}")
    for lang, entry in sampling["input"].items():
        shares = [sampling[name]["languages"][lang]["achieved_share"] for name in ("raw", "balanced")]
        print(f"{lang:10s} {entry['share_norm_bytes']:7.3f} {shares[0]:7.3f} {shares[1]:8.3f}")
    for name, info in result["training"].items():
        print(f"{name}: {info['lines']} lines, {info['bytes']:,} bytes")
    print(f"\nparity on {result['balanced']['languages']['eng_Latn']['units']} held-out units (vocab {args.vocab}, {args.model_type}):")
    print(result["table"])
    print(f"\n{'lang':10s} {'tok/nbyte raw':>14s} {'tok/nbyte bal':>14s}")
    for lang, entry in result["raw"]["languages"].items():
        print(f"{lang:10s} {entry['tokens_per_norm_byte']:14.4f} {result['balanced']['languages'][lang]['tokens_per_norm_byte']:14.4f}")


if __name__ == "__main__":
    main()
