"""Language ID accuracy and speed of every identifier the ``lid`` stage offers, in one run:
lid.176, heliport, lingua, the heliport>lid.176 ensemble, each with and without romanised-Hindi
detection, plus lid.176 restricted to the data set's languages (``expected_languages``).

Data: ``../shared/data/lid_dev.tsv`` (Django's UI messages in 90+ locales; ``lang`` holds
lid.176 labels; the script stops with a message when it is absent). Gold and predicted labels
are compared as ISO 639-3 languages after the same mapping
(:func:`corpusforge.languages.code_for_label`), so ``ar``/``arb`` or ``no``/``nob`` match.

Printed per configuration: accuracy, macro-F1 (over the gold languages), expected calibration
error of ``lang_score`` (10 bins; how far the score is from the accuracy at that score), lines per
CPU second of the whole stage (``process`` on batches of 4096 rows after ``setup``, best of ``--repeats``
passes taken round-robin; model loading is printed apart, once per model) and the ratio to lid.176's lines/s measured in the same run; then per-language accuracy;
then the romanised-Hindi dev set (``tests/data/hinglish_dev.tsv``): ``hin_Latn`` recall on
Hindi-majority sentences, English sentences kept English, token accuracy of ``token_tags``.
The process is pinned to one CPU core (``--cores`` to change). lingua is slow: it runs on
``--lingua-rows`` evenly spaced rows (every identifier's accuracy on those rows is printed with it;
its macro-F1 is over the languages those rows hold).

    nice .venv/bin/python benchmarks/lid_accuracy.py [--per-language] [--lingua-rows 1000] [--calibrate]
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa

from corpusforge.languages import code_for_label, language_of
from corpusforge.lid.models import HELIPORT_NONE, heliport_label
from corpusforge.transforms.lid import LanguageIdentifier
from corpusforge.transforms.tokens import TokenTagger

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "lid_dev.tsv"
HINGLISH = ROOT / "tests" / "data" / "hinglish_dev.tsv"
SUBSET = ("hin", "urd", "ben", "tam", "arb", "zho", "ind", "zsm", "dsb", "hrv", "srp", "ast", "uzn")
CONFIGS = {
    "lid176": {"model": "lid176"},
    "lid176+expected": {"model": "lid176", "expected_languages": None},  # filled with the set's languages
    "lid176+romanized": {"model": "lid176", "romanized": ["hin_Latn"]},
    "heliport": {"model": "heliport"},
    "ensemble": {"model": "ensemble"},
    "ensemble+romanized": {"model": "ensemble", "romanized": ["hin_Latn"]},
    "lingua": {"model": "lingua"},
}
BATCH = 4096


def load() -> tuple[list[str], list[str]]:
    with DATA.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [row["sentence"] for row in rows], [language_of(code_for_label(row["lang"])) for row in rows]


def scores(gold: list[str], pred: list[str | None], languages: list[str]) -> tuple[float, float, dict[str, float]]:
    """Accuracy, macro-F1 over ``languages`` and per-language accuracy (recall)."""
    tp: Counter = Counter()
    fp: Counter = Counter()
    fn: Counter = Counter()
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
    return sum(tp.values()) / len(gold), sum(f1s) / len(f1s), recall


def calibration_error(gold: list[str], pred: list[str | None], score: list[float | None]) -> float:
    """Expected calibration error of the top-1 score, 10 equal-width bins."""
    bins = [[0, 0.0, 0] for _ in range(10)]
    for g, p, s in zip(gold, pred, score):
        s = s or 0.0
        b = bins[min(int(s * 10), 9)]
        b[0] += 1
        b[1] += s
        b[2] += g == p
    return sum(abs(total - right) for _, total, right in bins) / len(gold)


def batches(texts: list[str]) -> list[pa.RecordBatch]:
    return [
        pa.RecordBatch.from_pydict({"id": [str(i) for i in range(s, s + len(chunk))], "source": ["lid_dev"] * len(chunk), "text": chunk})
        for s in range(0, len(texts), BATCH)
        for chunk in [texts[s : s + BATCH]]
    ]


def timed_passes(stages: dict[str, tuple[LanguageIdentifier, list[pa.RecordBatch]]], repeats: int) -> dict[str, tuple[list, float]]:
    """Per configuration, its output batches and its best lines per CPU second over ``repeats``
    passes, the passes taken round-robin (one pass of every configuration, then the next round) so that a
    change in the machine's load falls on all of them alike."""
    best = {name: math.inf for name in stages}
    outs: dict[str, list] = {}
    for _ in range(repeats):
        for name, (stage, parts) in stages.items():
            start = time.process_time()  # CPU time of this process (all its threads): other work on the machine counts less
            outs[name] = [stage.process(b).kept for b in parts]
            best[name] = min(best[name], time.process_time() - start)
    return {name: (outs[name], sum(b.num_rows for b in stages[name][1]) / best[name]) for name in stages}


