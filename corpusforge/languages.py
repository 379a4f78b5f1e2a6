"""Language codes in one place: anything users or models write (``hi``, ``hi-IN``, ``hin``,
``zh-Hans``, ``__label__hin_Deva``) becomes ISO 639-3 + ISO 15924 script as FLORES-200 and
GlotLID write it (``hin_Deva``).

Two readers: :func:`canonical` validates what users write (recipes, constructor options): each
subtag must be a known ISO 639 language / ISO 15924 script, and a bad one fails with a close
valid code suggested. :func:`read_code` and :func:`code_for_label` read what models and rows
wrote the same way but never refuse a subtag for being unknown, so a label never fails a run."""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

import langcodes

# FLORES-200 names individual languages where ISO 639-1 has a macrolanguage.
MACRO_TO_FLORES = {
    "ara": "arb",
    "fas": "pes",
    "msa": "zsm",
    "est": "est",
    "lav": "lvs",
    "uzb": "uzn",
    "swa": "swh",
    "nep": "npi",
    "ori": "ory",
    "pus": "pbt",
    "mon": "khk",
    "aze": "azj",
    "que": "quy",
    "nor": "nob",
    "alb": "als",
    "sqi": "als",
    "kur": "kmr",
    "zho": "zho",
    "yid": "ydd",
    "grn": "gug",
    "kon": "ktu",
    "mlg": "plt",
    "orm": "gaz",
    "aka": "twi",
    "fil": "tgl",  # langcodes reads tl as Filipino; FLORES-200 writes Tagalog, tgl_Latn
}
# Scripts FLORES-200 writes differently from CLDR's likely-subtag data.
LIKELY_TO_FLORES_SCRIPT = {"Kore": "Hang"}

_FLORES_TO_MACRO = {v: k for k, v in MACRO_TO_FLORES.items()}  # later keys win: als -> sqi

_CANONICAL = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")


class LanguageCodeError(ValueError):
    """A code that cannot be read as a language."""


def is_canonical(code: str) -> bool:
    return bool(_CANONICAL.match(code))


@dataclass(frozen=True)
class _Reading:
    """What one code reads as: the canonical code (None when unreadable), whether the code names
    its script itself, and why a user may not write it (None: every subtag is a known one)."""

    code: str | None
    explicit_script: bool
    problem: str | None


@functools.lru_cache(maxsize=4096)
def canonical(code: str, script: str | None = None) -> str:
    """``hi`` -> ``hin_Deva``; ``script`` (ISO 15924, e.g. from the text itself) overrides the
    likely script, so ``hi`` written in Latin letters becomes ``hin_Latn``.

    Validates what users write: the language must be a known ISO 639 code and the script a known
    ISO 15924 one (langcodes' IANA subtag data, or for codes newer than it Babel's CLDR data),
    else LanguageCodeError names the bad part and a close valid code (``hin_Dev: unknown script
    'Dev' ...; did you mean hin_Deva?``). Codes that models and rows wrote are read with
    :func:`read_code` / :func:`code_for_label`, which never refuse a subtag for being unknown."""
    reading = _read(code, script)
    if reading.problem is not None:
        raise LanguageCodeError(reading.problem)
    assert reading.code is not None  # _read gives a problem whenever it has no code
    return reading.code


def code_or_none(code: str | None, read: Callable[[str], str] = canonical) -> str | None:
    """``read(code)`` (default :func:`canonical`), or None for a missing code or one it cannot
    read: for codes a source may or may not mean as a language (Wikidata ``mul``, a TSV header,
    a row's label), where an unreadable one is passed over rather than refused."""
    if not code:
        return None
    try:
        return read(code)
    except (LanguageCodeError, LookupError):  # langcodes raises LookupError for names it cannot map
        return None


def names_script(code: str) -> bool:
    """Whether a (valid) code names its script itself (``zho_Hant``, ``sr-Latn``) rather than
    leaving it to the language's likely script (``zho``, ``hi``, ``zh-TW``)."""
    canonical(code)
    return _read(code, None).explicit_script


@functools.lru_cache(maxsize=4096)
def read_code(code: str, script: str | None = None) -> str:
    """:func:`canonical` without the check that each subtag is a known one: how codes that models
    and rows wrote are read (lid.176's ``eml``, a retired code, stays ``eml_Latn``). Raises
    LanguageCodeError only for what cannot be read at all (``xx``, ``und``)."""
    reading = _read(code, script)
    if reading.code is None:
        raise LanguageCodeError(reading.problem)
    return reading.code


