"""LanguageIdentifier stage against raw fastText ``predict``: same model, same batches, same run.

Inputs: the sentences of ``../shared/data/lid_dev.tsv`` (90+ languages, ~45 characters each),
repeated to ``--rows`` and cut into RecordBatches of ``--batch-rows``.

- raw: the fastText binding's per-line ``predict`` (what the stage calls; fasttext-predict's
  list API returns no probabilities) over ``batch.column("text").to_pylist()`` with a trailing
  newline: the floor any wrapper pays. ``raw-public`` is the same through the package's public
  ``model.predict(text, k)`` wrapper.
- stage: ``LanguageIdentifier(...).process(batch)``: newline handling, prediction, script
  detection, label mapping, the six output columns.

Passes alternate (raw, stage, raw, stage, ...) so load on the machine hits both alike; each
pass is timed in process CPU time (all threads; time spent waiting for a core on a shared
machine does not count) and the fastest pass of each is reported. Ratio = stage throughput /
raw throughput.

    nice .venv/bin/python benchmarks/lid_throughput.py [--rows 65536] [--batch-rows 8192] [--repeats 5]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import fasttext
import pyarrow as pa

from corpusforge.transforms.lid import LanguageIdentifier, default_model_path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "lid_dev.tsv"


def load_batches(rows: int, batch_rows: int) -> list[pa.RecordBatch]:
    with DATA.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        texts = [row["sentence"] for row in reader]
    texts = (texts * (rows // len(texts) + 1))[:rows]
    batches = []
    for start in range(0, rows, batch_rows):
        chunk = texts[start : start + batch_rows]
        batches.append(
            pa.RecordBatch.from_pydict(
                {"id": [str(start + i) for i in range(len(chunk))], "source": ["lid_dev"] * len(chunk), "text": chunk}
            )
        )
    return batches


def fastest(passes: dict[str, callable], repeats: int) -> dict[str, float]:
    best = {name: float("inf") for name in passes}
    for _ in range(repeats):
        for name, run in passes.items():
            start = time.process_time()
            run()
            best[name] = min(best[name], time.process_time() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=65536)
    parser.add_argument("--batch-rows", type=int, default=8192)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if not DATA.is_file():
        print(f"{DATA} not found: nothing to benchmark (it lives outside the repository)")
        return 0
    batches = load_batches(args.rows, args.batch_rows)
    model = fasttext.load_model(str(default_model_path()))
    predict = model.f.predict

    def raw(k: int, threshold: float = 0.0):
        def run():
            for batch in batches:
                [predict(text + "\n", k, threshold, "strict") for text in batch.column("text").to_pylist()]

        return run

    def raw_public(k: int):
        def run():
            for batch in batches:
                [model.predict(text, k=k) for text in batch.column("text").to_pylist()]

        return run

    def stage(**options):
        lid = LanguageIdentifier(**options)
        lid.setup()

        def run():
            for batch in batches:
                lid.process(batch)

        return run

    languages = sorted({"hin", "urd", "ben", "tam", "arb", "zho", "eng"})
    cases = [
        ("top_k=1", stage(top_k=1), raw(1), raw_public(1)),
        ("top_k=3 (default)", stage(top_k=3), raw(3), raw_public(3)),
        (f"expected_languages={len(languages)} (k=-1)", stage(expected_languages=languages), raw(-1), None),
        ("  same, prune_below=1e-3", stage(expected_languages=languages, prune_below=1e-3), raw(-1, 1e-3), None),
    ]
    print(f"{args.rows} rows in batches of {args.batch_rows}, fastest of {args.repeats} alternating passes")
    print(f"{'case':<34} {'raw rows/s':>11} {'stage rows/s':>13} {'ratio':>6} {'raw-public rows/s':>18}")
    top1_raw = None
    vs_top1 = []
    for name, stage_run, raw_run, public_run in cases:
        passes = {"raw": raw_run, "stage": stage_run}
        if public_run is not None:
            passes["public"] = public_run
        best = fastest(passes, args.repeats)
        rate = {key: args.rows / seconds for key, seconds in best.items()}
        top1_raw = top1_raw or rate["raw"]
        public = f"{rate['public']:>18,.0f}" if "public" in rate else f"{'-':>18}"
        print(f"{name:<34} {rate['raw']:>11,.0f} {rate['stage']:>13,.0f} {rate['stage'] / rate['raw']:>6.3f} {public}")
        vs_top1.append(f"{name.strip()}: {rate['stage'] / top1_raw:.3f}")
    print("stage vs top-1 raw: " + "; ".join(vs_top1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
