"""Transliteration between Brahmic scripts and romanisations, built on indic-transliteration
(``sanscript``), with informal romanisation from :mod:`corpusforge.transforms.romanize`.

Supported: Devanagari, Bengali, Gurmukhi, Gujarati, Oriya, Tamil, Telugu, Kannada, Malayalam
and Sinhala (named by sanscript scheme or ISO 15924 code, or by a language code such as
``hin_Deva``), the romanisations ISO 15919 (``iso``), IAST, ITRANS, Harvard-Kyoto (``hk``),
Velthuis, SLP1 and WX, and ``informal`` (target only). Anything else, Urdu's Perso-Arabic
script first of all, fails when the stage is built.

What a conversion changes: only maximal runs of characters of the source script (Unicode
``Script`` property, so the script's own digits too; ZWJ/ZWNJ inside a run and dandas right
after one belong to it). Spaces, other punctuation, ASCII digits and words in other scripts
keep every byte. Outputs are NFC.

Where this differs from calling ``sanscript.transliterate`` on a sentence:
- Every run is converted once per process and then looked up (natural text repeats words);
  the scheme maps are built once per :class:`Transliterator`.
- Output contains no leftover source letters: Devanagari letters a target cannot write are
  first replaced by their nearest letter (ऑ -> ओ for IAST, nukta dropped for Telugu,
  ऋ -> रि for Gurmukhi; see :data:`APPROXIMATIONS`). Other Brahmic sources reach non-Devanagari
  targets through Devanagari so the same table applies.
- Devanagari व is written ৱ in Bengali script (sanscript writes ব for both ब and व), so
  Devanagari -> Bengali -> Devanagari is exact; Bengali ব reads back as ब.
- ISO 15919 separates ambiguous letter sequences with ``:`` as the standard asks (क्ह ``k:ha``
  vs ख ``kha``, कइ ``ka:i`` vs कै ``kai``), so Devanagari -> ISO -> Devanagari is exact for
  words, except that ZWJ/ZWNJ (dropped in romanisations), Devanagari digits (read back as ASCII
  digits) and Marathi's vowel sign on a vowel letter (अॅ reads back as अऍ) do not survive.
- Round trips through a Brahmic script are exact where that script has every letter of the
  word; Bengali, Odia and others have no ऑ/ॉ/ॅ (लॉग -> লোগ -> लोग).
- Lossy targets stay lossy: Tamil has no aspirates or voiced stops, Gurmukhi no ष or ऋ, and
  ``informal`` merges many letters.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Literal, overload

import pyarrow as pa
import regex
from indic_transliteration import sanscript
from indic_transliteration.sanscript import SCHEMES, SchemeMap

from corpusforge.accounting import Tally
from corpusforge.languages import LanguageCodeError, canonical, language_of
from corpusforge.records import Split, reject_where, stable_id, with_columns
from corpusforge.schemas import conform, load_schema
from corpusforge.transforms import romanize
from corpusforge.transforms.base import Stage

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

_PERSO_ARABIC = (
    "indic-transliteration's 'urdu' scheme writes a vowel mark on every letter and leaves "
    "letters it cannot map in the source script, so its output is not usable"
)
UNSUPPORTED = {"Arab": _PERSO_ARABIC, "Aran": _PERSO_ARABIC}

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
    """What a user-written source or target names: the sanscript scheme (or ``informal``), its
    ISO 15924 script, and the language when a language code was given."""

    scheme: str
    script: str
    language: str | None = None

    @property
    def roman(self) -> bool:
        return self.script == "Latn"


def supported() -> str:
    return f"scripts {', '.join(BRAHMIC)} (or {', '.join(BRAHMIC.values())}), romanisations {', '.join(ROMAN)}, {INFORMAL} (target only)"


@functools.lru_cache(maxsize=256)
def resolve(code: str) -> Resolved:
    """Read a scheme name (``iso``), ISO 15924 code (``Deva``) or language code (``hi``,
    ``hin_Deva``) as a :class:`Resolved`; unsupported or ambiguous names raise
    :class:`TransliterationError` with what to write instead."""
    raw = code.strip()
    low = raw.lower()
    if low in _SCRIPT_OF_SCHEME:
        return Resolved(low, _SCRIPT_OF_SCHEME[low])
    if low in ROMAN or low == INFORMAL:
        return Resolved(low, "Latn")
    if low == "urdu":
        raise TransliterationError(f"scheme 'urdu' is not supported: {_PERSO_ARABIC}")
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
    if script in UNSUPPORTED:
        raise TransliterationError(f"{code!r} is written in script {script}, which is not supported: {UNSUPPORTED[script]}")
    if script == "Latn":
        raise TransliterationError(f"{code!r} names Latin script, not a romanisation: write one of {', '.join(ROMAN)} or {INFORMAL}")
    raise TransliterationError(f"{code!r} is written in script {script}, which is not supported; supported: {supported()}")


@functools.cache
def _script_chars(script: str) -> str:
    """A ``re`` character class body for the BMP code points of one Unicode script (read from
    ``regex``'s script property once; the stdlib ``re`` engine then does the scanning)."""
    prop = regex.compile(r"[\p{sc=Latn}\p{sc=Zinh}]" if script == "Latn" else rf"\p{{sc={script}}}")
    points = [cp for cp in range(0x10000) if prop.match(chr(cp))]
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
    ``:`` in ISO) when a letter follows them."""
    if scheme in _SCRIPT_OF_SCHEME:
        body = _script_chars(_SCRIPT_OF_SCHEME[scheme])
        return re.compile(f"([{body}]+(?:[\u200c\u200d]+[{body}]+)*[\u0964\u0965]*)")
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


def _decompose_nukta(word: str) -> str:
    return word.translate(romanize.NUKTA_TABLE)


def _iso_split(word: str) -> list[str]:
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
    if source.scheme == INFORMAL:
        raise TransliterationError("'informal' is a target only: informal spellings cannot be read back")
    if source.scheme == target.scheme:
        raise TransliterationError(f"source and target are both {source.scheme}")
    if source.roman and target.scheme == INFORMAL:
        raise TransliterationError("romanisation to 'informal' is not supported: give a Brahmic source")
    return source, target


class Transliterator:
    """Converts text from one source to one target (anything :func:`resolve` reads), word by
    word with a per-word cache. ``language`` (for ``informal``) chooses schwa deletion.

    Invariant: only runs of the source script change (:func:`run_pattern`). Cost: a regex
    split and one dict lookup per word once the word has been seen; the words a call has not
    seen go through sanscript together, in one call per step (sanscript's per-call overhead is
    paid once per batch, not per word). The cache holds at most ``cache_size`` words and is
    emptied when full.
    """

    def __init__(self, *, source: str, target: str, language: str | None = None, cache_size: int = 200_000):
        self.source, self.target = check_pair(resolve(source), resolve(target))
        self.language = language or self.source.language
        self.cache_size = cache_size
        self._cache: dict[str, str] = {}
        self._runs = run_pattern(self.source.scheme)
        src, tgt = self.source.scheme, self.target.scheme
        brahmic_other = not self.source.roman and src != DEVANAGARI
        self._normalize = source_normalizer(self.source.script) if brahmic_other else None
        # Roman sources and Brahmic -> Devanagari convert directly; every other Brahmic source
        # goes through Devanagari, where the approximations and the informal romaniser work.
        self._direct = scheme_map(src, tgt) if self.source.roman or (brahmic_other and tgt == DEVANAGARI) else None
        self._pivot = scheme_map(src, DEVANAGARI) if brahmic_other and self._direct is None else None
        self._romanizer = romanize.InformalRomanizer(language=self.language, script=self.source.script) if tgt == INFORMAL else None
        self._map = scheme_map(DEVANAGARI, tgt) if self._direct is None and self._romanizer is None else None
        self._prepare = approximator(tgt) if self._map is not None else _decompose_nukta

    def word(self, word: str) -> str:
        """One run of source-script characters, converted (cached)."""
        out = self._cache.get(word)
        return self._learn([word])[0] if out is None else out

    def text(self, text: str) -> str:
        """``text`` with every source-script run converted; all other characters unchanged."""
        return self.texts([text])[0]

    @overload
    def texts(self, texts: Sequence[str]) -> list[str]: ...
    @overload
    def texts(self, texts: Sequence[str | None]) -> list[str | None]: ...
    def texts(self, texts: Sequence[str | None]) -> list[str] | list[str | None]:
        """:meth:`text` for many texts (None stays None); new words are converted together."""
        split, cache = self._runs.split, self._cache
        pieces = [None if t is None else split(t) for t in texts]
        new = list({w: None for parts in pieces if parts for w in parts[1::2] if w not in cache})
        fresh = dict(zip(new, self._learn(new))) if new else {}  # `cache` may be emptied: look here first
        out: list[str | None] = []
        for parts in pieces:
            if parts is None:
                out.append(None)
                continue
            words = parts[1::2]
            parts[1::2] = [fresh[w] if w in fresh else cache[w] for w in words] if fresh else [cache[w] for w in words]
            out.append("".join(parts))
        return out

    def _learn(self, words: list[str]) -> list[str]:
        """Convert ``words`` and cache them (emptying a full cache first)."""
        if len(self._cache) + len(words) > self.cache_size:
            self._cache = {}
        converted = self._convert(words)
        self._cache.update(zip(words[: self.cache_size], converted))
        return converted

    def _convert(self, words: list[str]) -> list[str]:
        if self._normalize is not None:
            words = [self._normalize(w) for w in words]
        if self._direct is not None:
            if self.source.scheme == "iso":  # ISO's ":" separates parts read one by one
                return _nfc(_convert_parts([w.split(":") for w in words], self._direct, ""))
            return _nfc(_convert_many(words, self._direct))
        deva = _convert_many(words, self._pivot) if self._pivot is not None else words
        deva = [self._prepare(w) for w in deva]
        if self._romanizer is not None:
            return [self._romanizer.word(w) for w in deva]
        if self.target.scheme == "iso":
            return _nfc(_convert_parts([_iso_split(w) for w in deva], self._map, ":"))
        return _nfc(_convert_many(deva, self._map))


def _convert_many(words: list[str], mapping: SchemeMap) -> list[str]:
    """One sanscript call for many words, joined by newlines (which every scheme passes
    through unchanged and which end a word as the end of the text does)."""
    out = _convert("\n".join(words), mapping).split("\n")
    if len(out) != len(words):  # never seen; stay correct if a scheme ever maps newlines
        return [_convert(w, mapping) for w in words]
    return out


def _convert_parts(groups: list[list[str]], mapping: SchemeMap, joiner: str) -> list[str]:
    flat = _convert_many([p for parts in groups for p in parts], mapping)
    out, at = [], 0
    for parts in groups:
        out.append(joiner.join(flat[at : at + len(parts)]))
        at += len(parts)
    return out


def _nfc(words: list[str]) -> list[str]:
    return [unicodedata.normalize("NFC", w) for w in words]


Mode = Literal["segment", "script", "tag"]
COPY = "copy"  # a row already in the target script


def _convert_rows(texts: list[str | None], engines: list[Transliterator | str | None]) -> list[str | None]:
    """Each text through its row's engine (one batch call per engine); COPY rows unchanged,
    rows without an engine null."""
    outputs = [t if e is COPY else None for t, e in zip(texts, engines)]
    groups: dict[int, tuple[Transliterator, list[int]]] = {}
    for i, engine in enumerate(engines):
        if isinstance(engine, Transliterator) and texts[i] is not None:
            groups.setdefault(id(engine), (engine, []))[1].append(i)
    for engine, rows in groups.values():
        for i, out in zip(rows, engine.texts([texts[i] for i in rows])):
            outputs[i] = out
    return outputs


class TransliterateStage(Stage):
    """Adds a transliterated copy of a text column (or converts it in place, keeping the
    original in another column).

    Modes:
    - ``segment``: a row is converted when its script (``script_column`` if the batch has it,
      else the script of ``lang_column``) is a supported source; with an explicit ``source``,
      only rows in that source's script. Other rows get null (in place: stay as they are).
      Rows already in the target script are copied.
    - ``script``: every row; only runs in the ``source`` script change (mixed-script text keeps
      every other byte).
    - ``tag``: only tokens of ``tokens_column`` (``list<struct<token, tag>>``, as token-level LID
      writes it) whose tag names the language ``tag`` (script ignored: ``hi`` matches
      ``hin_Deva`` and ``hin_Latn``) change; the source is the tag's script unless ``source``
      is given. A row whose tokens cannot be found in order in its text is rejected
      (``tokens_misaligned``).

    ``informal`` romanisation deletes inherent vowels for the row's language (segment mode and
    script mode with a script-only ``source``), the ``source`` language, or the ``tag``.
    Bad ``source``/``target``/``tag`` values raise :class:`TransliterationError` here.
    """

    name = "translit"
    version = "1"
    kinds: tuple[str, ...] = ("segment", "bitext")

    def __init__(
        self,
        *,
        target: str,
        source: str = "auto",
        mode: Mode = "segment",
        tag: str | None = None,
        text_column: str = "text",
        lang_column: str = "lang",
        script_column: str = "script",
        tokens_column: str = "tokens",
        in_place: bool = False,
        output_column: str = "text_translit",
        original_column: str = "text_original",
        cache_size: int = 200_000,
    ):
        if mode not in ("segment", "script", "tag"):
            raise TransliterationError(f"mode must be segment, script or tag, not {mode!r}")
        self.target = resolve(target)
        self.source = None if source == "auto" else resolve(source)
        if self.source is not None:
            check_pair(self.source, self.target)
        self.mode = mode
        self.tag = tag
        self._tag_language = None
        if mode == "script" and self.source is None:
            raise TransliterationError("mode 'script' converts tokens of one script: give source (e.g. source='Deva')")
        if mode == "tag":
            if not tag:
                raise TransliterationError("mode 'tag' needs tag, the language whose tokens change (e.g. tag='hi')")
            try:
                self._tag_language = language_of(canonical(tag))
            except (LanguageCodeError, LookupError) as exc:
                raise TransliterationError(f"tag {tag!r} is not a language code: {exc}") from exc
            if self.source is None:
                self.source = check_pair(resolve(tag), self.target)[0]  # raises for unsupported scripts (tag 'ur')
        elif tag is not None:
            raise TransliterationError("tag is only used in mode 'tag'")
        if in_place and original_column == text_column:
            raise TransliterationError("original_column must differ from text_column")
        if not in_place and output_column == text_column:
            raise TransliterationError("output_column must differ from text_column (or set in_place)")
        self.source_spec = source
        # Bitext has no ``text``: a stage on src_text/tgt_text works on pairs, any other on segments.
        self.kinds = ("bitext",) if text_column in ("src_text", "tgt_text") else ("segment",)
        self.text_column, self.lang_column, self.script_column = text_column, lang_column, script_column
        self.tokens_column = tokens_column
        self.in_place, self.output_column, self.original_column = in_place, output_column, original_column
        self.cache_size = cache_size
        self._engines: dict[tuple[str, str | None], Transliterator] = {}

    def setup(self) -> None:
        if self.source is not None:
            self._engine(self.source.scheme, self.source.language or self._tag_language)

    def _engine(self, scheme: str, language: str | None) -> Transliterator:
        if self.target.scheme != INFORMAL or language not in romanize.SCHWA_LANGUAGES:
            language = None
        key = (scheme, language)
        engine = self._engines.get(key)
        if engine is None:
            engine = Transliterator(source=scheme, target=self.target.scheme, language=language, cache_size=self.cache_size)
            self._engines[key] = engine
        return engine

    def output_fields(self, kind: str) -> list[pa.Field]:
        if self.in_place:
            return [pa.field(self.original_column, pa.string(), metadata={"doc": f"{self.text_column} before transliteration."})]
        doc = f"{self.text_column} transliterated to {self.target.scheme}; null when the row was not converted."
        return [pa.field(self.output_column, pa.string(), metadata={"doc": doc})]

    def describe(self) -> dict:
        return {
            "name": self.name,
            "version": self.version,
            "source": self.source_spec,
            "target": self.target.scheme,
            "mode": self.mode,
            "tag": self.tag,
            "indic_transliteration": metadata.version("indic-transliteration"),
            "informal_rules": romanize.RULES_VERSION,
        }

    def process(self, batch: pa.RecordBatch) -> Split:
        texts = batch.column(self.text_column).to_pylist()
        misaligned: list[str | None] = []
        if self.mode == "tag":
            outputs, misaligned = self._tagged(batch, texts)
        else:
            outputs = _convert_rows(texts, self._row_engines(batch))
        if self.in_place:
            original = batch.column(self.text_column)
            fields = [batch.schema.field(self.text_column), self.output_fields("")[0]]
            arrays = [pa.array([t if o is None else o for o, t in zip(outputs, texts)], original.type), original]
        else:
            fields, arrays = self.output_fields(""), [pa.array(outputs, pa.string())]
        out = with_columns(batch, fields, arrays)
        if not any(misaligned):
            return Split.keep_all(out)
        kind = "bitext" if "src_text" in batch.schema.names else "segment"
        mask = [detail is not None for detail in misaligned]
        return reject_where(
            out, mask, stage=self.name, kind=kind, reason="tokens_misaligned", detail=misaligned, text_column=self.text_column
        )

    @staticmethod
    def _column(batch: pa.RecordBatch, name: str) -> list:
        return batch.column(name).to_pylist() if name in batch.schema.names else [None] * batch.num_rows

    def _fixed_engine(self, row_lang: str | None) -> Transliterator:
        """The engine for an explicit source; informal romanisation follows the source's
        language, else the tag's, else the row's."""
        assert self.source is not None  # used only in modes that need a source (checked in __init__)
        return self._engine(self.source.scheme, self.source.language or self._tag_language or _language(row_lang))

    def _row_engines(self, batch: pa.RecordBatch) -> list[Transliterator | str | None]:
        """Per row: the engine that converts it, :data:`COPY` (already in the target script) or
        None (not converted). Decided once per distinct (lang, script) in the batch."""
        names = batch.schema.names
        if self.mode == "segment" and self.source is None and self.lang_column not in names and self.script_column not in names:
            raise ValueError(f"source='auto' needs a {self.lang_column!r} or {self.script_column!r} column; the batch has {names}")
        langs, scripts = self._column(batch, self.lang_column), self._column(batch, self.script_column)
        plan: dict[tuple, Transliterator | str | None] = {}
        engines = []
        for key in zip(langs, scripts):
            if key not in plan:
                plan[key] = self._decide(*key)
            engines.append(plan[key])
        return engines

    def _decide(self, lang: str | None, script: str | None) -> Transliterator | str | None:
        if self.mode == "script":
            return self._fixed_engine(lang)
        row_script = script if script and script not in ("Zyyy", "Zinh", "Zzzz") else _script(lang)
        if self.source is not None:
            return self._fixed_engine(lang) if row_script in (None, self.source.script) else None
        if row_script == self.target.script and not self.target.roman:
            return COPY
        if row_script in BRAHMIC:
            return self._engine(BRAHMIC[row_script], _language(lang))
        return None

    def _tagged(self, batch: pa.RecordBatch, texts: list[str | None]) -> tuple[list[str | None], list[str | None]]:
        """Outputs, and per row None or why its tokens do not fit its text."""
        if self.tokens_column not in batch.schema.names:
            raise ValueError(
                f"mode 'tag' needs a {self.tokens_column!r} column (list<struct<token, tag>>); the batch has {batch.schema.names}"
            )
        column = batch.column(self.tokens_column)
        offsets = column.offsets.to_pylist()
        flat = column.flatten()
        tokens, tags = flat.field("token").to_pylist(), flat.field("tag").to_pylist()
        valid = column.is_valid().to_pylist()
        matches = functools.lru_cache(maxsize=1024)(self._tag_matches)
        # Pass 1: cut each text into kept pieces and tagged tokens (ints: index into `chosen`).
        rows: list[list[str | int] | None] = []
        chosen: list[str] = []
        problems: list[str | None] = []
        for row, text in enumerate(texts):
            pieces: list[str | int] = []
            cursor, misaligned = 0, None
            if text is not None and valid[row]:
                for k in range(offsets[row], offsets[row + 1]):
                    token = tokens[k] or ""
                    at = text.find(token, cursor)
                    if at < 0:
                        misaligned = token
                        break
                    if matches(tags[k]):
                        pieces += [text[cursor:at], len(chosen)]
                        chosen.append(token)
                        cursor = at + len(token)
            problems.append(None if misaligned is None else f"token {misaligned[:80]!r} not found in order in {self.text_column}")
            if text is None or misaligned is not None:
                rows.append(None)
                continue
            pieces.append(text[cursor:])
            rows.append(pieces)
        # Pass 2: convert the tagged tokens together, then reassemble.
        converted = self._fixed_engine(None).texts(chosen) if chosen else []
        outputs = [None if p is None else "".join(converted[x] if isinstance(x, int) else x for x in p) for p in rows]
        return outputs, problems

    def _tag_matches(self, tag: str | None) -> bool:
        if not tag:
            return False
        if tag == self.tag:
            return True
        return _language(tag) == self._tag_language


@functools.lru_cache(maxsize=4096)
def _canonical(code: str | None) -> str | None:
    """``canonical(code)``, or None for a missing or unreadable code (such rows are left alone)."""
    if not code:
        return None
    try:
        return canonical(code)
    except (LanguageCodeError, LookupError):
        return None


def _language(code: str | None) -> str | None:
    full = _canonical(code)
    return full.split("_", 1)[0] if full else None


def _script(code: str | None) -> str | None:
    full = _canonical(code)
    return full.split("_", 1)[1] if full else None


class TransliterationPairs(Stage):
    """Turns transliterated segments into ``bitext`` pairs (original, transliteration) with
    ``origin="transliteration"`` and ``source_id`` = the segment's id, for alignment training.

    Its kept rows are new records: count them as ``created`` (:meth:`tally`), not ``out``.
    Rows without a transliteration (null) or whose transliteration equals the original make no
    pair. Ids are ``stable_id(segment id, "transliteration", target)``.
    """

    name = "translit_pairs"
    version = "1"
    kinds = ("segment",)
    derives = "bitext"

    def __init__(
        self,
        *,
        target: str,
        original_column: str = "text",
        transliterated_column: str = "text_translit",
        lang_column: str = "lang",
    ):
        self.target = resolve(target)
        self.original_column, self.transliterated_column, self.lang_column = original_column, transliterated_column, lang_column
        self.requires = (transliterated_column,)

    def process(self, batch: pa.RecordBatch) -> Split:
        names = batch.schema.names
        for column in (self.original_column, self.transliterated_column):
            if column not in names:
                raise ValueError(f"{self.name} needs column {column!r}; the batch has {names}")
        originals = batch.column(self.original_column).to_pylist()
        converted = batch.column(self.transliterated_column).to_pylist()
        langs = TransliterateStage._column(batch, self.lang_column)
        ids, sources = batch.column("id").to_pylist(), batch.column("source").to_pylist()
        rows = []
        for rid, source, original, out, lang in zip(ids, sources, originals, converted, langs):
            if out is None or original is None or out == original:
                continue
            language = _language(lang)
            rows.append(
                {
                    "id": stable_id(rid, "transliteration", self.target.scheme),
                    "source": source,
                    "src_text": original,
                    "tgt_text": out,
                    "src_lang": _canonical(lang),
                    "tgt_lang": f"{language}_{self.target.script}" if language else None,
                    "origin": "transliteration",
                    "source_id": rid,
                    "meta": [("scheme", self.target.scheme)],
                }
            )
        schema = load_schema("bitext")
        pairs = conform(pa.Table.from_pylist(rows, schema=schema), schema).to_batches()
        return Split.keep_all(pairs[0] if pairs else pa.RecordBatch.from_pylist([], schema=schema))

    def tally(self, split: Split) -> Tally:
        """Row counts for the run manifest: every pair is a ``created`` row."""
        return Tally.of_rows(self.name, "created", split.kept)