def calibrate(texts: list[str], gold: list[str]) -> None:
    """heliport's cost -> probability: negative log-likelihood and calibration error per beta."""
    import heliport

    from corpusforge.lid.models import HELIPORT_TOPK

    identify = heliport.Identifier().identify_topk_with_score
    raw = [
        [(heliport_label(label), cost) for label, cost in identify(t.replace("\n", " "), HELIPORT_TOPK) if label not in HELIPORT_NONE]
        for t in texts
    ]
    print(f"{'beta':>5} {'NLL':>7} {'ECE':>7}")
    for beta in (1, 2, 3, 3.5, 4, 4.5, 5, 6):
        nll, pred, score = 0.0, [], []
        for pairs, g in zip(raw, gold):
            if not pairs:
                nll -= math.log(1e-4)
                pred.append(None)
                score.append(0.0)
                continue
            best = pairs[0][1]
            weights = [math.exp(-beta * (cost - best)) for _, cost in pairs]
            total = sum(weights)
            probs = {language_of(code_for_label(label)): w / total for (label, _), w in reversed(list(zip(pairs, weights)))}
            nll -= math.log(max(probs.get(g, 0.0), 1e-4))
            pred.append(language_of(code_for_label(pairs[0][0])))
            score.append(weights[0] / total)
        print(f"{beta:>5} {nll / len(gold):>7.4f} {calibration_error(gold, pred, score):>7.4f}")


