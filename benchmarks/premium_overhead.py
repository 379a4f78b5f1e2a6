"""What the ``premium`` stage adds to a read -> LID -> write corpus job (target: <= 10 %).

Both sides run the corpus job (``corpusforge.pipelines.corpus.build`` on the DirectRunner, one
fresh process per run, through ``io_throughput``'s child runner) on the same generated corpus
(``io_throughput.generate``: seven languages in six scripts); the only difference is the stage
list: ``[lid]`` against ``[lid, premium]``. Runs alternate (base, premium, base, ...) so load on
a shared machine hits both alike. Reported: wall time per run, and the ratio premium / base of
the best and of the median runs.

    nice .venv/bin/python benchmarks/premium_overhead.py            # 50 MB, 3 runs per side
    nice .venv/bin/python benchmarks/premium_overhead.py --mb 200 --runs 5 --workers 2
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
import yaml
from io_throughput import generate, measure, recipe_for  # benchmarks/ is on sys.path when run as a script

SIDES = {"base": [{"lid": {}}], "premium": [{"lid": {}}, {"premium": {}}]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=50, help="corpus size in MB (default 50)")
    parser.add_argument("--runs", type=int, default=3, help="alternating runs per side (default 3)")
    parser.add_argument("--workers", type=int, default=1, help="DirectRunner workers (default 1)")
    parser.add_argument("--workdir", help="where to generate data (default: a temporary directory)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        root = Path(tmp)
        (root / "data").mkdir()
        paths = generate(root / "data", args.mb)
        size = sum(p.stat().st_size for files in paths.values() for p in files)
        print(
            f"corpus: {size / 1e6:.0f} MB, {len(paths)} languages; job: read -> lid [-> premium] -> write, DirectRunner, {args.workers} worker(s)"
        )
        seconds: dict[str, list[float]] = {side: [] for side in SIDES}
        rows: dict[str, int] = {}
        for run in range(args.runs):
            for side, stages in SIDES.items():
                out = root / f"out-{side}-{run}"
                recipe = {**recipe_for(paths, out), "name": f"premium-overhead-{side}", "stages": stages}
                recipe_path = root / f"{side}-{run}.yaml"
                recipe_path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
                result = measure("beam", recipe_path, args.workers)
                seconds[side].append(result["seconds"])
                rows[side] = result["rows"]
                print(
                    f"  run {run} {side:7s}: {result['rows']:,} rows in {result['seconds']:.1f} s, peak RSS {result['peak_rss_mb']:.0f} MB"
                )
        assert rows["base"] == rows["premium"], "both sides must read the same rows"
        shard = next((root / f"out-premium-{args.runs - 1}" / "segment").rglob("*.parquet"))
        assert "norm_bytes" in pq.read_schema(shard).names, "the premium side must write the premium columns"
        best = {side: min(s) for side, s in seconds.items()}
        median = {side: statistics.median(s) for side, s in seconds.items()}
        print(f"base (lid)        : best {best['base']:.1f} s, median {median['base']:.1f} s")
        print(f"with premium stage: best {best['premium']:.1f} s, median {median['premium']:.1f} s")
        print(
            f"ratio premium / base: best {best['premium'] / best['base']:.3f}, median {median['premium'] / median['base']:.3f}"
            f"  (target <= 1.10)"
        )


if __name__ == "__main__":
    main()
