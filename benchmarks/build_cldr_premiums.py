"""Build ``corpusforge/data/premiums_cldr.tsv``: the embedded byte-premium ESTIMATE.

CLDR (shipped inside Babel) holds content-matched strings for hundreds of locales: names of
territories, languages, scripts, currencies and variants, unit names, relative-date phrases,
month and day names. For each language-level locale (``hi``, ``sr_Latn``; no regional variants)
this takes every entry the locale itself defines (not inherited) and English also defines, and computes the premium
with the paper's method (bytes over shared units / English bytes over the same units) through
:func:`corpusforge.premium.byte_premiums_from_columns`, with a bootstrap interval.

Names are short noun phrases, not running text, so the result is an estimate: its error against
published figures is printed by ``benchmarks/premium_compare.py``. Run after upgrading Babel:

    .venv/bin/python benchmarks/build_cldr_premiums.py [--out PATH]
"""

from __future__ import annotations

import argparse
import re
import warnings
from pathlib import Path

import babel
from babel import Locale, localedata

from corpusforge.languages import LanguageCodeError, canonical
from corpusforge.premium import FewUnitsWarning, byte_premiums_from_columns

OUT = Path(__file__).resolve().parents[1] / "corpusforge" / "data" / "premiums_cldr.tsv"
# Categories of names and phrases; for the inflected ones only full forms (abbreviations and
# narrow forms are symbols, not content).
CATEGORIES = ("territories", "languages", "scripts", "currency_names", "variants", "unit_display_names", "date_fields", "months", "days")
FULL_FORMS = {"unit_display_names": ("long",), "months": ("wide",), "days": ("wide",), "date_fields": ("future", "past")}
PLACEHOLDER = re.compile(r"\{\d+\}")
MIN_UNITS = 100
SEED = 0


def flatten(data, prefix: tuple = ()):
    """(path, string) for every string leaf of CLDR's nested dicts."""
    if isinstance(data, str):
        yield prefix, data
    elif hasattr(data, "items"):
        for key, value in data.items():
            yield from flatten(value, prefix + (str(key),))


def entries(locale_id: str) -> dict[tuple, str]:
    """The strings the locale itself defines (nothing inherited: ``hi_Latn`` inherits English
    names from ``en_IN``), placeholders removed. Babel caches loads by name, so this script
    never loads the same locale merged."""
    data = localedata.load(locale_id, merge_inherited=False)
    out = {}
    for category in CATEGORIES:
        forms = FULL_FORMS.get(category)
        for path, value in flatten(data.get(category) or {}):
            if forms and not any(form in path for form in forms):
                continue
            text = PLACEHOLDER.sub("", value).strip()
            if text:
                out[(category,) + path] = text
    return out


def language_locales() -> dict[str, str]:
    """Canonical code -> the CLDR locale id for it (language or language_Script locales only;
    where two ids name one language, e.g. ``zh`` and ``zh_Hans``, the shorter wins)."""
    chosen: dict[str, str] = {}
    for locale_id in sorted(localedata.locale_identifiers(), key=lambda i: (len(i), i)):
        if locale_id == "root":
            continue
        locale = Locale.parse(locale_id)
        if locale.territory or locale.variant:
            continue
        try:
            code = canonical(locale_id)
        except LanguageCodeError:
            continue
        chosen.setdefault(code, locale_id)
    return chosen


def build(out: Path) -> None:
    locales = language_locales()
    per_locale = {code: entries(locale_id) for code, locale_id in locales.items()}
    keys = sorted(per_locale["eng_Latn"])
    columns = {code: [values.get(key, "") for key in keys] for code, values in per_locale.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewUnitsWarning)  # sparse locales are dropped below
        table = byte_premiums_from_columns(columns, reference="eng_Latn", seed=SEED, source="cldr_estimate")
    rows = [(lang, table.premium(lang)) for lang in table.languages()]
    rows = [(lang, p) for lang, p in rows if p.units is not None and p.units >= MIN_UNITS]
    with out.open("w", encoding="utf-8") as handle:
        handle.write(
            f"# ESTIMATE of byte premiums vs eng_Latn from CLDR names (Babel {babel.__version__}), "
            f"not from parallel running text; built by benchmarks/build_cldr_premiums.py (seed {SEED}).\n"
            f"# categories: {', '.join(CATEGORIES)}; locales with >= {MIN_UNITS} entries shared with English.\n"
        )
        handle.write("lang\tbyte_coef\tunits\tci_low\tci_high\tlocale\n")
        for lang, p in rows:
            interval = [f"{x:.4f}" if x is not None else "" for x in (p.ci_low, p.ci_high)]
            handle.write("\t".join([lang.lower(), f"{p.value:.4f}", str(p.units), *interval, locales[lang]]) + "\n")
    print(f"wrote {len(rows)} languages to {out}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    build(parser.parse_args(argv).out)


if __name__ == "__main__":
    main()
