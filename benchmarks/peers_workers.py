"""Wall time of ``corpusforge run RECIPE`` on the local runner with 1 worker, 2 workers and 2
workers with ``rebalance: true``, alternated (the fastest of ``--reps`` each): where the 2-worker run
loses (issue 14: B2, one Moses pair, is slower on 2 workers). Run it again on a recipe reading the
first 100 rows of the same input for the fixed start-up cost of each configuration.

    python benchmarks/peers_workers.py RECIPE --out DIR [--reps 1]

RECIPE is one of the shared harness's recipes (``../shared/bench/peers/recipes/b2_cf.yaml`` with
its ``@P@`` paths filled in). Prints one JSON line per configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

CONFIGS = {
    "1_worker": [],
    "2_workers": ["--direct_running_mode=multi_processing", "--direct_num_workers=2"],
    "2_workers_rebalance": ["--set", "rebalance=true", "--direct_running_mode=multi_processing", "--direct_num_workers=2"],
}


def run(recipe: str, out: str, extra: list[str]) -> float:
    cli = os.path.join(os.path.dirname(sys.executable), "corpusforge")
    t0 = time.perf_counter()
    subprocess.run([cli, "run", recipe, "--set", f"output.path={out}", *extra], check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("recipe")
    ap.add_argument("--out", required=True, help="a scratch directory this script writes under")
    ap.add_argument("--reps", type=int, default=1)
    args = ap.parse_args()
    best = {name: float("inf") for name in CONFIGS}
    for _ in range(args.reps):
        for name, extra in CONFIGS.items():
            best[name] = min(best[name], run(args.recipe, os.path.join(args.out, name), extra))
    for name, wall in best.items():
        print(
            json.dumps(
                {
                    "config": name,
                    "wall_s": round(wall, 2),
                    "vs_1_worker": round(best["1_worker"] / wall, 3),
                    "load_avg_1m": os.getloadavg()[0],
                }
            )
        )


if __name__ == "__main__":
    main()
