"""Near-dedup quality and throughput on planted near-duplicates of real sentences.

Corpus: documents of 8 real sentences of one language from ../shared/data/lid_dev.tsv (Django UI
translations; English, Russian, Arabic, Hindi, Chinese, Japanese, Thai: Chinese, Japanese and
Thai are written without spaces), each with 0-3 planted copies edited at a controlled rate:
word swaps, insertions and substitutions at rate r of the words (characters in unspaced
scripts), plus casing and punctuation changes on 10 % of the words. Copies with r <= 2 % are
planted near-duplicates; copies with r >= 30 % are planted non-duplicates (distractors).

Prints, at thresholds 0.7 / 0.8 / 0.9, the precision and recall of duplicate pairs (two rows in
one output cluster) against the planted truth and against exact Jaccard similarity of the same
shingle sets; then the time of signatures by rensa, numpy and datasketch on the same shingle
sets; then near-dedup through the Beam transform (DirectRunner) vs the same library in a plain
loop over the same batches (``NearDeduplicator``), and vs datatrove's MinHash pipeline on the
same documents when ``--datatrove-python`` names an interpreter that has datatrove.

    .venv/bin/python benchmarks/near_dedup_quality.py [--full] [--ngram 5]
        [--repeats 2] [--datatrove-python benchmarks/.venv-datatrove/bin/python3.11]
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions

from corpusforge.beam.near_dedup import DeduplicateNear
from corpusforge.dedup import MinHasher, NearDeduplicator, NearDedupParams
from corpusforge.dedup.near import RowSigner, SignedRows, shared_keys
from corpusforge.schemas import load_schema
from corpusforge.words import unspaced_fraction

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "lid_dev.tsv"
LANGS = {"en": "eng_Latn", "ru": "rus_Cyrl", "ar": "arb_Arab", "hi": "hin_Deva", "zh": "zho_Hans", "ja": "jpn_Jpan", "th": "tha_Thai"}
LIGHT, MIDDLE, HEAVY = (0.0, 0.005, 0.01), (0.02, 0.05), (0.3, 0.5)
PUNCT = [",", ".", "!", ";", ":"]


def sentences() -> dict[str, list[str]]:
    if not DATA.exists():
        sys.exit(f"{DATA} is absent: this benchmark reads real sentences from ../shared/data")
    pools: dict[str, list[str]] = defaultdict(list)
    for line in DATA.read_text(encoding="utf-8").splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) == 4 and parts[0] in LANGS:
            pools[parts[0]].append(parts[3])
    return {lang: sorted(set(pool)) for lang, pool in pools.items()}


def edit(text: str, rate: float, rng: random.Random, vocabulary: list[str]) -> str:
    """``text`` with swaps, insertions and substitutions at ``rate`` of its units (words, or
    characters in unspaced scripts), and casing/punctuation changes on 10 % of them."""
    unspaced = unspaced_fraction(text) > 0.5
    units = list(text) if unspaced else text.split()
    n_edits = round(rate * len(units))
    for _ in range(n_edits):
        op, i = rng.choice(("swap", "insert", "substitute")), rng.randrange(len(units))
        filler = rng.choice(vocabulary)
        if op == "swap" and i + 1 < len(units):
            units[i], units[i + 1] = units[i + 1], units[i]
        elif op == "insert":
            units.insert(i, filler)
        else:
            units[i] = filler
    for i in rng.sample(range(len(units)), len(units) // 10):
        units[i] = units[i].upper() if rng.random() < 0.5 else units[i] + rng.choice(PUNCT)
    return ("" if unspaced else " ").join(units)


RATE_OF: dict[str, float] = {}  # copy id -> its edit rate


def corpus(docs_per_lang: int, seed: int = 7) -> tuple[list[dict], dict[str, str]]:
    """Rows (id, source, text, lang) and row id -> planted group (an original and its light
    copies share one; a heavy copy is its own)."""
    rng = random.Random(seed)
    rows, group_of = [], {}
    for short, pool in sentences().items():
        vocabulary = sorted({w for s in pool for w in (list(s) if unspaced_fraction(s) > 0.5 else s.split())})
        for d in range(docs_per_lang):
            text = " ".join(rng.sample(pool, min(8, len(pool))))
            base_id = f"{short}-{d:05d}"
            rows.append({"id": f"{base_id}-0", "text": text, "lang": LANGS[short]})
            group_of[f"{base_id}-0"] = base_id
            for c in range(rng.randint(0, 3)):
                rate = rng.choice(LIGHT + MIDDLE + HEAVY)
                copy_id = f"{base_id}-{c + 1}"
                rows.append({"id": copy_id, "text": edit(text, rate, rng, vocabulary), "lang": LANGS[short]})
                RATE_OF[copy_id] = rate
                group_of[copy_id] = base_id if rate in LIGHT else copy_id  # a middle or heavy copy is its own group
    rng.shuffle(rows)
    return [{"source": "bench", "doc_id": None, "meta": None, **r} for r in rows], group_of


def batches_of(rows: list[dict], size: int) -> list[pa.RecordBatch]:
    schema = load_schema("segment")
    return [pa.RecordBatch.from_pylist(rows[i : i + size], schema=schema) for i in range(0, len(rows), size)]


def pairs_of(groups: dict[str, list[str]]) -> set[tuple[str, str]]:
    return {tuple(sorted(p)) for members in groups.values() for p in itertools.combinations(members, 2)}  # type: ignore[misc]


def predicted_pairs(batches: list[pa.RecordBatch], params: NearDedupParams) -> set[tuple[str, str]]:
    dedup = NearDeduplicator(params, "segment")
    for batch in batches:
        dedup.add(batch)
    clusters: dict[tuple[str, str], list[str]] = defaultdict(list)
    for node, (root, _, _) in dedup.decisions().items():
        clusters[root].append(node[0])
    return pairs_of(clusters)


def jaccard_pairs(rows: list[dict], hasher: MinHasher) -> dict[tuple[str, str], float]:
    """Exact Jaccard of every pair of rows of one language whose shingle sets overlap."""
    sets = dict(zip((r["id"] for r in rows), map(set, hasher.shingle_sets(r["text"] for r in rows))))
    lang = {r["id"]: r["lang"] for r in rows}
    index: dict[str, set[str]] = defaultdict(set)
    for row_id, shingle_set in sets.items():
        for s in shingle_set:
            index[s].add(row_id)
    out = {}
    for row_id, shingle_set in sets.items():
        others = {o for s in shingle_set for o in index[s] if o > row_id and lang[o] == lang[row_id]}
        for other in others:
            out[(row_id, other)] = len(shingle_set & sets[other]) / len(shingle_set | sets[other])
    return out


def precision_recall(predicted: set, truth: set) -> tuple[float, float]:
    hits = len(predicted & truth)
    return (hits / len(predicted) if predicted else 1.0), (hits / len(truth) if truth else 1.0)


def quality(rows, batches, ngram: int, num_perm: int) -> None:
    """Pairs two rows in one output cluster, against the planted truth (originals and their
    light copies; pairs with a middle-rate copy are left out: at 2-5 % edits a pair may fall
    on either side of a threshold) and against exact Jaccard of the same shingle sets."""
    hasher = MinHasher(ngram=ngram)
    _, group_of = CORPUS
    middle = {row_id for row_id, rate in RATE_OF.items() if rate in MIDDLE}
    planted_groups: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        planted_groups[group_of[row["id"]]].append(row["id"])
    planted = pairs_of(planted_groups)
    jaccard = jaccard_pairs(rows, hasher)
    originals = {r["id"]: r["id"].rsplit("-", 1)[0] + "-0" for r in rows}
    print(f"\nquality: {len(rows)} rows, {len(planted)} planted duplicate pairs, ngram {ngram}, {num_perm} perms, 25 bands x 5 rows")
    print("threshold  planted P  planted R  jaccard P  jaccard R  pairs (pred / jaccard truth)   recall of (original, copy) by edit rate")
    for threshold in (0.7, 0.8, 0.9):
        predicted = predicted_pairs(batches, NearDedupParams(threshold=threshold, ngram=ngram, num_perm=num_perm))
        truth = {p for p, j in jaccard.items() if j >= threshold}
        pp, pr = precision_recall({p for p in predicted if not middle & set(p)}, planted)
        jp, jr = precision_recall(predicted, truth)
        by_rate = []
        for rate in LIGHT + MIDDLE + HEAVY:
            copies = [c for c, r in RATE_OF.items() if r == rate and c in originals]
            found = sum(1 for c in copies if tuple(sorted((c, originals[c]))) in predicted)
            by_rate.append(f"{rate:.3g}:{found / len(copies):.2f}" if copies else f"{rate:.3g}:-")
        print(
            f"{threshold:9.1f}  {pp:9.3f}  {pr:9.3f}  {jp:9.3f}  {jr:9.3f}  {len(predicted):5d} / {len(truth):<5d}              {' '.join(by_rate)}"
        )
    mean_j = {}
    for rate in LIGHT + MIDDLE + HEAVY:
        values = [jaccard.get(tuple(sorted((c, originals[c]))), 0.0) for c, r in RATE_OF.items() if r == rate and c in originals]
        mean_j[rate] = sum(values) / len(values) if values else float("nan")
    print("mean exact Jaccard (original, copy) by edit rate: " + " ".join(f"{r:.3g}:{j:.2f}" for r, j in mean_j.items()))


def signature_methods(rows, ngram: int) -> None:
    from datasketch import MinHash

    hasher = MinHasher(ngram=ngram)
    sets = hasher.shingle_sets(r["text"] for r in rows)
    timings = {}
    for method in ("rensa", "numpy"):
        started = time.perf_counter()
        MinHasher(ngram=ngram, method=method).sign_shingles(sets)
        timings[method] = time.perf_counter() - started
    started = time.perf_counter()
    for shingle_set in sets:
        m = MinHash(num_perm=128, seed=1)
        m.update_batch([s.encode() for s in shingle_set])
    timings["datasketch"] = time.perf_counter() - started
    print(f"\nsignatures of {len(sets)} shingle sets (128 perms, one process):")
    for method, seconds in timings.items():
        print(f"  {method:10s} {len(sets) / seconds:10.0f} rows/s  ({timings['rensa'] / seconds:.2f}x rensa)")


def plain_loop(batches, params) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, rows removed) of the in-memory loop."""
    wall, cpu = time.perf_counter(), time.process_time()
    dedup = NearDeduplicator(params, "segment")
    for batch in batches:
        dedup.add(batch)
    kept, rejected, _ = dedup.result()
    return time.perf_counter() - wall, time.process_time() - cpu, rejected.num_rows


