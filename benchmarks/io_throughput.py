"""read -> normalise -> write: the Beam pipeline against a plain single-process loop.

Both sides run the same library code (TextReader, Normalizer, the Parquet shard writer) on the
same generated corpus, each in its own process so that peak RSS is measured per side. The ratio
(Beam rows/s / plain rows/s) is the cost of running through Beam; peak RSS shows that memory stays
bounded (streaming, no whole-file materialisation).

    python benchmarks/io_throughput.py                 # 200 MB, one Beam worker
    python benchmarks/io_throughput.py --mb 50 --runs 3
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

# Words in seven scripts; sentences draw them with Zipf-like weights, as natural text does.
WORDS = {
    "eng_Latn": "the of and to in is was for that on with as by it at from this are be have has city river year people language school water music train".split(),
    "hin_Deva": "है के में की और से को का एक यह पर भी नहीं लिए कि था शहर नदी साल लोग भाषा स्कूल पानी संगीत".split(),
    "urd_Arab": "ہے کے میں کی اور سے کو کا ایک یہ پر بھی نہیں لیے کہ تھا شہر دریا سال لوگ زبان اسکول پانی".split(),
    "ben_Beng": "এবং এই একটি করে হয় থেকে জন্য তার সঙ্গে কিন্তু শহর নদী বছর মানুষ ভাষা স্কুল পানি গান".split(),
    "zho_Hans": "的 是 在 了 和 有 我 他 这 中 人 城市 河流 年 语言 学校 水 音乐 火车".split(),
    "rus_Cyrl": "и в не на что он с как это по но из город река год люди язык школа вода музыка поезд".split(),
    "tam_Taml": "ஒரு இந்த அது மற்றும் என்று நகரம் ஆறு ஆண்டு மக்கள் மொழி பள்ளி தண்ணீர் இசை".split(),
}
PUNCT = {"zho_Hans": "。", "hin_Deva": "।", "ben_Beng": "।", "urd_Arab": "۔"}


def generate(directory: Path, megabytes: int, files: int = 8, seed: int = 0) -> dict[str, list[Path]]:
    """Write ``files`` text files per language family, ``megabytes`` in all; return paths by language."""
    rng = random.Random(seed)
    langs = list(WORDS)
    per_file = megabytes * 1_000_000 // files
    paths: dict[str, list[Path]] = {lang: [] for lang in langs}
    for n in range(files):
        lang = langs[n % len(langs)]
        words = WORDS[lang]
        weights = [1 / (rank + 1) for rank in range(len(words))]
        path = directory / f"{lang}-{n:03d}.txt"
        written = 0
        with path.open("w", encoding="utf-8") as out:
            while written < per_file:
                length = rng.randint(6, 30)
                sep = "" if lang == "zho_Hans" else " "
                line = sep.join(rng.choices(words, weights, k=length)) + PUNCT.get(lang, ".") + "\n"
                written += len(line.encode())
                out.write(line)
        paths[lang].append(path)
    return {lang: p for lang, p in paths.items() if p}


def recipe_for(paths: dict[str, list[Path]], output: Path) -> dict:
    return {
        "name": "io-throughput",
        "inputs": [
            {"name": lang, "format": "text", "paths": [str(p) for p in files], "options": {"lang": lang}} for lang, files in paths.items()
        ],
        "stages": [{"normalize": {"unicode_form": "NFC", "moses_punct": True}}],
        "dedup": {"scope": "none"},
        "output": {"path": str(output), "target_shard_bytes": 128 << 20},
    }


def run_plain(recipe_path: str) -> dict:
    """The baseline: one process, the same reader, normaliser and shard writer, no Beam."""
    from corpusforge.config import load_recipe
    from corpusforge.io.shards import ShardMetadata, write_shards
    from corpusforge.schemas import load_schema

    recipe = load_recipe(recipe_path)
    (stage,) = recipe.stages
    stage.setup()
    rows = 0

    def batches():
        nonlocal rows
        for inp in recipe.inputs:
            for path in map(Path, inp.patterns):  # the generated recipe names files, not globs
                for chunk in inp.reader.read(str(path), source=inp.name, file_key=path.name):
                    rows += chunk.kept.num_rows + chunk.rejected.num_rows
                    kept = stage.process(chunk.kept).kept
                    if kept.num_rows:
                        yield kept

    write_shards(
        batches(),
        recipe.output_dir + "/segment",
        schema=load_schema("segment"),
        metadata=ShardMetadata(schema="segment.v1", recipe_hash=recipe.recipe_hash),
        target_shard_bytes=recipe.spec.output.target_shard_bytes,
    )
    return {"rows": rows}


def run_beam(recipe_path: str, workers: int) -> dict:
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from corpusforge.config import load_recipe
    from corpusforge.manifest import load_manifest
    from corpusforge.pipelines.corpus import build

    recipe = load_recipe(recipe_path)
    options = ["--runner=DirectRunner", f"--direct_num_workers={workers}"]
    if workers > 1:
        options.append("--direct_running_mode=multi_processing")
    with beam.Pipeline(options=PipelineOptions(options)) as p:
        build(p, recipe)
    manifest = load_manifest(recipe.output_dir)
    assert manifest["balanced"], "the manifest does not balance"
    return {"rows": manifest["totals"]["read"]}


def child(side: str, recipe_path: str, workers: int) -> None:
    started = time.perf_counter()
    result = run_plain(recipe_path) if side == "plain" else run_beam(recipe_path, workers)
    result["seconds"] = time.perf_counter() - started
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result["peak_rss_mb"] = max(self_rss, child_rss) / 1024
    print(json.dumps(result))


def measure(side: str, recipe_path: Path, workers: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", side, "--recipe", str(recipe_path), "--workers", str(workers)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=200, help="corpus size in MB (default 200)")
    parser.add_argument("--runs", type=int, default=2, help="alternating runs per side; the best of each is compared")
    parser.add_argument("--workers", type=int, default=1, help="Beam DirectRunner workers (default 1)")
    parser.add_argument("--workdir", help="where to generate data (default: a temporary directory)")
    parser.add_argument("--child", choices=["plain", "beam"], help=argparse.SUPPRESS)
    parser.add_argument("--recipe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.recipe, args.workers)

    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        root = Path(tmp)
        (root / "data").mkdir()
        t0 = time.perf_counter()
        paths = generate(root / "data", args.mb)
        size = sum(p.stat().st_size for files in paths.values() for p in files)
        print(
            f"corpus: {size / 1e6:.0f} MB in {sum(map(len, paths.values()))} files, {len(paths)} languages "
            f"(generated in {time.perf_counter() - t0:.0f} s)"
        )
        results: dict[str, list[dict]] = {"plain": [], "beam": []}
        for run in range(args.runs):
            for side in ("plain", "beam"):
                recipe_path = root / f"{side}-{run}.yaml"
                recipe_path.write_text(yaml.safe_dump(recipe_for(paths, root / f"out-{side}-{run}")), encoding="utf-8")
                r = measure(side, recipe_path, args.workers)
                results[side].append(r)
                print(
                    f"  run {run} {side:5s}: {r['rows']:,} rows in {r['seconds']:.1f} s = {r['rows'] / r['seconds']:,.0f} rows/s, "
                    f"{size / 1e6 / r['seconds']:.1f} MB/s, peak RSS {r['peak_rss_mb']:.0f} MB"
                )
        best = {side: max(r["rows"] / r["seconds"] for r in rs) for side, rs in results.items()}
        rss = {side: max(r["peak_rss_mb"] for r in rs) for side, rs in results.items()}
        assert results["plain"][0]["rows"] == results["beam"][0]["rows"], "both sides must read the same rows"
        print(f"plain loop : {best['plain']:,.0f} rows/s (best of {args.runs}), peak RSS {rss['plain']:.0f} MB")
        print(f"Beam ({args.workers} worker): {best['beam']:,.0f} rows/s (best of {args.runs}), peak RSS {rss['beam']:.0f} MB")
        print(f"ratio Beam / plain: {best['beam'] / best['plain']:.2f}  (target >= 0.80; peak RSS target < 1500 MB)")


if __name__ == "__main__":
    main()
