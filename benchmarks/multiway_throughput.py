"""Throughput of the multi-way join (target: >= 0.8x a plain dict-based loop over the same pairs).

Both sides get the same generated bitext (units of 2-8 languages in 8 languages, each a star of
pairs around a hub language scored 0.9, plus redundant leaf-leaf pairs scored 0.5, shuffled)
and give every pair its ``mway_degree``:

- ``dict loop``: the textbook implementation: per pair, normalise both sides in Python (NFKC,
  lower case, punctuation and whitespace runs to one space), key sentences by (lang, text) in a
  dict, sort the pairs by score, the greedy join in a loop, then one lookup per pair;
- ``multiway stage``: ``corpusforge.transforms.multiway.join_batches`` on Arrow batches of
  ``--batch`` rows (built before the clock starts, as the loop's tuples are): phase one (hash both sides, gather the pair table), the join, phase two
  (hash again, look every pair up), as the corpus job runs it per batch.

The two must agree on every pair's degree. Sides alternate, best of ``--repeat`` runs each.

    nice .venv/bin/python benchmarks/multiway_throughput.py                  # 200k pairs
    nice .venv/bin/python benchmarks/multiway_throughput.py --pairs 2000000  # full size
"""

from __future__ import annotations

import argparse
import random
import time
import unicodedata

import pyarrow as pa
import regex

from corpusforge.schemas import load_schema
from corpusforge.transforms.multiway import MultiwayJoin, join_batches

LANGS = ["eng_Latn", "deu_Latn", "fra_Latn", "spa_Latn", "hin_Deva", "urd_Arab", "rus_Cyrl", "zho_Hans"]
WORDS = "the of and a to in is you that it he was for on are as with his they at be this have from".split()


def generate(pairs: int, seed: int = 1) -> list[tuple[str, str, str, str, str, float]]:
    rng = random.Random(seed)
    out: list[tuple[str, str, str, str, str, float]] = []
    unit = 0
    while len(out) < pairs:
        langs = rng.sample(LANGS, rng.choice([2, 2, 2, 3, 3, 4, 5, 8]))
        text = {lang: f"{' '.join(rng.choices(WORDS, k=8))}, {lang} {unit}!" for lang in langs}
        hub = langs[0]
        for n, leaf in enumerate(langs[1:]):
            out.append((f"u{unit}-{n}", text[hub], text[leaf], hub, leaf, 0.9))
        if len(langs) > 2 and unit % 3 == 0:
            out.append((f"u{unit}-x", text[langs[1]], text[langs[2]], langs[1], langs[2], 0.5))
        unit += 1
    del out[pairs:]
    rng.shuffle(out)
    return out


_PUNCT_SPACE = regex.compile(r"[\p{P}\s]+")


def dict_loop(rows: list[tuple[str, str, str, str, str, float]]) -> list[int]:
    """The plain implementation the stage is measured against."""

    def key(lang: str, text: str) -> tuple[str, str]:
        return lang, _PUNCT_SPACE.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()

    edges = [(key(sl, s), key(tl, t), score) for _, s, t, sl, tl, score in rows]
    tuple_of: dict[tuple[str, str], int] = {}
    langs: list[set[str]] = []
    for a, b, _ in sorted(edges, key=lambda e: -e[2]):
        ta, tb = tuple_of.get(a), tuple_of.get(b)
        if ta is None and tb is None:
            if a[0] != b[0]:
                tuple_of[a] = tuple_of[b] = len(langs)
                langs.append({a[0], b[0]})
        elif tb is None and ta is not None and b[0] not in langs[ta]:
            tuple_of[b] = ta
            langs[ta].add(b[0])
        elif ta is None and tb is not None and a[0] not in langs[tb]:
            tuple_of[a] = tb
            langs[tb].add(a[0])
    degree = [len(s) for s in langs] + [1]
    return [max(degree[tuple_of.get(a, -1)], degree[tuple_of.get(b, -1)]) for a, b, _ in edges]


def stage(batches: list[pa.RecordBatch]) -> list[int]:
    joined, _ = join_batches(batches, MultiwayJoin(score_column="score"))
    return [d for batch in joined for d in batch.column("mway_degree").to_pylist()]


def to_batches(rows: list[tuple[str, str, str, str, str, float]], batch_rows: int) -> list[pa.RecordBatch]:
    schema = load_schema("bitext")
    batches = []
    for start in range(0, len(rows), batch_rows):
        part = rows[start : start + batch_rows]
        columns = list(zip(*part))
        n = len(part)
        arrays = {
            "id": pa.array(columns[0]),
            "source": pa.array(["bench"] * n),
            "src_text": pa.array(columns[1]),
            "tgt_text": pa.array(columns[2]),
            "src_lang": pa.array(columns[3]),
            "tgt_lang": pa.array(columns[4]),
            "origin": pa.array(["corpus"] * n),
        }
        batch = pa.RecordBatch.from_arrays([arrays.get(f.name, pa.nulls(n, f.type)) for f in schema], schema=schema)
        batches.append(batch.append_column("score", pa.array(columns[5], pa.float64())))
    return batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=200_000, help="pairs (default 200k)")
    parser.add_argument("--batch", type=int, default=8192, help="rows per Arrow batch (default 8192)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per side, alternating (default 3)")
    args = parser.parse_args()
    rows = generate(args.pairs)
    batches = to_batches(rows, args.batch)  # what readers give the stage, as the tuples are what the loop takes
    print(f"{len(rows):,} pairs, {len(LANGS)} languages, batches of {args.batch} rows")
    best = {"dict loop": float("inf"), "multiway stage": float("inf")}
    results = {}
    for _ in range(args.repeat):
        for name, run in (("dict loop", lambda: dict_loop(rows)), ("multiway stage", lambda: stage(batches))):
            started = time.perf_counter()
            results[name] = run()
            best[name] = min(best[name], time.perf_counter() - started)
    # the stage's output is in batch order, which is the input order here
    assert results["dict loop"] == results["multiway stage"], "both sides must give every pair the same degree"
    base = best["dict loop"]
    for name, seconds in best.items():
        print(f"  {name:15s} {seconds:6.2f} s  {len(rows) / seconds:10,.0f} pairs/s  ratio {base / seconds:.2f}")


if __name__ == "__main__":
    main()