def _count_removed(batch) -> None:
    Metrics.counter("bench", "removed").inc(batch.num_rows)


def _read_batches(path: str):
    yield from pq.ParquetFile(path).iter_batches(batch_size=4096)


def through_beam(batches, params) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, rows removed) of DeduplicateNear on the DirectRunner (in
    this process), the batches read from a Parquet file (``Create`` would pickle and
    bz2-compress the whole corpus into the pipeline graph)."""
    folder = tempfile.mkdtemp()
    path = f"{folder}/batches.parquet"
    pq.write_table(pa.Table.from_batches(batches), path)
    started, cpu = time.perf_counter(), time.process_time()
    p = beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner"]))
    out = p | beam.Create([path]) | beam.FlatMap(_read_batches) | DeduplicateNear(params, "segment")
    _ = out.rejected | beam.Map(_count_removed)
    result = p.run()
    result.wait_until_finish()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    counters = result.metrics().query(MetricsFilter().with_name("removed"))["counters"]
    return seconds, cpu_seconds, sum(c.committed for c in counters)


def datatrove(rows, ngram: int, python: str) -> tuple[float, int] | None:
    with tempfile.TemporaryDirectory() as work:
        (Path(work) / "in").mkdir()
        with open(Path(work) / "in" / "docs.jsonl", "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps({"id": r["id"], "text": r["text"]}, ensure_ascii=False) + "\n")
        script = Path(__file__).with_name("_datatrove_minhash.py")
        done = subprocess.run([python, str(script), f"{work}/in", f"{work}/work", str(ngram)], capture_output=True, text=True)
        if done.returncode:
            print(f"datatrove failed: {done.stderr.strip().splitlines()[-1:]}")
            return None
        result = json.loads(done.stdout.strip().splitlines()[-1])
        return result["seconds"], result["removed"]


def throughput(rows, ngram: int, datatrove_python: str | None, repeats: int) -> None:
    """Best of ``repeats`` alternating runs of each (the VM is shared: CPU time is the steadier
    measure, wall time is printed too)."""
    params = NearDedupParams(ngram=ngram)
    batches = batches_of(rows, 4096)
    plain, piped = [], []
    for _ in range(repeats):
        plain.append(plain_loop(batches, params))
        piped.append(through_beam(batches, params))
    plain_wall, plain_cpu = min(r[0] for r in plain), min(r[1] for r in plain)
    beam_wall, beam_cpu = min(r[0] for r in piped), min(r[1] for r in piped)
    # the runner's fixed cost (building and starting the pipeline), from a run on 1 % of the rows
    startup_cpu = min(through_beam(batches_of(rows[: max(1, len(rows) // 100)], 4096), params)[1] for _ in range(repeats))
    text_bytes = sum(len(r["text"].encode()) for r in rows)
    print(
        f"\nthroughput on {len(rows)} rows, {text_bytes / len(rows):.0f} text bytes a row (2-core VM shared with other jobs, no GPU; best of {repeats}):"
    )
    print(
        f"  plain loop (NearDeduplicator, rensa)   {len(rows) / plain_cpu:7.0f} rows/CPU-s  {len(rows) / plain_wall:7.0f} rows/s  removed {plain[0][2]}"
    )
    print(
        f"  Beam DeduplicateNear (DirectRunner)    {len(rows) / beam_cpu:7.0f} rows/CPU-s  {len(rows) / beam_wall:7.0f} rows/s  removed {piped[0][2]}"
        f"  ({plain_cpu / beam_cpu:.2f}x the plain loop by CPU, {plain_wall / beam_wall:.2f}x by wall time)"
    )
    print(
        f"  Beam's fixed start-up {startup_cpu:.1f} CPU-s (a run on 1 % of the rows); without it Beam is "
        f"{plain_cpu / max(beam_cpu - startup_cpu, 1e-9):.2f}x the plain loop by CPU"
    )
    if datatrove_python:
        found = datatrove(rows, ngram, datatrove_python)
        if found:
            dt_s, dt_removed = found
            print(
                f"  datatrove MinHash (4 steps, 1 worker)                    {len(rows) / dt_s:7.0f} rows/s  removed {dt_removed}  "
                f"(corpusforge Beam = {dt_s / beam_wall:.2f}x datatrove by wall time; its own 14 x 8 bands, no verification)"
            )
    shuffle_bytes(rows, params, text_bytes)


def shuffle_bytes(rows, params: NearDedupParams, text_bytes: int, partitions: int = 16) -> None:
    """What DeduplicateNear sends through its shuffles, counted from the same band keys: every
    row's band keys (band, key, row: 14 bytes) and its node once per partition it has keys in;
    then, for the rows that share a band key, those entries again with the row's signature
    once per partition."""
    signer = RowSigner(params, "segment")
    signed = [SignedRows.of(params, signer.sign(batch)) for batch in batches_of(rows, 4096)]
    keys = np.concatenate([s.keys for s in signed])
    buckets = [b for s in signed for b in s.buckets]
    by_lang = defaultdict(list)
    for i, bucket in enumerate(buckets):
        by_lang[bucket].append(i)
    shared = np.zeros(keys.shape, dtype=bool)
    for idx in by_lang.values():
        rows_of = np.asarray(idx)
        for band in range(params.bands):
            for group in shared_keys(keys[rows_of, band]):
                shared[rows_of[group], band] = True
    node_bytes = sum(len(r["id"]) + len(r["source"]) for r in rows) / len(rows) + 16
    parts = keys % partitions
    partitions_a_row = np.array([len(set(p.tolist())) for p in parts])
    shared_parts = np.array([len(set(p[m].tolist())) for p, m in zip(parts, shared)])
    first = keys.size * 14 + partitions_a_row.sum() * node_bytes
    second = shared.sum() * 14 + shared_parts.sum() * (node_bytes + 4 * params.num_perm)
    print(
        f"  shuffled: {first / len(rows):.0f} B a row of band keys, then {second / len(rows):.0f} B a row of shared keys and "
        f"signatures ({shared.any(axis=1).sum()} of {len(rows)} rows share a key) vs {text_bytes / len(rows):.0f} B of text a row; "
        "no text goes through a shuffle"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="10x the documents (quality) and 10x the throughput rows")
    parser.add_argument("--ngram", type=int, default=5)
    parser.add_argument("--num-perm", type=int, nargs="+", default=[128, 256], help="signature lengths the quality table compares")
    parser.add_argument("--datatrove-python", help="an interpreter with datatrove installed (its own virtualenv)")
    parser.add_argument("--repeats", type=int, default=2, help="throughput runs of each, the best kept")
    args = parser.parse_args()
    global CORPUS
    CORPUS = corpus(400 if args.full else 40)
    rows, _ = CORPUS
    for num_perm in args.num_perm:
        quality(rows, batches_of(rows, 1000), args.ngram, num_perm)
    big = [dict(r, id=f"{r['id']}~{k}") for k in range(100 if args.full else 12) for r in corpus(40, seed=k)[0]]
    signature_methods(big, args.ngram)
    throughput(big, args.ngram, args.datatrove_python, args.repeats)


CORPUS: tuple[list[dict], dict[str, str]]

if __name__ == "__main__":
    main()