@functools.lru_cache(maxsize=4096)
def _read(code: str, script: str | None) -> _Reading:
    """One parse of ``code`` for both readers (:func:`canonical`, :func:`read_code`); cached,
    failures included, so a column full of one bad code costs one parse and one suggestion."""
    raw = code.strip()
    if raw.startswith("__label__"):
        raw = raw[len("__label__") :]
    if not raw:
        return _Reading(None, False, "empty language code")
    try:
        lang = langcodes.Language.get(raw.replace("_", "-"), normalize=True)
        if not lang.language or lang.language == "und":
            return _Reading(None, False, f"{code!r} names no language")
        alpha3 = lang.to_alpha3()
    except (langcodes.tag_parser.LanguageTagError, LookupError, ValueError) as exc:
        hint = _name_hint(raw)
        return _Reading(None, False, f"cannot read {code!r} as a language code: {exc}{hint}")
    alpha3 = MACRO_TO_FLORES.get(alpha3, alpha3)
    likely = lang.maximize().script
    likely = LIKELY_TO_FLORES_SCRIPT.get(likely, likely) if likely else likely
    chosen = script or lang.script or likely
    if not chosen:
        return _Reading(None, False, f"no script known for {code!r}; write it as xxx_Scrp (e.g. hin_Deva)")
    problem = _subtag_problems(code, raw, lang, alpha3, script)
    return _Reading(f"{alpha3}_{chosen}", bool(script or lang.script), problem)


# --- validation of what users write ----------------------------------------------------------


def _subtag_problems(code: str, raw: str, lang: langcodes.Language, alpha3: str, script: str | None) -> str | None:
    """Why ``code`` names an unknown language or script (None when both are known). Regions are
    not checked (canonical codes drop them); an unknown variant is most often a script written
    out (``eng_latin``), so it is reported as one."""
    problems = []
    assert lang.language  # _read returns before this for a code that names no language
    bare = langcodes.Language.make(language=lang.language)
    language_ok = _known_language(lang.language)
    likely = bare.maximize().script if language_ok else None
    likely = LIKELY_TO_FLORES_SCRIPT.get(likely, likely) if likely else likely
    if not language_ok:
        written = _written(raw, lang.language)
        hint = _close(written.lower(), _languages_with_scripts())
        keep = lang.script if lang.script and _known_script(lang.script) else None
        guess = f"; did you mean {read_code(hint, keep)}?" if hint else ""
        problems.append(f"unknown language {written!r} (ISO 639-3{guess})")
    # BCP 47 reads a 3-letter subtag after the language as an extended language: in
    # ``hin_Dev`` it is a script with a letter missing.
    written_scripts = [_written(raw, e) for e in lang.extlangs or []]
    written_scripts += [s for s in (lang.script, script) if s and not _known_script(s)]
    written_scripts += [_written(raw, v) for v in lang.variants or [] if not langcodes.Language.make(variants=[v]).is_valid()]
    for written in written_scripts:
        scripts = _registry()["script"]
        known = sorted(set(scripts.values()) | _cldr()["scripts"])
        hint = scripts.get(written.lower()) or _close(written.title(), known, prefer=likely)
        if hint:
            guess = f"did you mean {alpha3}_{hint}?" if language_ok else f"did you mean {hint!r}?"
        else:
            guess = f"{alpha3} is usually written {alpha3}_{likely}" if language_ok and likely else "e.g. Latn, Deva, Cyrl"
        problems.append(f"unknown script {written!r} (ISO 15924, 4 letters; {guess})")
    return f"{code}: {'; '.join(problems)}" if problems else None


def _known_language(subtag: str) -> bool:
    """Whether a language subtag is a known one: in langcodes' validity data, or, for codes newer
    than it (``tok``, ``isv``), in the CLDR data of the installed Babel."""
    return langcodes.Language.make(language=subtag).is_valid() or subtag in _cldr()["languages"]


def _known_script(subtag: str) -> bool:
    """Whether a script subtag is a known ISO 15924 code (langcodes' IANA data, else CLDR's)."""
    return langcodes.Language.make(script=subtag).is_valid() or subtag in _cldr()["scripts"]


