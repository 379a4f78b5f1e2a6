"""Accuracy of informal romanisation on a held-back list of names with their common Latin
spellings (``corpusforge/data/translit_eval.tsv``), against ISO 15919 with its diacritics
removed (what a standard scheme gives) and against the same rules without schwa deletion.

Metrics per language: exact match (case-insensitive) and character error rate (edit
distance / reference length, summed over words).

    nice .venv/bin/python benchmarks/translit_accuracy.py            # evaluate
    .venv/bin/python benchmarks/translit_accuracy.py --build         # rebuild the lists (needs Babel)

Urdu (``corpusforge/data/translit_eval_urdu.tsv``, built the same way by ``--build``): the CLDR
names of territories, languages and time-zone cities in the ``ur`` and ``hi`` locales for the same
key, each one word, give (Urdu, Devanagari) pairs; where the Hindi name passes the romanisation
test above against the English name, the English name is the pair's Latin form. Reported:
exact match and CER for Urdu -> Devanagari (corpusforge's reading rules against aksharamukha's
``Urdu`` and ``Arab-Ur`` readers) and Urdu -> Latin (uroman; corpusforge's Devanagari then
``informal``; and ISO 15919 without diacritics). Both sides are unvocalised spellings of the
same name, so no system can reach 100 %.

How the list is built (``--build``): from Unicode CLDR as Babel ships it, the names of
territories, languages and time-zone cities in the locales hi, mr, ne, bn, gu, pa, or, ta, te,
kn, ml and si, each with the English name for the same key. A pair is kept when both names are
one word and the English name is a romanisation of the local one rather than an exonym (Germany
vs जर्मनी): their consonant skeletons must agree (see :func:`skeleton`: vowels, h, y and
doubling ignored, c/k/q, f/p, w/v, z/j and m/n merged; the local side read through ISO
15919). The test ignores vowels, so it does not favour any vowel or schwa rule; it does
favour names whose consonants an English speaker spells phonetically. At most
``--per-language`` pairs per language, chosen by a stable hash.
"""

from __future__ import annotations

import argparse
import csv
import unicodedata
from collections import defaultdict
from pathlib import Path

from corpusforge.records import stable_id
from corpusforge.translit import Transliterator, run_pattern

EVAL = Path(__file__).resolve().parents[1] / "corpusforge" / "data" / "translit_eval.tsv"
EVAL_URDU = EVAL.with_name("translit_eval_urdu.tsv")
LOCALES = ("hi", "mr", "ne", "bn", "gu", "pa", "or", "ta", "te", "kn", "ml", "si")
SOUTH_ASIA = ("IN", "NP", "BD", "LK", "BT", "PK", "MV")
INDIC_SCRIPTS = (
    "Deva",
    "Beng",
    "Guru",
    "Gujr",
    "Orya",
    "Taml",
    "Telu",
    "Knda",
    "Mlym",
    "Sinh",
    "Olck",
    "Mtei",
    "Thaa",
    "Limb",
    "Lepc",
    "Tibt",
)
_MERGE = str.maketrans({"c": "k", "q": "k", "f": "p", "w": "v", "z": "j", "m": "n", "x": "k"})


def plain(text: str) -> str:
    """Lower case without diacritics: ``Kṣ̄`` -> ``ks``."""
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if not unicodedata.combining(c))


def skeleton(latin: str) -> str:
    """Coarse consonant key of a Latin spelling, for the selection test only."""
    key = plain(latin).translate(_MERGE)
    key = "".join(c for c in key if c.isalpha() and c not in "aeiouyh")
    return "".join(c for i, c in enumerate(key) if i == 0 or c != key[i - 1])


