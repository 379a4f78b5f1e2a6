"""The Brahmic and Perso-Arabic transliteration engine: :class:`Transliterator`, built on
indic-transliteration (``sanscript``) with the table patches of :mod:`corpusforge.translit.schemes`,
aksharamukha for Urdu (:mod:`corpusforge.translit.perso_arabic`) and the informal romaniser of
:mod:`corpusforge.translit.romanize`.

What a conversion changes: only maximal runs of characters of the source script (Unicode
``Script`` property, so the script's own digits too; ZWJ/ZWNJ inside a run and dandas right
after one belong to it). Spaces, other punctuation, ASCII digits and words in other scripts
keep every byte. Outputs are NFC.

Where this differs from calling ``sanscript.transliterate`` on a sentence:
- Every run is converted once per process and then looked up (natural text repeats words);
  the scheme maps are built once per :class:`Transliterator`.
- Output contains no leftover source letters: Devanagari letters a target cannot write are
  first replaced by their nearest letter (ऑ -> ओ for IAST, nukta dropped for Telugu,
  ऋ -> रि for Gurmukhi; see :data:`~corpusforge.translit.schemes.APPROXIMATIONS`). Other
  Brahmic sources reach non-Devanagari targets through Devanagari so the same table applies.
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
- Urdu goes through Devanagari both ways (:mod:`corpusforge.translit.perso_arabic` says what
  unvocalised Urdu can and cannot give).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import overload

from indic_transliteration.sanscript import SchemeMap

from corpusforge.translit import romanize
from corpusforge.translit.perso_arabic import DevanagariToUrdu, UrduToDevanagari
from corpusforge.translit.schemes import (
    DEVANAGARI,
    INFORMAL,
    URDU,
    UROMAN,
    TransliterationError,
    _convert,
    approximator,
    check_pair,
    decompose_nukta,
    iso_split,
    resolve,
    run_pattern,
    scheme_map,
    source_normalizer,
)


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
        if self.target.scheme == UROMAN or self.source.schemeless:
            raise TransliterationError(f"{UROMAN!r} is written by corpusforge.translit.UromanTransliterator (or transliterator())")
        self.language = language or self.source.language
        self.cache_size = cache_size
        self._cache: dict[str, str] = {}
        self._runs = run_pattern(self.source.scheme)
        # Urdu reaches every target through Devanagari, and every source reaches Urdu through it.
        self._from_urdu = UrduToDevanagari() if self.source.scheme == URDU else None
        self._to_urdu = DevanagariToUrdu() if self.target.scheme == URDU else None
        src = DEVANAGARI if self._from_urdu is not None else self.source.scheme
        tgt = DEVANAGARI if self._to_urdu is not None else self.target.scheme
        brahmic_other = self.source.brahmic and src != DEVANAGARI
        self._normalize = source_normalizer(self.source.script) if brahmic_other else None
        # Roman sources and Brahmic -> Devanagari convert directly; every other Brahmic source
        # goes through Devanagari, where the approximations and the informal romaniser work.
        self._direct = scheme_map(src, tgt) if self.source.roman or (brahmic_other and tgt == DEVANAGARI) else None
        self._pivot = scheme_map(src, DEVANAGARI) if brahmic_other and self._direct is None else None
        self._romanizer = romanize.InformalRomanizer(language=self.language, script=self.source.script) if tgt == INFORMAL else None
        convert_from_deva = self._direct is None and self._romanizer is None and tgt != DEVANAGARI
        self._map = scheme_map(DEVANAGARI, tgt) if convert_from_deva else None
        self._prepare = approximator(tgt) if self._map is not None else decompose_nukta

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
        if self._from_urdu is not None:
            words = self._from_urdu.words(words)
        elif self._normalize is not None:
            words = [self._normalize(w) for w in words]
        if self._direct is not None:
            if self.source.scheme == "iso":  # ISO's ":" separates parts read one by one
                out = _nfc(_convert_parts([w.split(":") for w in words], self._direct, ""))
            else:
                out = _nfc(_convert_many(words, self._direct))
            return out if self._to_urdu is None else self._to_urdu.words(out)
        deva = _convert_many(words, self._pivot) if self._pivot is not None else words
        if self._map is None and self._romanizer is None:  # Devanagari is the target, or the step before Urdu
            deva = _nfc(deva)
            return deva if self._to_urdu is None else self._to_urdu.words(deva)
        deva = [self._prepare(w) for w in deva]
        if self._romanizer is not None:
            return [self._romanizer.word(w) for w in deva]
        if self.target.scheme == "iso":
            return _nfc(_convert_parts([iso_split(w) for w in deva], self._map, ":"))
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
