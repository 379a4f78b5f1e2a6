"""Library-path (no Beam) B1 and B2 of the shared peer benchmark (``../shared/bench/peers/``), with a
plain loop over the same fastText calls timed in the same run, and an optional cProfile.

    python benchmarks/peers_lib.py --data DIR --model lid.176.ftz [--bench b1 b2] [--profile OUT]

``DIR`` holds ``mono/*.jsonl`` and ``bitext/corpus.{en,hi}`` as the harness's ``make_data.py`` writes
them (``B1_REPS=16 B2_PAIRS=60000 python make_data.py`` for a quick look; the full size is the default
there). B1: JsonlReader -> LanguageIdentifier(top_k=1) -> LanguageFilter -> Parquet (kept rows).
B2: MosesReader -> BitextScorer -> LanguageIdentifier -> BitextFilter (ratio, LID both sides,
identical). Prints one JSON line per benchmark: rows per CPU second of the library path and of the plain loop
(per-line ``f.predict``, the call corpusforge makes), and their ratio.
"""

from __future__ import annotations

import argparse
import cProfile
import glob
import json
import os
import pstats
import re
import tempfile
import time

import fasttext
import pyarrow as pa
import pyarrow.parquet as pq

from corpusforge.io.jsonl import JsonlReader
from corpusforge.io.moses import MosesReader
from corpusforge.transforms.bitext_filters import BitextFilter, BitextScorer
from corpusforge.transforms.lid import LanguageFilter, LanguageIdentifier

ALLOWED = ["en", "hi", "ur", "bn", "ta", "ar", "zh", "de", "fr", "ru"]
WS = re.compile(r"\s+")


def b1_lib(data: str, model: str, out: str) -> int:
    reader = JsonlReader(text_field="text", id_field="id")
    lid = LanguageIdentifier(model_path=model, top_k=1)
    filt = LanguageFilter(allowed=ALLOWED, default_threshold=0.5)
    n = 0
    for k, path in enumerate(sorted(glob.glob(f"{data}/mono/*.jsonl"))):
        writer = None
        for chunk in reader.read(path, source="mono"):
            n += chunk.kept.num_rows
            kept = filt.process(lid.process(chunk.kept).kept).kept
            if writer is None:
                writer = pq.ParquetWriter(f"{out}/part-{k:05d}.parquet", kept.schema, compression="zstd")
            writer.write_batch(kept)
        if writer is not None:
            writer.close()
    return n


def b1_plain(data: str, model: str, out: str) -> int:
    f = fasttext.load_model(model).f
    allowed = set(ALLOWED)
    schema = pa.schema([("id", pa.string()), ("text", pa.string()), ("lang", pa.string()), ("lang_score", pa.float32())])
    n = 0
    for k, path in enumerate(sorted(glob.glob(f"{data}/mono/*.jsonl"))):
        writer = pq.ParquetWriter(f"{out}/plain-{k:05d}.parquet", schema, compression="zstd")
        ids, texts = [], []
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                d = json.loads(line)
                ids.append(d["id"])
                texts.append(d["text"].replace("\n", " "))
        n += len(texts)
        preds = [f.predict(t + "\n", 1, 0.0, "strict")[0] for t in texts]
        keep = [i for i, (p, lab) in enumerate(preds) if lab[9:] in allowed and p >= 0.5]
        writer.write_table(
            pa.table(
                {
                    "id": [ids[i] for i in keep],
                    "text": [texts[i] for i in keep],
                    "lang": [preds[i][1][9:] for i in keep],
                    "lang_score": pa.array([preds[i][0] for i in keep], pa.float32()),
                },
                schema=schema,
            )
        )
        writer.close()
    return n


def b2_lib(data: str, model: str, out: str) -> int:
    reader = MosesReader(src_lang="eng_Latn", tgt_lang="hin_Deva", src_suffix="en", tgt_suffix="hi")
    scorer = BitextScorer()
    lid = LanguageIdentifier(model_path=model, top_k=1)
    filt = BitextFilter(
        src_languages=["eng_Latn"],
        tgt_languages=["hin_Deva"],
        default_threshold=0.5,
        check_scripts=False,
        min_char_ratio=1 / 3,
        max_char_ratio=3.0,
    )
    n = 0
    writer = None
    for chunk in reader.read(f"{data}/bitext/corpus.en", source="enhi"):
        n += chunk.kept.num_rows
        kept = filt.process(lid.process(scorer.process(chunk.kept).kept).kept).kept
        if writer is None:
            writer = pq.ParquetWriter(f"{out}/b2.parquet", kept.schema, compression="zstd")
        writer.write_batch(kept)
    if writer is not None:
        writer.close()
    return n


def b2_plain(data: str, model: str, out: str) -> int:
    f = fasttext.load_model(model).f
    n = 0
    with open(f"{data}/bitext/corpus.en", encoding="utf-8") as fs, open(f"{data}/bitext/corpus.hi", encoding="utf-8") as ft:
        src = [s.strip() for s in fs]
        tgt = [t.strip() for t in ft]
    n = len(src)
    ps = [f.predict(t + "\n", 1, 0.0, "strict")[0] for t in src]
    pt = [f.predict(t + "\n", 1, 0.0, "strict")[0] for t in tgt]
    kept = []
    for s, t, (ss, ls), (st, lt) in zip(src, tgt, ps, pt):
        a, b = len(s), len(t)
        if not a or not b or max(a, b) > 3 * min(a, b) or WS.sub(" ", s.lower()) == WS.sub(" ", t.lower()):
            continue
        if ls == "__label__en" and ss >= 0.5 and lt == "__label__hi" and st >= 0.5:
            kept.append((s, t))
    pq.write_table(pa.table({"src": [s for s, _ in kept], "tgt": [t for _, t in kept]}), f"{out}/plain.parquet", compression="zstd")
    return n


BENCHES = {"b1": (b1_lib, b1_plain), "b2": (b2_lib, b2_plain)}


def timed(fn, *args) -> tuple[int, float]:
    t0 = time.process_time()  # CPU seconds of this process: less moved by other load on a shared machine than wall time
    n = fn(*args)
    return n, time.process_time() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--bench", nargs="+", default=["b1", "b2"], choices=sorted(BENCHES))
    ap.add_argument("--reps", type=int, default=2, help="alternated repetitions; the fastest of each counts")
    ap.add_argument("--profile", help="write a cProfile of each library path to PROFILE.<bench>.txt (top 30 by tottime)")
    args = ap.parse_args()
    for bench in args.bench:
        lib, plain = BENCHES[bench]
        t_plain = t_lib = float("inf")
        with tempfile.TemporaryDirectory() as out:
            for _ in range(args.reps):  # alternated; the fastest of each, as the machine is shared
                n_plain, t = timed(plain, args.data, args.model, out)
                t_plain = min(t_plain, t)
                n_lib, t = timed(lib, args.data, args.model, out)
                t_lib = min(t_lib, t)
            if args.profile:
                prof = cProfile.Profile()
                prof.runcall(lib, args.data, args.model, out)
                with open(f"{args.profile}.{bench}.txt", "w") as fh:
                    pstats.Stats(prof, stream=fh).sort_stats("tottime").print_stats(30)
        load = os.getloadavg()[0]
        print(
            json.dumps(
                {
                    "bench": bench,
                    "rows": n_lib,
                    "plain_rows_s": round(n_plain / t_plain),
                    "lib_rows_s": round(n_lib / t_lib),
                    "lib_vs_plain": round(t_plain / t_lib, 3),
                    "load_avg_1m": load,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