@functools.cache
def _cldr() -> dict[str, frozenset[str]]:
    """Language and script codes in Babel's CLDR data (its likely subtags and English names),
    which is newer than langcodes' copy of the IANA registry. Read on the first code langcodes
    does not know."""
    from babel import Locale
    from babel.core import get_global

    likely = get_global("likely_subtags")
    english = Locale("en")
    languages = {k for k in likely if "_" not in k} | set(english.languages)
    scripts = {k.split("_", 1)[1] for k in likely if k.startswith("und_") and len(k) == 8} | set(english.scripts)
    return {"languages": frozenset(languages), "scripts": frozenset(scripts)}


def _written(raw: str, subtag: str) -> str:
    """The subtag as the user wrote it (case kept), found among the parts of ``raw``."""
    return next((p for p in re.split(r"[-_]", raw) if p.lower() == subtag.lower()), subtag)


def _close(word: str, candidates: list[str], prefer: str | None = None) -> str | None:
    """The closest candidate (difflib), ``prefer`` when it is among the close ones."""
    found = difflib.get_close_matches(word, candidates, n=5, cutoff=0.6)
    return prefer if prefer in found else (found[0] if found else None)


def _name_hint(raw: str) -> str:
    """``; did you mean hin_Deva?`` when ``raw`` is a language's English name (``Hindi``)."""
    subtag = _registry()["names"].get(raw.replace("_", " ").strip().lower())
    if subtag is None:
        return ""
    try:
        return f"; did you mean {canonical(subtag)}?"
    except LanguageCodeError:
        return ""


@functools.cache
def _registry() -> dict[str, dict[str, str]]:
    """From the IANA language subtag registry that langcodes ships: script subtags by subtag and
    by name, and language subtags by name (all lower-cased). Read once, on the first bad code
    (about 0.1 s)."""
    from langcodes.registry_parser import parse_registry

    out: dict[str, dict[str, str]] = {"script": {}, "names": {}}
    for item in parse_registry():
        subtag, kind = item.get("Subtag", ""), item.get("Type")
        if ".." in subtag or "Deprecated" in item:
            continue
        if kind == "script":  # by subtag and by name: Latn and latin -> Latn
            out["script"][subtag.lower()] = subtag
            for name in item["Description"]:
                out["script"].setdefault(name.lower(), subtag)
        elif kind == "language":
            for name in item["Description"]:
                out["names"].setdefault(name.lower(), subtag)
    return out


@functools.cache
def _languages_with_scripts() -> list[str]:
    """ISO 639-3 codes of the languages langcodes knows a likely script for: the candidates a
    misspelt language is matched against (all ~8,000 codes would make every guess noise)."""
    from langcodes.data_dicts import LIKELY_SUBTAGS

    codes = set()
    for tag in LIKELY_SUBTAGS:
        if "-" not in tag and tag != "und":
            try:
                codes.add(read_code(tag).split("_", 1)[0])
            except LanguageCodeError:
                continue
    return sorted(codes)


# The parts of a code. These read codes that rows carry (written by a model or an earlier run) as
# leniently as model labels are read, so a row is never refused for a subtag langcodes does not
# know; validate what users write with canonical() first.


def language_of(code: str) -> str:
    """ISO 639-3 part of a canonical code: ``hin_Deva`` -> ``hin``."""
    return read_code(code).split("_", 1)[0]


def script_of(code: str) -> str:
    """ISO 15924 part of a canonical code: ``hin_Deva`` -> ``Deva``."""
    return read_code(code).split("_", 1)[1]


def same_language(a: str, b: str) -> bool:
    """Whether two codes name the same language (script ignored): ``en-US`` and ``eng_Latn``."""
    return language_of(a) == language_of(b)


def alpha2(code: str) -> str | None:
    """ISO 639-1 code where one exists (sacremoses and many tools want it): ``hin_Deva`` -> ``hi``."""
    alpha3 = language_of(code)
    alpha3 = _FLORES_TO_MACRO.get(alpha3, alpha3)
    short = str(langcodes.Language.get(alpha3).language)
    return short if len(short) == 2 else None


# --- model labels ---------------------------------------------------------------------------

LABEL_PREFIX = "__label__"

# lid.176 writes a few Wikipedia codes that are not (or not the same) ISO 639 codes. They apply
# only to labels without a script subtag: GlotLID's ``als_Latn`` is Tosk Albanian, as in ISO.
LID176_ALIASES = {"als": "gsw"}  # Alemannic (Wikipedia ``als``), not Tosk Albanian

