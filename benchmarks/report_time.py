"""How long `corpusforge report` takes against output size, and against the floor of reading the
same Parquet columns with pyarrow alone (measured in the same run).

Generates synthetic outputs (``corpusforge.analysis.testing``: segments with LID and premium
columns, plus 5 % translations, 2 % code-switched records, 1 % rejected rows), then for each
size runs the report in a fresh process (its time, the scan's share of it, peak RSS) and the
baseline: reading the columns the report reads, the way it reads them, nothing computed. The report
must grow linearly with rows (time per million rows flat) and stay under 60 s at 10 M rows.

    python benchmarks/report_time.py            # 200 k and 1 M segment rows
    python benchmarks/report_time.py --full     # 1 M and 10 M segment rows (~3 GB of temp disk, minutes)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
root, mode = sys.argv[1], sys.argv[2]
if mode == "report":
    from corpusforge.analysis.report import write_report
    started = time.perf_counter()
    _, report = write_report(root)
    out = {"seconds": time.perf_counter() - started, "scan": report.scan_seconds, "rows": report.rows_scanned}
else:  # the floor: the same columns read the same way (dictionaries included), nothing computed
    import json as _json
    from corpusforge.analysis.scan import OutputFiles
    from corpusforge.analysis import stats
    files = OutputFiles(root, _json.load(open(f"{root}/_manifest.json", encoding="utf-8")))
    accumulators = [stats.LanguageSizes("segment"), stats.LanguageSizes("bitext"), stats.LidScores("segment"), stats.LidScores("bitext"),
                    stats.Rejections(), stats.CodeSwitching("codeswitch"), stats.Translation(), stats.Transliteration("segment"),
                    stats.Transliteration("bitext")]
    started = time.perf_counter()
    rows = 0
    for name in ("segment", "bitext", "codeswitch", "rejected"):
        columns = [c for acc in accumulators if acc.output == name for c in acc.columns(files.schema(name))]
        for batch in files.batches(name, columns):
            rows += batch.num_rows
    out = {"seconds": time.perf_counter() - started, "rows": rows}
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def _child(root: Path, mode: str) -> dict:
    result = subprocess.run([sys.executable, "-c", CHILD, str(root), mode], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="1 M and 10 M segment rows (default: 200 k and 1 M)")
    parser.add_argument("--rows", type=int, nargs="+", help="segment row counts to measure instead")
    parser.add_argument("--repeat", type=int, default=2, help="runs per size; the best is reported (default: %(default)s)")
    args = parser.parse_args(argv)
    sizes = args.rows or ([1_000_000, 10_000_000] if args.full else [200_000, 1_000_000])

    from corpusforge.analysis.testing import write_synthetic_output

    results = []
    with tempfile.TemporaryDirectory(prefix="corpusforge-report-bench-") as tmp:
        for rows in sizes:
            root = Path(tmp) / f"out-{rows}"
            started = time.perf_counter()
            written = write_synthetic_output(root, rows, seed=1, sampling=True)
            generated = time.perf_counter() - started
            disk = sum(f.stat().st_size for f in root.rglob("*.parquet")) / 1e6
            report = min((_child(root, "report") for _ in range(args.repeat)), key=lambda r: r["seconds"])
            floor = min((_child(root, "floor") for _ in range(args.repeat)), key=lambda r: r["seconds"])
            total_rows = sum(written.rows.values())
            results.append((rows, total_rows, disk, generated, report, floor))
            print(
                f"{rows:>11,} segment rows ({total_rows:,} in all, {disk:,.0f} MB Parquet, generated in {generated:.1f} s): "
                f"report {report['seconds']:.2f} s (scan {report['scan']:.2f} s, peak RSS {report['peak_rss_mb']:.0f} MB), "
                f"column read alone {floor['seconds']:.2f} s -> report / read {report['seconds'] / floor['seconds']:.2f}x",
                flush=True,
            )
            for path in sorted(root.rglob("*"), reverse=True):  # free the disk before the next size
                path.unlink() if path.is_file() else path.rmdir()
    print()
    print(f"{'segment rows':>12}  {'report s':>9}  {'scan s':>7}  {'s per M rows (scan)':>20}  {'read alone s':>12}  {'report/read':>11}")
    for rows, _, _, _, report, floor in results:
        per_million = report["scan"] / (rows / 1e6)
        print(
            f"{rows:>12,}  {report['seconds']:>9.2f}  {report['scan']:>7.2f}  {per_million:>20.2f}  {floor['seconds']:>12.2f}  {report['seconds'] / floor['seconds']:>11.2f}"
        )
    if len(results) >= 2:
        (r0, _, _, _, a, _), (r1, _, _, _, b, _) = results[0], results[-1]
        print(
            f"\n{r1 / r0:.0f}x the rows: report time {b['seconds'] / a['seconds']:.2f}x, scan time {b['scan'] / a['scan']:.2f}x "
            f"(linear: {r1 / r0:.0f}x; the fixed part is drawing the figures)"
        )
        if r1 >= 10_000_000:
            print(f"10 M rows in {b['seconds']:.1f} s: {'under' if b['seconds'] < 60 else 'OVER'} the 60 s budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
