"""Computed byte premiums vs the published ones (Arnett et al. 2024).

Computes premiums from ``../shared/data/parallel_dev.tsv`` (Django UI strings, a different
domain from the paper's FLORES/NLLB text) with ``byte_premiums_from_parallel``, and prints them
next to the published figures listed in ``../shared/data/README.md``, with the ratio, whether
the ordering of languages agrees (Spearman's rho and pairwise concordance), and the same for the
embedded CLDR estimate. Exits 0 with a message when ../shared/data is absent.

    .venv/bin/python benchmarks/premium_compare.py [--data DIR] [--bootstrap N]
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
import warnings
from pathlib import Path

import numpy as np

from corpusforge.languages import canonical
from corpusforge.premium import PremiumTable, byte_premiums_from_parallel

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
LOCALES = ("hi", "ur", "bn", "ta", "ar", "zh_Hans", "ru", "de", "fr", "ja")
EXTRA = ("my",)  # published too, but not in the done-when list: shown, left out of the summary
PUBLISHED = re.compile(r"\b([a-z]{3}_[A-Z][a-z]{3}) (\d+\.\d+)")


def published_figures(readme: Path) -> dict[str, float]:
    text = readme.read_text(encoding="utf-8")
    section = text[text.index("Published byte premiums") :]
    return {code: float(value) for code, value in PUBLISHED.findall(section)}


def spearman(a: list[float], b: list[float]) -> float:
    """Spearman's rho: Pearson correlation of average ranks."""

    def ranks(x):
        x = np.asarray(x, dtype=float)
        order = x.argsort()
        r = np.empty(len(x))
        r[order] = np.arange(len(x), dtype=float)
        for value in np.unique(x):  # ties share their mean rank
            r[x == value] = r[x == value].mean()
        return r

    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def discordant(codes: list[str], a: list[float], b: list[float]) -> list[tuple[str, str]]:
    return [(codes[i], codes[j]) for i, j in itertools.combinations(range(len(codes)), 2) if (a[i] - a[j]) * (b[i] - b[j]) < 0]


def summarise(name: str, codes: list[str], mine: list[float], published: list[float]) -> None:
    errors = [abs(m / p - 1) for m, p in zip(mine, published)]
    pairs = len(codes) * (len(codes) - 1) // 2
    bad = discordant(codes, mine, published)
    print(
        f"{name}: Spearman rho {spearman(mine, published):.3f}; pairs ordered as published "
        f"{pairs - len(bad)}/{pairs}; mean |error| {100 * np.mean(errors):.1f}%, max {100 * max(errors):.1f}%"
    )
    if bad:
        print(f"  pairs in the other order: {', '.join(f'{x}/{y}' for x, y in bad)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--bootstrap", type=int, default=1000)
    args = parser.parse_args(argv)
    tsv, readme = args.data / "parallel_dev.tsv", args.data / "README.md"
    if not (tsv.is_file() and readme.is_file()):
        print(f"skipped: {tsv} or {readme} is absent")
        return 0
    published = published_figures(readme)
    locales = LOCALES + EXTRA
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        computed = byte_premiums_from_parallel(tsv, languages=locales, n_bootstrap=args.bootstrap)
    for w in caught:
        print(f"warning: {w.message}")
    estimate = PremiumTable.embedded()

    print(
        f"{'locale':8} {'code':9} {'units':>5} {'computed':>8} {'95% CI':>13} {'published':>9} {'ratio':>6}   {'cldr est.':>9} {'ratio':>6}"
    )
    rows = []
    for locale in locales:
        code = canonical(locale)
        p, e, ref = computed.premium(code), estimate.premium(code), published[code]
        extra = "  (extra)" if locale in EXTRA else ""
        print(
            f"{locale:8} {code:9} {p.units:>5} {p.value:>8.3f} {f'[{p.ci_low:.2f}, {p.ci_high:.2f}]':>13} "
            f"{ref:>9.2f} {p.value / ref:>6.3f}   {e.value:>9.3f} {e.value / ref:>6.3f}{extra}"
        )
        if locale not in EXTRA:
            rows.append((code, p.value, e.value, ref))
    codes, mine, est, ref = (list(column) for column in zip(*rows))
    print(f"\nover the {len(codes)} languages of the done-when list:")
    summarise("parallel_dev.tsv", codes, mine, ref)
    summarise("embedded CLDR estimate", codes, est, ref)
    return 0


if __name__ == "__main__":
    sys.exit(main())
