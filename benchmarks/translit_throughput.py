"""Transliteration stage throughput against a plain per-sentence ``sanscript.transliterate``
loop, on the same Devanagari text, same target.

Text: sentences of 4-20 words drawn from a Zipf distribution (exponent ``--zipf``) over a real
Hindi vocabulary: the Devanagari words of ../shared/data/lid_dev.tsv (Hindi rows) when present,
plus CLDR's Hindi names of territories, languages and cities (Babel), ranked in a fixed
shuffled order; dandas and commas as punctuation. Deterministic for a seed.

Timed: the baseline loop; the stage (segment mode, ``lang`` = hin_Deva) on batches of
``--batch-rows``; and the conversion of word occurrences as if none had been seen (the worst
case, text whose words never repeat). Setup (scheme maps) is outside the timings.

``--uroman``: the stage with ``target: uroman`` against plain per-sentence
``Uroman().romanize_string(sentence, lcode=...)`` (uroman's own cache off, its default), on
Zipfian text in five scripts (Devanagari Hindi, Arabic, Cyrillic Russian, Han Chinese, Thai):
vocabulary from lid_dev.tsv sentences of those languages when present plus CLDR names in each
locale; Chinese and Thai words joined without spaces, as they are written. Per script: both
times, the ratio, whether every output is identical, and the worst case (every sentence made of
words not seen before: the engine's cache emptied before each sentence, on a quarter of the
text). The stage time is the best of three fresh stages (each starts with an empty cache), the
baseline is timed once (it is long enough to average the load). Loading uroman's tables (~20 s)
is outside the timings.

    nice .venv/bin/python benchmarks/translit_throughput.py [--mb 10] [--target iast]
    nice .venv/bin/python benchmarks/translit_throughput.py --uroman [--uroman-kb 300]
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import regex
from indic_transliteration import sanscript

from corpusforge.transforms.translit import TransliterateStage

LID_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "lid_dev.tsv"
DEVA_WORD = regex.compile(r"[\p{sc=Deva}\u200c\u200d]+")


def vocabulary() -> list[str]:
    words: dict[str, None] = {}
    if LID_DEV.exists():
        with LID_DEV.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                if row["lang"] == "hi":
                    words.update(dict.fromkeys(DEVA_WORD.findall(row["sentence"])))
    else:
        print(f"{LID_DEV} absent: CLDR names only")
    from babel import Locale

    hindi = Locale.parse("hi")
    names = [*hindi.territories.values(), *hindi.languages.values(), *(z.get("city", "") for z in hindi.time_zones.values())]
    for name in names:
        words.update(dict.fromkeys(DEVA_WORD.findall(name)))
    return sorted(words)


def make_text(vocab: list[str], megabytes: float, zipf: float, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    ranked = [vocab[i] for i in rng.permutation(len(vocab))]
    weights = 1.0 / np.arange(1, len(ranked) + 1) ** zipf
    weights /= weights.sum()
    target, size, sentences = megabytes * 1e6, 0, []
    while size < target:
        lengths = rng.integers(4, 21, size=2048)
        picks = rng.choice(len(ranked), size=int(lengths.sum()), p=weights)
        start = 0
        for n in lengths:
            words = [ranked[i] for i in picks[start : start + n]]
            start += n
            if n > 8:
                words[n // 2] += ","
            sentence = " ".join(words) + "।"
            sentences.append(sentence)
            size += len(sentence.encode("utf-8"))
    return sentences


def baseline(texts: list[str], target: str) -> list[str]:
    return [sanscript.transliterate(t, sanscript.DEVANAGARI, target) for t in texts]


def run_stage(stage: TransliterateStage, batches: list[pa.RecordBatch]) -> list[str]:
    out: list[str] = []
    for batch in batches:
        out.extend(stage.process(batch).kept.column(stage.output_column).to_pylist())
    return out


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


UROMAN_SCRIPTS = {  # script: (lid_dev language, CLDR locale, canonical code, word joiner)
    "Deva": ("hi", "hi", "hin_Deva", " "),
    "Arab": ("ar", "ar", "arb_Arab", " "),
    "Cyrl": ("ru", "ru", "rus_Cyrl", " "),
    "Hani": ("zh", "zh", "zho_Hans", ""),
    "Thai": ("th", "th", "tha_Thai", ""),
}


def script_vocabulary(script: str) -> list[str]:
    lid_lang, locale, _, _ = UROMAN_SCRIPTS[script]
    letters = regex.compile(rf"[\p{{sc={script}}}\p{{M}}]+")
    words: dict[str, None] = {}
    if LID_DEV.exists():
        with LID_DEV.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                if row["lang"] == lid_lang:
                    words.update(dict.fromkeys(letters.findall(row["sentence"])))
    from babel import Locale

    loc = Locale.parse(locale)
    for name in [*loc.territories.values(), *loc.languages.values(), *(z.get("city", "") for z in loc.time_zones.values())]:
        words.update(dict.fromkeys(letters.findall(name or "")))
    return sorted(words)


def uroman_bench(kilobytes: float, zipf: float, seed: int, batch_rows: int, scripts: list[str], repeats: int = 3) -> None:
    from corpusforge.languages import macrolanguage
    from corpusforge.translit import transliterator
    from corpusforge.translit.universal import uroman_instance, uroman_version

    library = uroman_instance()  # tables load once, outside the timings
    print(f"uroman {uroman_version()}: stage (target uroman, segment mode) vs per-sentence romanize_string, {kilobytes:g} kB per script")
    total_base = total_stage = 0.0
    for script in scripts:
        _, _, code, joiner = UROMAN_SCRIPTS[script]
        vocab = script_vocabulary(script)
        texts = [t.replace(" ", joiner) if joiner == "" else t for t in make_text(vocab, kilobytes / 1000, zipf, seed)]
        texts = [t.replace("।", "." if script != "Hani" else "。") for t in texts]
        chars = sum(map(len, texts))
        lcode = macrolanguage(code)

        def plain(ts: list[str], lcode: str = lcode) -> list[str]:
            return [library.romanize_string(t, lcode=lcode) for t in ts]

        base_out, base_s = timed(plain, texts)
        table = pa.table(
            {"id": [str(i) for i in range(len(texts))], "source": ["bench"] * len(texts), "text": texts, "lang": [code] * len(texts)}
        )
        stage_s = float("inf")
        for _ in range(repeats):  # best of a few fresh stages (empty caches): the VM's load varies
            stage = TransliterateStage(target="uroman")
            stage.setup()
            stage_out, seconds = timed(run_stage, stage, table.to_batches(max_chunksize=batch_rows))
            stage_s = min(stage_s, seconds)
        # Worst case, no piece seen before: the engine's cache emptied before every sentence.
        sample = texts[: max(1, len(texts) // 4)]
        sample_chars = sum(map(len, sample))
        _, base_cold = timed(plain, sample)
        engine = transliterator(source="auto", target="uroman", language=code)

        def cold(ts: list[str], engine=engine) -> list[str]:
            out = []
            for t in ts:
                engine._cache = {}
                out.append(engine.text(t))
            return out

        cold_out, cold_s = timed(cold, sample)
        assert cold_out == base_out[: len(sample)]
        same = sum(a == b for a, b in zip(base_out, stage_out))
        total_base += base_s
        total_stage += stage_s
        print(
            f"  {script}: {len(texts):,} sentences, {chars / 1e3:.0f} k chars, {len(vocab):,} word types | baseline {base_s:6.2f} s "
            f"({chars / base_s / 1e3:5.1f} k chars/s) | stage {stage_s:6.2f} s ({chars / stage_s / 1e3:6.1f} k chars/s) ratio {base_s / stage_s:5.1f}x"
            f" | identical {same}/{len(texts)} | no-repeat worst case ratio {base_cold / cold_s:4.2f}x ({sample_chars / cold_s / 1e3:.1f} k chars/s)"
        )
    print(f"  all {len(scripts)}: ratio {total_base / total_stage:.1f}x (summed times)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uroman", action="store_true", help="benchmark target uroman instead (five scripts)")
    parser.add_argument("--uroman-scripts", default=",".join(UROMAN_SCRIPTS), help="scripts for --uroman (comma-separated)")
    parser.add_argument("--uroman-kb", type=float, default=1000.0, help="UTF-8 kilobytes of text per script for --uroman")
    parser.add_argument("--mb", type=float, default=10.0, help="UTF-8 megabytes of text")
    parser.add_argument("--target", default="iast", help="sanscript scheme both sides convert to")
    parser.add_argument("--zipf", type=float, default=1.0)
    parser.add_argument("--batch-rows", type=int, default=8192)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.uroman:
        uroman_bench(args.uroman_kb, args.zipf, args.seed, args.batch_rows, args.uroman_scripts.split(","))
        return

    vocab = vocabulary()
    texts = make_text(vocab, args.mb, args.zipf, args.seed)
    n_bytes = sum(len(t.encode("utf-8")) for t in texts)
    n_chars = sum(len(t) for t in texts)
    n_words = sum(len(t.split()) for t in texts)
    types = len({w for t in texts for w in DEVA_WORD.findall(t)})
    print(
        f"text: {len(texts):,} sentences, {n_bytes / 1e6:.1f} MB, {n_chars / 1e6:.2f} M chars, {n_words:,} words, "
        f"{types:,} word types (vocabulary {len(vocab):,}, Zipf s={args.zipf})"
    )

    table = pa.table(
        {"id": [str(i) for i in range(len(texts))], "source": ["bench"] * len(texts), "text": texts, "lang": ["hin_Deva"] * len(texts)}
    )
    batches = table.to_batches(max_chunksize=args.batch_rows)

    base_out, base_s = timed(baseline, texts, args.target)
    print(f"baseline  sanscript.transliterate per sentence: {base_s:7.2f} s  {n_chars / base_s / 1e6:5.2f} M chars/s")

    stage = TransliterateStage(target=args.target)
    stage.setup()
    stage_out, stage_s = timed(run_stage, stage, batches)
    engine = next(iter(stage._engines.values()))
    print(
        f"stage     cached, batches of {args.batch_rows}:         {stage_s:7.2f} s  {n_chars / stage_s / 1e6:5.2f} M chars/s  "
        f"ratio {base_s / stage_s:5.2f}x  ({len(engine._cache):,} words cached)"
    )

    # Worst case, text whose words never repeat: every word occurrence converted afresh.
    words = [w for t in texts[: len(texts) // 4] for w in engine._runs.findall(t)]
    _, cold_s = timed(engine._convert, words)
    cold_rate = sum(map(len, words)) / cold_s
    print(
        f"new words (no cache hits), {len(words):,} words:     {cold_rate / 1e6:5.2f} M chars/s  ratio {cold_rate / (n_chars / base_s):5.2f}x"
        f"  (words only: spaces and punctuation excluded)"
    )

    same = sum(a == b for a, b in zip(base_out, stage_out))
    print(
        f"outputs identical to the baseline: {same:,} of {len(texts):,} sentences "
        f"(differences: NFC output and letters {args.target} cannot write, approximated by the stage)"
    )


if __name__ == "__main__":
    main()
