"""Scheme tables for :mod:`corpusforge.translit`: which sources and targets a user may name, how
they resolve (:func:`resolve`), which pairs convert (:func:`check_pair`), the runs of characters
a conversion touches (:func:`run_pattern`), and the patches to indic-transliteration's
``sanscript`` tables that make Brahmic conversions exact (see :mod:`corpusforge.translit.engine`).

Names a user can write:
- Brahmic scripts by sanscript scheme (``devanagari``), ISO 15924 code (``Deva``) or language
  code (``hin_Deva``, ``hi``): Devanagari, Bengali, Gurmukhi, Gujarati, Oriya, Tamil, Telugu,
  Kannada, Malayalam, Sinhala.
- Urdu's Perso-Arabic script: ``urdu``, ``Arab``, ``urd``, ``urd_Arab`` (through aksharamukha,
  :mod:`corpusforge.translit.perso_arabic`).
- Romanisations ``iso`` (ISO 15919), ``iast``, ``itrans``, ``hk``, ``velthuis``, ``slp1``, ``wx``;
  ``informal`` and ``uroman`` (targets only).
- Any other script (``Cyrl``, ``rus_Cyrl``, ``tha``, ``zho_Hans`` ...): a source for ``uroman`` only.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import regex
from indic_transliteration import sanscript
from indic_transliteration.sanscript import SCHEMES, SchemeMap

from corpusforge.languages import LanguageCodeError, canonical
from corpusforge.translit import romanize

BRAHMIC = {
    "Deva": "devanagari",
    "Beng": "bengali",
    "Guru": "gurmukhi",
    "Gujr": "gujarati",
    "Orya": "oriya",
    "Taml": "tamil",
    "Telu": "telugu",
    "Knda": "kannada",
    "Mlym": "malayalam",
    "Sinh": "sinhala",
}
ROMAN = ("iso", "iast", "itrans", "hk", "velthuis", "slp1", "wx")
INFORMAL = "informal"
DEVANAGARI = "devanagari"
_SCRIPT_OF_SCHEME = {scheme: script for script, scheme in BRAHMIC.items()}

URDU = "urdu"
UROMAN = "uroman"
# Arabic-script languages whose text the Urdu reading (aksharamukha's Urdu script) fits; other
# Arabic-script languages (Arabic, Persian, Pashto, Sindhi ...) reach only ``uroman``.
URDU_LANGUAGES = frozenset({"urd"})
PERSO_ARABIC_SCRIPTS = ("Arab", "Aran")
# ISO 15924 codes that name writing systems of several Unicode scripts.
UNICODE_SCRIPTS = {
    "Hans": ("Hani",),
    "Hant": ("Hani",),
    "Jpan": ("Hani", "Hira", "Kana"),
    "Hrkt": ("Hira", "Kana"),
    "Kore": ("Hang", "Hani"),
    "Aran": ("Arab",),
}

# Devanagari letters some targets cannot write -> nearest letters they can (applied only where
# the target leaves the letter unconverted).
APPROXIMATIONS = {
    "ऑ": "ओ",
    "ॉ": "ो",
    "ऍ": "ए",
    "ॅ": "े",
    "ऎ": "ए",
    "ॆ": "े",
    "ऒ": "ओ",
    "ॊ": "ो",
    "ऄ": "अ",
    "ॲ": "अ",
    "ॳ": "अ",
    "ॴ": "आ",
    "ॵ": "औ",
    "ॶ": "उ",
    "ॷ": "ऊ",
    "ऺ": "े",
    "ऻ": "ो",
    "ॎ": "े",
    "ॏ": "ौ",
    "ॕ": "े",
    "ॖ": "ु",
    "ॗ": "ू",
    "ऋ": "रि",
    "ॠ": "री",
    "ऌ": "लि",
    "ॡ": "ली",
    "ृ": "्रि",
    "ॄ": "्री",
    "ॢ": "्लि",
    "ॣ": "्ली",
    "ष": "श",
    "ळ": "ल",
    "ऽ": "",
    "ऀ": "ँ",
    "ँ": "ं",
    "ॱ": "",
    "ॽ": "",
    "॰": ".",
    "ॻ": "ग",
    "ॼ": "ज",
    "ॾ": "ड",
    "ॿ": "ब",
    "ॹ": "ज",
    "ॺ": "य",
    "ॸ": "ड",
    romanize.NUKTA: "",
}

_ISO_STOPS = "कगचजटडतदपब"

# Letters of other sources that sanscript does not know -> the Devanagari they stand for. They
# pass through sanscript's source -> Devanagari step untouched.
SOURCE_FIXES = {
    "Beng": {"ঀ": "ँ"},
    "Guru": {"ੵ": "्य"},
    "Gujr": {"ઍ": "ऍ", "ઑ": "ऑ", "ૉ": "ॉ", "ૹ": "ज़"},
    "Orya": {"ୱ": "व"},
    "Taml": {"ஂ": "ं"},
    "Mlym": {  # chillu letters are a consonant with virama; dot reph is र्
        "ൺ": "ण्",
        "ൻ": "न्",
        "ർ": "र्",
        "ൽ": "ल्",
        "ൾ": "ळ्",
        "ൿ": "क्",
        "ൔ": "म्",
        "ൕ": "य्",
        "ൖ": "ऴ्",
        "ൎ": "र्",
        "ഩ": "ऩ",
        "ഺ": "ट",
        "഻": "्",
        "഼": "्",
        "ൗ": "ौ",  # reformed spelling writes au as the length mark alone
    },
    "Sinh": {  # æ vowels as the English-loan vowel ॅ; prenasalised stops as nasal + stop
        "ඇ": "ऍ",
        "ඈ": "ऍ",
        "ැ": "ॅ",
        "ෑ": "ॅ",
        "ඁ": "ँ",
        "ඟ": "ङ्ग",
        "ඦ": "ञ्ज",
        "ඬ": "ण्ड",
        "ඳ": "न्द",
        "ඹ": "म्ब",
        "ෆ": "फ़",
    },
}


@functools.cache
def source_normalizer(script: str) -> Callable[[str], str]:
    """Prepares a word of a non-Devanagari Brahmic source for sanscript: NFC, then the nukta
    letters NFC decomposes (Gurmukhi ਜ਼, Bengali ড়, Odia ଡ଼) composed again, as sanscript's
    tables write them, then :data:`SOURCE_FIXES`."""
    chars = regex.compile(rf"\p{{sc={script}}}")
    recompose = [
        (unicodedata.normalize("NFD", c), c)
        for c in map(chr, range(0x0980, 0x0E00))
        if chars.match(c) and unicodedata.normalize("NFC", c) != c
    ]
    fixes = str.maketrans(SOURCE_FIXES.get(script, {}))

    def normalize(word: str) -> str:
        word = unicodedata.normalize("NFC", word)
        for decomposed, composed in recompose:
            if decomposed in word:
                word = word.replace(decomposed, composed)
        return word.translate(fixes)

    return normalize


class TransliterationError(ValueError):
    """A scheme, script or language that this module cannot convert, or a pair it refuses."""


@dataclass(frozen=True)
class Resolved:
    """What a user-written source or target names: the scheme (a sanscript scheme, ``informal``,
    ``urdu``, ``uroman``, or for a script no scheme covers its ISO 15924 code), its ISO 15924
    script, and the language when a language code was given."""

    scheme: str
    script: str
    language: str | None = None

    @property
    def roman(self) -> bool:
        return self.script == "Latn"

    @property
    def brahmic(self) -> bool:
        return self.scheme in _SCRIPT_OF_SCHEME

    @property
    def schemeless(self) -> bool:
        """A script no scheme here writes (Cyrillic, Thai, Han ...): ``uroman`` reads it, nothing
        writes it."""
        return self.scheme == self.script


def supported() -> str:
    return (
        f"scripts {', '.join(BRAHMIC)} (or {', '.join(BRAHMIC.values())}), {URDU} (Urdu's Perso-Arabic script), "
        f"romanisations {', '.join(ROMAN)}, {INFORMAL} and {UROMAN} (targets only; {UROMAN} reads any script)"
    )


@functools.lru_cache(maxsize=256)
def resolve(code: str) -> Resolved:
    """Read a scheme name (``iso``), ISO 15924 code (``Deva``) or language code (``hi``,
    ``hin_Deva``) as a :class:`Resolved`; unreadable or ambiguous names raise
    :class:`TransliterationError` with what to write instead. Scripts without a scheme resolve
    to themselves (``Cyrl``): :func:`check_pair` allows them as sources of ``uroman`` only."""
    raw = code.strip()
    low = raw.lower()
    if low in _SCRIPT_OF_SCHEME:
        return Resolved(low, _SCRIPT_OF_SCHEME[low])
    if low in ROMAN or low in (INFORMAL, UROMAN):
        return Resolved(low, "Latn")
    if low == URDU:
        return Resolved(URDU, "Arab", "urd")
    script = raw.title() if len(raw) == 4 and raw.isalpha() else None
    language = None
    if script is None:
        try:
            full = canonical(raw)
        except (LanguageCodeError, LookupError) as exc:  # langcodes raises LookupError for unknown codes
            raise TransliterationError(f"cannot read {code!r} as a scheme, script or language ({exc}); supported: {supported()}") from exc
        language, script = full.split("_", 1)
    if script in BRAHMIC:
        return Resolved(BRAHMIC[script], script, language)
    if script in PERSO_ARABIC_SCRIPTS and (language is None or language in URDU_LANGUAGES):
        return Resolved(URDU, script, language)
    if script == "Latn":
        raise TransliterationError(
            f"{code!r} names Latin script, not a romanisation: write one of {', '.join(ROMAN)}, {INFORMAL} or {UROMAN}"
        )
    if not _known_script(script):
        raise TransliterationError(f"{code!r}: {script!r} is not a Unicode script; supported: {supported()}")
    return Resolved(script, script, language)


@functools.cache
def _known_script(script: str) -> bool:
    try:
        for part in UNICODE_SCRIPTS.get(script, (script,)):
            regex.compile(rf"\p{{sc={part}}}")
    except regex.error:
        return False
    return True


@functools.cache
def _script_chars(script: str) -> str:
    """A ``re`` character class body for the BMP code points of one Unicode script, or of the
    Unicode scripts of a writing system (:data:`UNICODE_SCRIPTS`: ``Jpan`` is Han and kana; read from
    ``regex``'s script property once; the stdlib ``re`` engine then does the scanning)."""
    if script == "Latn":
        prop = regex.compile(r"[\p{sc=Latn}\p{sc=Zinh}]")
    else:
        prop = regex.compile("[" + "".join(rf"\p{{sc={part}}}" for part in UNICODE_SCRIPTS.get(script, (script,))) + "]")
    end = 0x10000 if script == "Latn" or script in BRAHMIC else 0x40000  # Han reaches past the BMP
    points = [cp for cp in range(end) if prop.match(chr(cp))]
    ranges, start, prev = [], points[0], points[0]
    for cp in points[1:] + [None]:
        if cp is not None and cp == prev + 1:
            prev = cp
            continue
        ranges.append(re.escape(chr(start)) + ("-" + re.escape(chr(prev)) if prev > start else ""))
        if cp is not None:
            start = prev = cp
    return "".join(ranges)


@functools.cache
def run_pattern(scheme: str) -> re.Pattern:
    """Maximal runs of a scheme's letters, as one capturing group (for ``split``). Brahmic:
    the script's characters, with ZWJ/ZWNJ inside and dandas right after. Roman: Latin letters
    and combining marks, plus the scheme's own signs (``.t`` in Velthuis, ``R^i`` in ITRANS,
    ``:`` in ISO) when a letter follows them. Urdu and schemeless scripts: the script's
    characters and combining marks (Arabic vowel signs are ``Inherited``), joiners inside."""
    if scheme in _SCRIPT_OF_SCHEME:
        body = _script_chars(_SCRIPT_OF_SCHEME[scheme])
        return re.compile(f"([{body}]+(?:[\u200c\u200d]+[{body}]+)*[\u0964\u0965]*)")
    if scheme not in ROMAN:
        body = _script_chars("Arab" if scheme == URDU else scheme) + _script_chars("Zinh")
        return re.compile(f"([{body}]+(?:[\u200c\u200d]+[{body}]+)*)")
    letters = _script_chars("Latn")
    signs = {"iso": ":'", "iast": "'", "hk": "'", "itrans": ".~^_'", "velthuis": '.~"', "slp1": "~'", "wx": ""}[scheme]
    if not signs:
        return re.compile(f"([{letters}]+)")
    return re.compile(f"((?:[{letters}]|[{re.escape(signs)}](?=[{letters}]))+)")


@functools.cache
def _scheme(name: str, as_source: bool):
    """sanscript's scheme, with these changes. Bengali writes व as ৱ, so ब and व stay apart. As
    a source, a letter that several Devanagari letters share reads as the first of them
    (Tamil க as क, not घ: sanscript keeps the last, which turns plain Tamil consonants into
    voiced aspirates), and spelled-out signs read as the letters they are (Tamil ம் as म्, not
    anusvara)."""
    scheme = SCHEMES[name]
    if name != "bengali" and (not as_source or scheme.is_roman):
        return scheme
    data = {group: dict(values) if isinstance(values, dict) else values for group, values in scheme.items()}
    if name == "bengali":
        data["consonants"]["व"] = "ৱ"
    if as_source:
        virama = data["virama"]["्"]
        for key, value in list(data["yogavaahas"].items()):  # Tamil ம் is m + pulli, not anusvara
            if not value or (len(value) > 1 and value.endswith(virama)):
                del data["yogavaahas"][key]
        seen: set[str] = set()
        for group in ("consonants", "extra_consonants"):
            for key, value in list(data.get(group, {}).items()):
                if value in seen:
                    del data[group][key]
                seen.add(value)
    return type(scheme)(data=data, name=name)


@functools.cache
def scheme_map(source: str, target: str) -> SchemeMap:
    return SchemeMap(_scheme(source, True), _scheme(target, False))


def _convert(text: str, mapping: SchemeMap) -> str:
    return sanscript.transliterate(text, scheme_map=mapping)


@functools.cache
def approximator(target: str) -> Callable[[str], str]:
    """Prepares a Devanagari word for ``target``: nukta letters decomposed, then every
    :data:`APPROXIMATIONS` entry the target cannot write replaced, and the nukta dropped after
    consonants whose nukta form the target lacks (ऩ in Bengali, ऱ in Velthuis)."""
    mapping = scheme_map(DEVANAGARI, target)
    leftover = re.compile(f"[{_script_chars('Deva')}]").search
    table = dict(romanize.NUKTA_TABLE)
    for letter, nearest in APPROXIMATIONS.items():
        probe = ("क" + letter) if unicodedata.category(letter).startswith("M") else letter
        if leftover(_convert(probe.translate(table), mapping)):
            table[ord(letter)] = nearest
    if _scheme(target, False).is_roman:  # joiners only shape Brahmic conjuncts
        table.update({0x200C: "", 0x200D: ""})
    for key, value in table.items():  # a replacement may need replacing in turn (ँ -> ं)
        table[key] = value.translate(table).translate(table)
    bare = "".join(letter[0] for letter in romanize.NUKTA_TABLE.values() if leftover(_convert(letter.translate(table), mapping)))
    strip = re.compile(f"([{bare}]){romanize.NUKTA}") if bare else None

    def prepare(word: str) -> str:
        word = word.translate(table)
        return strip.sub(r"\1", word) if strip is not None else word

    return prepare


def decompose_nukta(word: str) -> str:
    return word.translate(romanize.NUKTA_TABLE)


def iso_split(word: str) -> list[str]:
    """Cut a (nukta-decomposed) Devanagari word where ISO 15919 writes ``:`` — before इ/उ
    after an inherent ``a``, before ह after a stop with virama, and in the word ओं/ओम् (which
    would read back as ॐ) — so each part converts unambiguously."""
    if word in ("ओं", "ओम्"):
        return ["ओ", word[1:]]
    parts, start = [], 0
    for i in range(1, len(word)):
        ch, prev = word[i], word[i - 1]
        inherent_a = prev == "अ" or prev in romanize.CONSONANTS or (prev == romanize.NUKTA and i >= 2)
        if (ch in "इउ" and inherent_a) or (ch == "ह" and prev == romanize.VIRAMA and i >= 2 and word[i - 2] in _ISO_STOPS):
            parts.append(word[start:i])
            start = i
    parts.append(word[start:])
    return parts


def check_pair(source: Resolved, target: Resolved) -> tuple[Resolved, Resolved]:
    """``(source, target)`` if this module converts from one to the other, else
    :class:`TransliterationError` saying why."""
    if source.scheme in (INFORMAL, UROMAN):
        raise TransliterationError(f"{source.scheme!r} is a target only: its spellings cannot be read back")
    if target.schemeless:
        raise TransliterationError(f"nothing here writes script {target.script}; it can be a source for target {UROMAN!r}")
    if source.schemeless and target.scheme != UROMAN:
        raise TransliterationError(f"script {source.script} can only be romanised with target {UROMAN!r}, not {target.scheme!r}")
    if source.roman and target.scheme == UROMAN:
        raise TransliterationError(f"{source.scheme!r} is already Latin: {UROMAN!r} needs a source in another script")
    if source.scheme == target.scheme:
        raise TransliterationError(f"source and target are both {source.scheme}")
    if source.roman and target.scheme == INFORMAL:
        raise TransliterationError("romanisation to 'informal' is not supported: give a Brahmic source")
    return source, target
