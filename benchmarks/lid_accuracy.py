"""Language ID accuracy on real translations: raw lid.176 top-1 against the LanguageIdentifier
stage restricted to the languages the data set contains (``expected_languages``).

Data: ``../shared/data/lid_dev.tsv`` (Django's UI messages in 90+ locales; ``lang`` holds
lid.176 labels). Gold and predicted labels are compared as ISO 639-3 languages after the same
mapping (:func:`corpusforge.languages.code_for_label`), so ``ar``/``arb`` or ``no``/``nob`` match;
scripts are compared separately for Chinese (``zh_Hans``/``zh_Hant`` sources).

Printed: accuracy and macro-F1 (over the gold languages) for (a) raw top-1, (b) the stage
with expected_languages = the set's languages, overall and on the hin/urd/ben/tam/arb/zho
subset; (c) the subset rows with the restriction to the six subset languages only; per-language
accuracy; the confusions that remain.

    nice .venv/bin/python benchmarks/lid_accuracy.py [--per-language] [--confusions 25]
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

import fasttext
import pyarrow as pa

from corpusforge.languages import code_for_label, language_of
from corpusforge.transforms.lid import LanguageIdentifier, default_model_path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "lid_dev.tsv"
SUBSET = ("hin", "urd", "ben", "tam", "arb", "zho")


def load() -> tuple[list[str], list[str], list[str]]:
    with DATA.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    gold = [language_of(code_for_label(row["lang"])) for row in rows]
    return [row["sentence"] for row in rows], gold, [row["source"] for row in rows]


def scores(gold: list[str], pred: list[str | None], languages: list[str]) -> tuple[float, float, dict[str, float]]:
    """Accuracy, macro-F1 over ``languages`` and per-language accuracy (recall)."""
    tp, fp, fn = Counter(), Counter(), Counter()
    for g, p in zip(gold, pred):
        if g == p:
            tp[g] += 1
        else:
            fn[g] += 1
            fp[p] += 1
    f1s, recall = [], {}
    for lang in languages:
        precision = tp[lang] / (tp[lang] + fp[lang]) if tp[lang] + fp[lang] else 0.0
        recall[lang] = tp[lang] / (tp[lang] + fn[lang]) if tp[lang] + fn[lang] else 0.0
        f1s.append(2 * precision * recall[lang] / (precision + recall[lang]) if precision + recall[lang] else 0.0)
    accuracy = sum(tp.values()) / len(gold)
    return accuracy, sum(f1s) / len(f1s), recall


def raw_top1(texts: list[str]) -> list[str]:
    predict = fasttext.load_model(str(default_model_path())).f.predict
    return [language_of(code_for_label(predict(t.replace("\n", " ") + "\n", 1, 0.0, "strict")[0][1])) for t in texts]


def stage_top1(texts: list[str], expected: list[str] | None) -> tuple[list[str | None], list[str | None]]:
    lid = LanguageIdentifier(expected_languages=expected, top_k=1)
    batch = pa.RecordBatch.from_pydict({"id": [str(i) for i in range(len(texts))], "source": ["lid_dev"] * len(texts), "text": texts})
    out = lid.process(batch).kept
    langs = out.column("lang").to_pylist()
    return [None if code is None else language_of(code) for code in langs], langs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-language", action="store_true", help="print accuracy of every language, not only the subset")
    parser.add_argument("--confusions", type=int, default=25, help="how many (gold -> predicted) pairs to list")
    args = parser.parse_args(argv)
    if not DATA.is_file():
        print(f"{DATA} not found: nothing to measure (it lives outside the repository)")
        return 0
    texts, gold, sources = load()
    languages = sorted(set(gold))
    raw = raw_top1(texts)
    restricted, codes = stage_top1(texts, languages)
    subset_rows = [i for i, g in enumerate(gold) if g in SUBSET]
    sub = lambda values: [values[i] for i in subset_rows]  # noqa: E731
    only_subset, _ = stage_top1(sub(texts), list(SUBSET))

    print(f"{len(texts)} sentences, {len(languages)} languages; subset {'/'.join(SUBSET)}: {len(subset_rows)} sentences")
    print(f"{'':<58} {'accuracy':>9} {'macro-F1':>9}")
    results = {}
    for name, pred, rows_gold, langs in (
        ("(a) raw lid.176 top-1, all", raw, gold, languages),
        ("(b) stage, expected_languages = the set's, all", restricted, gold, languages),
        ("(a) raw lid.176 top-1, subset", sub(raw), sub(gold), list(SUBSET)),
        ("(b) stage, expected_languages = the set's, subset", sub(restricted), sub(gold), list(SUBSET)),
        ("(c) stage, expected_languages = the 6 subset languages", only_subset, sub(gold), list(SUBSET)),
    ):
        accuracy, macro_f1, recall = scores(rows_gold, pred, langs)
        results[name] = recall
        print(f"{name:<58} {accuracy:>9.4f} {macro_f1:>9.4f}")

    shown = languages if args.per_language else list(SUBSET)
    print(f"\nper-language accuracy{'' if args.per_language else ' (subset; --per-language for all)'}")
    print(f"{'lang':<6} {'n':>5} {'(a) raw':>8} {'(b) stage':>10}")
    count = Counter(gold)
    for lang in shown:
        print(
            f"{lang:<6} {count[lang]:>5} {results['(a) raw lid.176 top-1, all'][lang]:>8.3f} {results['(b) stage, expected_languages = the set' + chr(39) + 's, all'][lang]:>10.3f}"
        )

    zh = [i for i, s in enumerate(sources) if s in ("django:zh_Hans", "django:zh_Hant") and restricted[i] == "zho"]
    script_ok = sum(1 for i in zh if codes[i] == "zho_" + sources[i][-4:])
    print(f"\nChinese script (zho_Hans/zho_Hant against the source locale), rows (b) detects as zho: {script_ok}/{len(zh)} right")

    for name, pred, rows_gold in (
        ("(b) all", restricted, gold),
        ("(b) subset", sub(restricted), sub(gold)),
        ("(c) subset", only_subset, sub(gold)),
    ):
        confusions = Counter((g, p) for g, p in zip(rows_gold, pred) if g != p)
        print(f"\nremaining confusions {name} (gold -> predicted: rows), {sum(confusions.values())} in all")
        print(", ".join(f"{g}->{p}: {n}" for (g, p), n in confusions.most_common(args.confusions)) or "none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