def build(per_language: int) -> None:
    import babel
    from babel import Locale
    from babel.core import get_cldr_version, get_global
    from babel.languages import get_territory_language_info

    english = Locale.parse("en")
    languages = {code for t in SOUTH_ASIA for code in get_territory_language_info(t)} - {"en"}
    # Time-zone ids come from the installed CLDR (they change between releases: Asia/Calcutta is
    # Asia/Kolkata from Babel 2.19 on), never from a fixed list.
    zones = {zone for territory in SOUTH_ASIA for zone in get_global("territory_zones").get(territory, ())}
    native_keys = {*SOUTH_ASIA, *languages, *zones, *INDIC_SCRIPTS}
    rows = []
    for code in LOCALES:
        locale = Locale.parse(code)
        iso = Transliterator(source=code, target="iso")
        runs = iso._runs
        candidates = [
            *(("territory", k, v, english.territories.get(k)) for k, v in locale.territories.items()),
            *(("language", k, v, english.languages.get(k)) for k, v in locale.languages.items()),
            *(("script", k, v, english.scripts.get(k)) for k, v in locale.scripts.items()),
            *(
                ("city", k, z.get("city"), english.time_zones.get(k, {}).get("city") or k.rsplit("/", 1)[-1].replace("_", " "))
                for k, z in locale.time_zones.items()
            ),
        ]
        kept = {}
        for category, key, native, latin in candidates:
            if not native or not latin or not latin.isalpha() or not latin.isascii():
                continue
            if runs.fullmatch(native) is None:  # one word in the locale's script
                continue
            if skeleton(iso.text(native)) == skeleton(latin) and native not in kept:
                kept[native] = (category, key, native, latin)
        ranked = sorted(kept.values(), key=lambda r: stable_id("translit_eval", code, r[2]))
        south = [r for r in ranked if r[1] in native_keys]
        chosen = south + [r for r in ranked if r[1] not in native_keys][: max(0, per_language - len(south))]
        lang = iso.source.language + "_" + iso.source.script
        rows += [(lang, "south_asian" if r[1] in native_keys else "foreign", *r) for r in sorted(chosen, key=lambda r: (r[0], r[1]))]
        print(f"{code}: {len(kept)} pairs pass the test ({len(south)} South Asian), kept {len(chosen)}")
    with EVAL.open("w", encoding="utf-8", newline="") as f:
        f.write(
            f"# Names from Unicode CLDR {get_cldr_version()} as shipped by Babel {babel.__version__} (locale data: Unicode License v3; "
            "Babel: BSD-3-Clause). Native name of a territory, language or time-zone city and its English name; kept when the English "
            "name romanises the native one (see benchmarks/translit_accuracy.py, which rebuilds this file). origin: south_asian for "
            "names of South Asian languages, scripts, countries and cities, else foreign. Held back: not used to choose "
            "romanisation rules.\n"
        )
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(["lang", "origin", "category", "key", "native", "romanized"])
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {EVAL}")


def build_urdu() -> None:
    import babel
    from babel import Locale
    from babel.core import get_cldr_version

    urdu, hindi, english = Locale.parse("ur"), Locale.parse("hi"), Locale.parse("en")
    iso = Transliterator(source="hin_Deva", target="iso")
    urdu_runs, hindi_runs = run_pattern("urdu"), run_pattern("devanagari")

    def names(loc: Locale) -> dict[tuple[str, str], str]:
        out = {("territory", k): v for k, v in loc.territories.items()}
        out |= {("language", k): v for k, v in loc.languages.items()}
        out |= {("city", k): z.get("city") for k, z in loc.time_zones.items()}
        return {k: v for k, v in out.items() if v}

    ur, hi, en = names(urdu), names(hindi), names(english)
    en |= {("city", k): k.rsplit("/", 1)[-1].replace("_", " ") for (c, k) in ur if c == "city" and ("city", k) not in en}
    rows = []
    for key in sorted(set(ur) & set(hi)):
        u, h = ur[key], hi[key]
        if urdu_runs.fullmatch(u) is None or hindi_runs.fullmatch(h) is None:
            continue
        latin = en.get(key, "")
        if not (latin.isalpha() and latin.isascii() and skeleton(iso.text(h)) == skeleton(latin)):
            latin = ""
        rows.append((*key, u, h, latin))
    with EVAL_URDU.open("w", encoding="utf-8", newline="") as f:
        f.write(
            f"# Names from Unicode CLDR {get_cldr_version()} as shipped by Babel {babel.__version__} (locale data: Unicode License v3; "
            "Babel: BSD-3-Clause). The Urdu and Hindi names of one territory, language or time-zone city; latin is the English name "
            "where it romanises the Hindi one (see benchmarks/translit_accuracy.py, which rebuilds this file). Held back: not used "
            "to choose Urdu reading rules.\n"
        )
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(["category", "key", "urdu", "devanagari", "latin"])
        writer.writerows(rows)
    print(f"wrote {len(rows)} Urdu rows ({sum(1 for r in rows if r[-1])} with a Latin form) to {EVAL_URDU}")


