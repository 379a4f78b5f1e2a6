"""Normalizer throughput against a plain per-row loop (unicodedata NFC + sacremoses), same rows.

Rows: the sentences of ../shared/data/lid_dev.tsv (90+ languages) repeated, or a small built-in
multilingual sample when that file is absent. Both sides do NFC + Moses punctuation for each
row's language; the stage's other steps are timed separately for reference.

    nice .venv/bin/python benchmarks/normalize_throughput.py [--rows 200000] [--batch-rows 8192]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import time
import unicodedata
from pathlib import Path

import pyarrow as pa
from sacremoses import MosesPunctNormalizer

from corpusforge.transforms.normalize import Normalizer, _moses_lang

LID_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "lid_dev.tsv"
SAMPLE = [
    ("eng_Latn", "He said “hello” — and left…  (quickly) ."),
    ("fra_Latn", "« Bonjour\u00a0! » dit-il, à 10\u00a0% du prix."),
    ("deu_Latn", "„Guten Tag“, sagte er, ‚und tschüss‘."),
    ("hin_Deva", "यह एक परीक्षण वाक्य है। क्या आप ठीक हैं?"),
    ("urd_Arab", "یہ ایک آزمائشی جملہ ہے۔"),
    ("zho_Hans", "这是一个测试句子，对吗？"),
    ("rus_Cyrl", "Это тестовое предложение – не более."),
    ("ben_Beng", "এটি একটি পরীক্ষা বাক্য।"),
]


def load_rows() -> list[tuple[str, str]]:
    if not LID_DEV.exists():
        print(f"{LID_DEV} absent: using the built-in sample")
        return SAMPLE
    with LID_DEV.open(encoding="utf-8", newline="") as f:
        return [(r["lang"], r["sentence"]) for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]


def baseline(rows: list[tuple[str, str]]) -> list[str]:
    """What a user would write: one cached sacremoses normaliser per language, NFC per row."""
    cache: dict[str, MosesPunctNormalizer] = {}
    out = []
    for lang, text in rows:
        moses = cache.get(lang)
        if moses is None:
            moses = cache[lang] = MosesPunctNormalizer(lang=_moses_lang(lang))
        out.append(moses.normalize(unicodedata.normalize("NFC", text)))
    return out


def warm(stage: Normalizer, batches: list[pa.RecordBatch]) -> Normalizer:
    """One-off per worker, not throughput: setup() and one batch (builds each language's plan)."""
    stage.setup()
    run_stage(stage, batches[:1])
    return stage


def run_stage(stage: Normalizer, batches: list[pa.RecordBatch]) -> list[str]:
    out = []
    for batch in batches:
        out.extend(stage.process(batch).kept.column("text").to_pylist())
    return out


def timed(fn, *args) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch-rows", type=int, default=8192)
    args = parser.parse_args()
    base = load_rows()
    rows = list(itertools.islice(itertools.cycle(base), args.rows))
    batches = [
        pa.RecordBatch.from_pydict(
            {
                "id": [str(i + k) for k in range(len(chunk))],
                "source": ["bench"] * len(chunk),
                "text": [t for _, t in chunk],
                "lang": [lang for lang, _ in chunk],
            }
        )
        for i in range(0, len(rows), args.batch_rows)
        for chunk in [rows[i : i + args.batch_rows]]
    ]
    print(f"{len(rows):,} rows ({len(base):,} distinct), batches of {args.batch_rows:,}")

    base_s, expected = timed(baseline, rows)
    print(f"baseline  per-row unicodedata NFC + sacremoses: {len(rows) / base_s:>10,.0f} rows/s")
    stage_s, got = timed(run_stage, warm(Normalizer(unicode_form="NFC", moses_punct=True, clean_whitespace=False), batches), batches)
    same = sum(a == b for a, b in zip(got, expected))
    print(
        f"Normalizer(NFC, moses):                        {len(rows) / stage_s:>10,.0f} rows/s  ratio {base_s / stage_s:.2f}x  identical rows {same}/{len(rows)}"
    )
    for label, stage in [
        ("Normalizer() defaults (NFC, moses, whitespace)", Normalizer()),
        ("Normalizer(fix_mojibake=True) + defaults", Normalizer(fix_mojibake=True)),
    ]:
        seconds, _ = timed(run_stage, warm(stage, batches), batches)
        print(f"{label:<47}{len(rows) / seconds:>10,.0f} rows/s  ratio {base_s / seconds:.2f}x")


if __name__ == "__main__":
    main()