def hinglish(model: str) -> tuple[float, float, float, float]:
    """hin_Latn recall (Hindi-majority rows), English kept (English rows), hin_Latn precision,
    token accuracy on the romanised-Hindi dev set."""
    with HINGLISH.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    lid = LanguageIdentifier(model=model, romanized=["hin_Latn"])
    out = TokenTagger().process(lid.process(batches([r["text"] for r in rows])[0]).kept).kept
    langs = out.column("lang").to_pylist()
    hindi = [lang == "hin_Latn" for lang, r in zip(langs, rows) if r["majority"] == "hin_Latn"]
    english = [lang == "eng_Latn" for lang, r in zip(langs, rows) if r["kind"] == "english"]
    said_hindi = [r["majority"] == "hin_Latn" for lang, r in zip(langs, rows) if lang == "hin_Latn"]
    right = total = 0
    for tokens, r in zip(out.column("tokens").to_pylist(), rows):
        tags = [t["tag"] for t in tokens if t["tag"] not in ("other", "und")]
        gold = r["tags"].split()
        right += sum(a == b for a, b in zip(tags, gold)) if len(tags) == len(gold) else 0
        total += len(gold)
    return sum(hindi) / len(hindi), sum(english) / len(english), sum(said_hindi) / max(len(said_hindi), 1), right / total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-language", action="store_true", help="print accuracy of every language, not only a subset")
    parser.add_argument("--lingua-rows", type=int, default=1000, help="rows lingua runs on, evenly spaced (0: skip lingua; -1: all)")
    parser.add_argument("--calibrate", action="store_true", help="fit heliport's cost -> probability scale and stop")
    parser.add_argument("--cores", type=int, default=1, help="CPU cores the process may use")
    parser.add_argument(
        "--only", nargs="+", choices=list(CONFIGS), help="run these configurations only (lid176 always runs: it is the baseline)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per configuration (the best is printed)")
    parser.add_argument("--confusions", type=int, default=15, help="how many (gold -> predicted) pairs to list per configuration")
    args = parser.parse_args(argv)
    if not DATA.is_file():
        print(f"{DATA} not found: nothing to measure (it lives outside the repository)", file=sys.stderr)
        return 2
    if hasattr(os, "sched_setaffinity") and args.cores > 0:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.cores])
    texts, gold = load()
    languages = sorted(set(gold))
    if args.calibrate:
        calibrate(texts, gold)
        return 0
    step = max(len(texts) // args.lingua_rows, 1) if args.lingua_rows > 0 else 1
    sample = list(range(0, len(texts), step))[: args.lingua_rows] if args.lingua_rows > 0 else list(range(len(texts)))
    stages, loaded = {}, {}
    for name, options in CONFIGS.items():
        if (name == "lingua" and args.lingua_rows == 0) or (args.only and name != "lid176" and name not in args.only):
            continue
        if "expected_languages" in options:
            options = {**options, "expected_languages": languages}
        rows = texts if name != "lingua" else [texts[i] for i in sample]
        try:
            stage = LanguageIdentifier(**options)
        except ValueError as exc:
            print(f"{name}: skipped ({exc})")
            continue
        start = time.perf_counter()
        stage.setup()
        loaded[name] = time.perf_counter() - start  # a model shared with an earlier configuration loads once
        parts = batches(rows)
        stage.process(parts[0].slice(0, 64))  # first sight of labels and scripts
        stages[name] = (stage, parts)
    slow = {k: v for k, v in stages.items() if k == "lingua"}
    timed = timed_passes({k: v for k, v in stages.items() if k not in slow}, args.repeats) | timed_passes(slow, 1)
    results = {}
    for name, (outs, speed) in timed.items():
        codes = [c for out in outs for c in out.column("lang").to_pylist()]
        score = [s for out in outs for s in out.column("lang_score").to_pylist()]
        results[name] = ([None if c is None else language_of(c) for c in codes], score, loaded[name], speed)

    base = results["lid176"][3]
    print(f"{len(texts)} sentences, {len(languages)} languages; one process pinned to {args.cores} core(s)")
    print(f"{'configuration':<22} {'accuracy':>9} {'macro-F1':>9} {'ECE':>7} {'lines/s':>9} {'x lid176':>9} {'setup s':>8}")
    recalls = {}
    for name, (pred, score, loaded, speed) in results.items():
        rows_gold = gold if len(pred) == len(texts) else [gold[i] for i in sample]
        accuracy, macro_f1, recall = scores(rows_gold, pred, languages if len(pred) == len(texts) else sorted(set(rows_gold)))
        if len(pred) == len(texts):
            recalls[name] = recall
        note = f"  (every {step}th row: {len(pred)})" if len(pred) < len(texts) else ""
        print(
            f"{name:<22} {accuracy:>9.4f} {macro_f1:>9.4f} {calibration_error(rows_gold, pred, score):>7.4f} {speed:>9,.0f} {speed / base:>9.2f} {loaded:>8.1f}{note}"
        )
    if "lingua" in results and len(results["lingua"][0]) < len(texts):
        sub = [gold[i] for i in sample]
        print(
            f"\naccuracy on lingua's {len(sample)} rows: "
            + ", ".join(
                f"{k} {scores(sub, [v[0][i] for i in sample] if len(v[0]) == len(texts) else v[0], sorted(set(sub)))[0]:.4f}"
                for k, v in results.items()
            )
        )

    shown = languages if args.per_language else [lang for lang in SUBSET if lang in languages]
    names = [k for k in results if k != "lingua"]
    print(f"\nper-language accuracy{'' if args.per_language else ' (a subset; --per-language for all)'}")
    print(f"{'lang':<6} {'n':>5} " + " ".join(f"{k[:18]:>18}" for k in names))
    count = Counter(gold)
    for lang in shown:
        print(f"{lang:<6} {count[lang]:>5} " + " ".join(f"{recalls[k][lang]:>18.3f}" for k in names))

    for name in ("lid176", "ensemble"):
        if name in results:
            confusions = Counter((g, p) for g, p in zip(gold, results[name][0]) if g != p)
            print(f"\nconfusions of {name} (gold -> predicted: rows), {sum(confusions.values())} in all")
            print(", ".join(f"{g}->{p}: {n}" for (g, p), n in confusions.most_common(args.confusions)))

    print(f"\nromanised Hindi ({HINGLISH.name}): romanized=[hin_Latn], then token_tags")
    print(f"{'model':<10} {'hin recall':>11} {'eng kept':>9} {'hin precision':>14} {'token acc':>10}")
    for model in ("lid176", "ensemble"):
        if model in results:
            print(f"{model:<10} " + " ".join(f"{v:>{w}.3f}" for v, w in zip(hinglish(model), (11, 9, 14, 10))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