def evaluate_urdu() -> None:
    import warnings

    from corpusforge.translit import transliterator

    with EVAL_URDU.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader((line for line in f if not line.startswith("#")), delimiter="\t"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from aksharamukha import transliterate as aksharamukha
    deva = Transliterator(source="urd_Arab", target="Deva")
    informal = Transliterator(source="urd_Arab", target="informal")
    iso = Transliterator(source="urd_Arab", target="iso")
    uroman = transliterator(source="auto", target="uroman", language="urd")
    to_deva = {
        "corpusforge rules": deva.word,
        "aksharamukha Urdu": lambda w: aksharamukha.process("Urdu", "Devanagari", w),
        "aksharamukha Arab-Ur": lambda w: aksharamukha.process("Arab-Ur", "Deva", w, param="script_code"),
    }
    to_latin = {
        "uroman": uroman.text,
        "corpusforge informal": informal.word,
        "ISO 15919 without diacritics": lambda w: plain(iso.word(w)),
    }
    to_urdu = {
        "corpusforge (aksharamukha, short vowels removed)": Transliterator(source="hin_Deva", target="urdu").word,
        "aksharamukha Urdu as it writes it": lambda w: aksharamukha.process("Devanagari", "Urdu", w),
    }
    latin_rows = [r for r in rows if r["latin"]]
    print(f"{EVAL_URDU.name}: {len(rows)} Urdu words with Devanagari forms, {len(latin_rows)} with Latin forms")
    for title, systems, items, ref in (
        ("Urdu -> Devanagari", to_deva, rows, "devanagari"),
        ("Urdu -> Latin", to_latin, latin_rows, "latin"),
        ("Devanagari -> Urdu", to_urdu, rows, "urdu"),
    ):
        print(f"{title} ({len(items)} words): exact / CER")
        for name, convert in systems.items():
            exact = errors = length = 0
            for row in items:
                given = row["devanagari"] if ref == "urdu" else row["urdu"]
                out, want = unicodedata.normalize("NFC", convert(given).lower()), unicodedata.normalize("NFC", row[ref].lower())
                exact += out == want
                errors += distance(out, want)
                length += len(want)
            print(f"  {name:50} {exact / len(items):6.1%}  {errors / length:6.3f}")
    print()


def load() -> list[dict]:
    with EVAL.open(encoding="utf-8", newline="") as f:
        lines = (line for line in f if not line.startswith("#"))
        return list(csv.DictReader(lines, delimiter="\t"))


def distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


SYSTEMS = {
    "informal": lambda lang: Transliterator(source=lang, target="informal").word,
    "informal, no schwa deletion": lambda lang: Transliterator(source=lang, target="informal", language="und").word,
    "ISO 15919 without diacritics": lambda lang: lambda w, t=Transliterator(source=lang, target="iso"): plain(t.word(w)).replace(":", ""),  # noqa: B008 (one engine per system, bound once)
}


def score(rows: list[dict]) -> dict[str, dict[str, tuple[int, int, int, list[str]]]]:
    """{language: {system: (exact, edit errors, reference chars, misses)}}."""
    by_lang = defaultdict(list)
    for row in rows:
        by_lang[row["lang"]].append(row)
    result: dict = {}
    for lang, items in by_lang.items():
        result[lang] = {}
        for name, make in SYSTEMS.items():
            convert = make(lang)
            exact = errors = length = 0
            misses = []
            for row in items:
                out, ref = convert(row["native"]).lower(), row["romanized"].lower()
                exact += out == ref
                errors += distance(out, ref)
                length += len(ref)
                if out != ref:
                    misses.append(f"{row['native']} -> {out} (ref {row['romanized']})")
            result[lang][name] = (exact, errors, length, misses, len(items))
    return result


def report(title: str, rows: list[dict], show: int) -> None:
    scores = score(rows)
    print(f"{title}: {len(rows)} words")
    print(f"{'lang':9} {'n':>4} " + " ".join(f"{name[:28]:>28}" for name in SYSTEMS))
    print(" " * 15 + " ".join(f"{'exact     CER':>28}" for _ in SYSTEMS))
    totals = {name: [0, 0, 0] for name in SYSTEMS}
    for lang, systems in scores.items():
        cells = []
        for name, (exact, errors, length, _, n) in systems.items():
            for k, v in enumerate((exact, errors, length)):
                totals[name][k] += v
            cells.append(f"{exact / n:>18.1%} {errors / length:>9.3f}")
        print(f"{lang:9} {n:>4} " + " ".join(cells))
    print(f"{'all':9} {len(rows):>4} " + " ".join(f"{t[0] / len(rows):>18.1%} {t[1] / t[2]:>9.3f}" for t in totals.values()))
    if show:
        print(f"first {show} informal misses per language:")
        for lang, systems in scores.items():
            print(f"  {lang}: " + "; ".join(systems["informal"][3][:show]))
    print()


def evaluate(show: int) -> None:
    rows = load()
    print(
        f"{EVAL.name}: {len(rows)} words, {len({r['lang'] for r in rows})} languages; exact = case-insensitive match, "
        "CER = edit distance / reference characters\n"
    )
    report(
        "South Asian names (languages, scripts, countries, cities of South Asia)", [r for r in rows if r["origin"] == "south_asian"], show
    )
    report("Foreign names (spelt in English after their own orthography)", [r for r in rows if r["origin"] == "foreign"], 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", action="store_true", help="rebuild the list from Babel's CLDR data")
    parser.add_argument("--per-language", type=int, default=100)
    parser.add_argument("--show", type=int, default=6, help="misses to print per language")
    args = parser.parse_args()
    if args.build:
        build(args.per_language)
        build_urdu()
    evaluate_urdu()
    evaluate(args.show)


if __name__ == "__main__":
    main()