# Unicode scripts a language's own script is folded from, for languages written with more
# than one Unicode script: Japanese mixes Han and kana, Korean may carry Hanja, and Chinese
# text whose Han characters do not lean Simplified or Traditional reads as ``Hani``.
_HAN = frozenset({"Hani", "Hans", "Hant"})
_FOLDS = {
    "Jpan": _HAN | {"Hira", "Kana", "Hrkt", "Jpan"},
    "Kore": _HAN | {"Hang", "Kore"},
    "Hang": _HAN | {"Hang", "Kore"},
    "Hans": frozenset({"Hani", "Jpan"}),
    "Hant": frozenset({"Hani", "Jpan"}),
}
# ISO 15924 codes that name no writing system: the text tells nothing about the script.
NO_SCRIPT = frozenset({"Zyyy", "Zinh", "Zzzz"})


def fold_script(language_script: str, text_script: str | None) -> str:
    """The script subtag for a language usually written in ``language_script`` whose text shows
    ``text_script``: the text decides (``Deva`` language, ``Latn`` text -> ``Latn``), except that
    a multi-script writing system absorbs its parts (``Jpan`` + ``Hani`` -> ``Jpan``;
    ``Hans`` + ``Hani`` -> ``Hans``, but ``Hans`` + ``Hant`` -> ``Hant``)."""
    language_script = LIKELY_TO_FLORES_SCRIPT.get(language_script, language_script)
    if not text_script or text_script in NO_SCRIPT or text_script == language_script:
        return language_script
    if text_script in _FOLDS.get(language_script, ()):
        return language_script
    return text_script


def script_compatible(code: str, text_script: str | None) -> bool:
    """Whether text whose dominant script is ``text_script`` can be in ``code`` (``hin_Deva``
    text must be Devanagari; ``jpn_Jpan`` accepts Han and kana; no script at all always fits)."""
    script = script_of(code)
    return fold_script(script, text_script) == LIKELY_TO_FLORES_SCRIPT.get(script, script)


def _writes(language_script: str, text_script: str) -> bool:
    """Whether a language usually written in ``language_script`` can use ``text_script`` as its
    own (Chinese: any Han; Japanese: Han or kana; otherwise the same script)."""
    own = LIKELY_TO_FLORES_SCRIPT.get(language_script, language_script)
    return fold_script(language_script, text_script) == own or (own in ("Hans", "Hant") and text_script in _HAN)


@functools.lru_cache(maxsize=65536)
def code_for_label(label: str, text_scripts: str | None = None) -> str:
    """Canonical code for a fastText LID label and the scripts of the text it was predicted for
    (the dominant script, or the writing systems present joined by ``+``, most letters first).

    A label with a script (GlotLID/OpenLID ``__label__hin_Deva``) keeps it. A label without one
    (lid.176 ``__label__hi``) takes the first script of the text the language is usually written
    in, else the text's dominant script (through :func:`fold_script`): ``hi`` + Latin text ->
    ``hin_Latn``; ``zh`` + ``Latn+Hant`` (``Email 地址`` in Traditional) -> ``zho_Hant``; ``ja`` +
    Han/kana -> ``jpn_Jpan``; ``ko`` -> ``kor_Hang``. Text with no script of its own (digits,
    punctuation: ``Zyyy``) gets the language's likely script."""
    raw = label[len(LABEL_PREFIX) :] if label.startswith(LABEL_PREFIX) else label
    parts = raw.replace("-", "_").split("_")
    if len(parts) > 1 and len(parts[1]) == 4:
        return read_code(raw)
    raw = LID176_ALIASES.get(raw, raw)
    likely = script_of(raw)
    scripts = text_scripts.split("+") if text_scripts else [None]
    chosen = next((s for s in scripts if s and _writes(likely, s)), scripts[0])
    return read_code(raw, fold_script(likely, chosen))


def macrolanguage(code: str) -> str:
    """ISO 639-3 code of a code's macrolanguage where FLORES-200 names an individual language
    (``pes_Arab`` -> ``fas``, ``arb_Arab`` -> ``ara``), else its language (``hin_Deva`` -> ``hin``):
    what tools that key rules by ISO 639-2/3 macrolanguages (uroman) read."""
    alpha3 = language_of(code)
    return _FLORES_TO_MACRO.get(alpha3, alpha3)


@functools.lru_cache(maxsize=4096)
def canonical_or_none(code: str | None) -> str | None:
    """:func:`code_or_none` with :func:`canonical`, cached: for row values a stage leaves alone
    rather than refuses."""
    return code_or_none(code)
    try:
        return canonical(code)
    except (LanguageCodeError, LookupError):
        return None
