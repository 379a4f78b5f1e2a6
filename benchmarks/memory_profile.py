"""Peak memory of the corpus job against input size, for both sharding modes and both local runners.

For each input size it writes a synthetic text corpus (unique lines in four scripts, ~120 bytes
each), runs ``python -m corpusforge.pipelines.corpus`` on it in a subprocess and samples the
resident memory of the whole process tree (the job and its worker processes) every 0.2 s.
Printed per run: peak RSS, and its growth over an almost empty run of the same mode and runner
(the fixed cost of Python, Beam and the runner, measured in the same run) per input byte: the
part of the memory that scales with the input.

    .venv/bin/python benchmarks/memory_profile.py            # 20 MB and 60 MB (a few minutes)
    .venv/bin/python benchmarks/memory_profile.py --full     # 100 MB, 300 MB and 1 GB (long)
    .venv/bin/python benchmarks/memory_profile.py --sizes-mb 50 --modes sharded --runners in_memory

The issue's target: peak RSS <= 1.5 GB at 1 GB of input with ``shard_count: 16`` and without.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

WORDS = {
    "hin_Deva": "भारत सरकार ने आज नई नीति की घोषणा की जिसमें किसानों के लिए सहायता शामिल है".split(),
    "eng_Latn": "the government announced a new policy today which includes support for farmers".split(),
    "urd_Arab": "حکومت نے آج ایک نئی پالیسی کا اعلان کیا جس میں کسانوں کی مدد شامل ہے".split(),
    "zho_Hans": "政府 今天 宣布 了 一项 新 政策 其中 包括 对 农民 的 支持".split(),
}
RUNNERS = {
    "in_memory": ["--runner=DirectRunner", "--direct_running_mode=in_memory"],
    "multi_processing": ["--runner=DirectRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=2"],
}
MODES = {"streaming": None, "sharded": 16}
MB = 1_000_000


def write_corpus(path: Path, size: int, seed: int = 7) -> int:
    """A text file of about ``size`` bytes of unique lines; returns its size."""
    rng = random.Random(seed)
    langs = list(WORDS)
    written, n = 0, 0
    with open(path, "w", encoding="utf-8") as f:
        while written < size:
            chunk = []
            for _ in range(10_000):
                words = WORDS[langs[n % len(langs)]]
                chunk.append(f"{n} " + " ".join(rng.choice(words) for _ in range(12)) + "\n")
                n += 1
            text = "".join(chunk)
            f.write(text)
            written += len(text.encode("utf-8"))
    return path.stat().st_size


def recipe(path: Path, corpus: Path, shard_count: int | None, dedup: str) -> Path:
    output = f"  shard_count: {shard_count}\n" if shard_count else ""
    path.write_text(
        "name: memory_profile\n"
        f"inputs:\n  - name: corpus\n    format: text\n    paths: [{str(corpus)!r}]\n    options: {{lang: hin_Deva}}\n"
        "stages:\n  - normalize: {unicode_form: NFC}\n"
        f"dedup:\n  scope: {dedup}\n"
        f"output:\n  path: out\n  overwrite: true\n{output}",
        encoding="utf-8",
    )
    return path


def tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def run(recipe_path: Path, output: Path, runner: list[str]) -> tuple[float, int, int]:
    """(seconds, peak tree RSS in bytes, exit status) of one corpus job."""
    cmd = [sys.executable, "-m", "corpusforge.pipelines.corpus", str(recipe_path), "--set", f"output.path={output}", *runner]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    done.set()
    sampler.join()
    if proc.returncode:
        print(err[-2000:], file=sys.stderr)
    return time.monotonic() - started, peak, proc.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="100 MB, 300 MB and 1 GB")
    parser.add_argument("--sizes-mb", type=float, nargs="+", help="input sizes in MB (default 20 60)")
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    parser.add_argument("--runners", nargs="+", choices=list(RUNNERS), default=list(RUNNERS))
    parser.add_argument("--dedup", choices=["global", "source", "none"], default="global")
    parser.add_argument("--keep", help="work in this folder and keep it (default: a temporary one)")
    args = parser.parse_args(argv)
    sizes = args.sizes_mb or ([100, 300, 1000] if args.full else [20, 60])
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="corpusforge-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        profile(args, sizes, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def profile(args: argparse.Namespace, sizes: list[float], work: Path) -> None:
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}, dedup: {args.dedup}")
    print(f"{'mode':<10} {'runner':<17} {'input MB':>9} {'peak MB':>8} {'growth MB':>10} {'growth/input':>13} {'seconds':>8}")
    for mode in args.modes:
        for runner in args.runners:
            baseline = None
            for size in [0.01, *sizes]:
                corpus = work / f"corpus-{size:g}MB.txt"
                if not corpus.exists():
                    write_corpus(corpus, int(size * MB))
                rec = recipe(work / f"recipe-{mode}.yaml", corpus, MODES[mode], args.dedup)
                seconds, peak, status = run(rec, work / f"out-{mode}-{runner}", RUNNERS[runner])
                if baseline is None:
                    baseline = peak
                    print(f"{mode:<10} {runner:<17} {'(empty)':>9} {peak / MB:>8.0f} {'':>10} {'':>13} {seconds:>8.1f}")
                    continue
                actual = corpus.stat().st_size
                failed = "" if status == 0 else f"  FAILED (exit {status})"
                print(
                    f"{mode:<10} {runner:<17} {actual / MB:>9.0f} {peak / MB:>8.0f} {(peak - baseline) / MB:>10.0f} "
                    f"{(peak - baseline) / actual:>13.2f} {seconds:>8.1f}{failed}",
                    flush=True,
                )


if __name__ == "__main__":
    sys.exit(main())
