"""Romanisation of any script with uroman (Hermjakob et al. 2018, the ``uroman`` package): the tool
the cross-lingual alignment papers romanise 100+ languages with, so outputs stay comparable.

:class:`UromanTransliterator` gives, for a whole text, exactly what ``Uroman().romanize_string(text,
lcode=language)`` gives, at a fraction of the cost on natural text: the text is cut at whitespace
and each piece is romanised once per process and then looked up. uroman's rules look beyond a
piece in two ways, and the cache keeps both:
- rules over a piece and the whitespace after it (full-width ``：`` or ``！`` before a space
  absorbs the space): each piece is romanised with the whitespace on both sides of it, and the
  whitespace after it belongs to its output;
- scripts whose syllable rules look back across spaces to earlier letters (Thai, Lao, Khmer,
  Myanmar, Tibetan, Braille: ``ต้อง`` is ``tong`` or ``tng`` depending on earlier text): a text
  with any of their characters is romanised whole (cached whole).
A piece whose romanisation would join with the whitespace before it (an edge of uroman's lattice
across that boundary) makes its text romanised whole. Han characters are read one by one
(uroman's pinyin and kanji readings are per character), so a piece is also cut between two Han
characters, except near a Han numeral (uroman reads 一百二十 as one number and 百慕大 as a name,
looking up to three characters around it): Chinese and Japanese, written without spaces, reach
the cache too. ``tests/test_translit_uroman.py`` and
``benchmarks/translit_throughput.py`` check identity with the library on real text in many
scripts.

Cost: loading uroman's tables takes about 20 s and 100 MB, once per process (:func:`uroman_instance`);
uroman itself runs at roughly 18 k characters/s on one core, so texts whose pieces never repeat
cost that (see the benchmark's worst case).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Any, overload

import regex

from corpusforge.translit.schemes import UROMAN, Resolved, TransliterationError, check_pair, resolve, run_pattern

_WHITESPACE = regex.compile(r"(\s+)")
_HAN = regex.compile(r"\p{sc=Hani}")
# Scripts whose romanisation depends on letters before the previous space (see the docstring).
_WHOLE_TEXT = regex.compile(r"[\p{sc=Thai}\p{sc=Laoo}\p{sc=Khmr}\p{sc=Mymr}\p{sc=Tibt}\p{sc=Brai}]")


def uroman_version() -> str:
    return metadata.version("uroman")


@functools.cache
def uroman_instance() -> Any:
    """The process's one ``uroman.Uroman`` (its tables load once: ~20 s)."""
    try:
        import uroman
    except ImportError as exc:  # a declared dependency; say what to install if it is missing
        raise ImportError("target 'uroman' needs the uroman package: pip install 'uroman>=1.3,<2'") from exc
    return uroman.Uroman()


class UromanTransliterator:
    """Romanises text with uroman. ``language`` (ISO 639-3, e.g. ``rus``) selects uroman's
    language-specific rules. With ``source`` (a script or language code), only runs of that
    script change, each romanised on its own (mixed-script text keeps every other byte); without
    it, whole texts are romanised exactly as ``romanize_string`` does. Caches at most
    ``cache_size`` pieces, emptied when full."""

    def __init__(self, *, source: str | None = None, language: str | None = None, cache_size: int = 200_000):
        self.target = resolve(UROMAN)
        self.source: Resolved | None = None
        if source is not None:
            self.source = check_pair(resolve(source), self.target)[0]
        self.language = uroman_language(language or (self.source.language if self.source else None))
        self.cache_size = cache_size
        self._cache: dict[tuple, str | None] = {}
        self._runs = run_pattern(self.source.scheme) if self.source is not None else None
        self._load()

    def _load(self) -> None:
        """The process's uroman and what is read from it (not pickled: loaded again on unpickling)."""
        self._uroman = uroman_instance()
        self._edges = _edge_format()
        # num_props is a defaultdict that every lookup grows: only entries with properties are numerals
        self._han_cuts = _han_cutter(frozenset(c for c, props in self._uroman.num_props.items() if props))

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("_uroman", "_edges", "_han_cuts", "_cache")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._cache = {}
        self._load()

    def romanize(self, text: str) -> str:
        """``text`` through uroman itself, uncached: what the library gives."""
        return self._uroman.romanize_string(text, lcode=self.language)

    def word(self, word: str) -> str:
        """One piece romanised on its own (cached)."""
        key = ("word", word)
        out = self._cache.get(key)
        if out is None:
            out = self.romanize(word)
            self._store(key, out)
        return out

    def text(self, text: str) -> str:
        return self.texts([text])[0]

    @overload
    def texts(self, texts: Sequence[str]) -> list[str]: ...
    @overload
    def texts(self, texts: Sequence[str | None]) -> list[str | None]: ...
    def texts(self, texts: Sequence[str | None]) -> list[str] | list[str | None]:
        """Each text romanised (None stays None): whole texts, or with ``source`` its runs."""
        if self._runs is not None:
            out: list[str | None] = []
            for t in texts:
                if t is None:
                    out.append(None)
                    continue
                parts = self._runs.split(t)
                parts[1::2] = [self.word(w) for w in parts[1::2]]
                out.append("".join(parts))
            return out
        return [None if t is None else self._whole(t) for t in texts]

    def _store(self, key: tuple, value: str | None) -> None:
        if len(self._cache) >= self.cache_size:
            self._cache = {}
        self._cache[key] = value

    def _whole(self, text: str) -> str:
        """``romanize_string(text)``, from cached pieces where the text allows it."""
        if _WHOLE_TEXT.search(text):
            key = ("text", text)
            out = self._cache.get(key)
            if out is None:
                out = self.romanize(text)
                self._store(key, out)
            return out
        if not text:
            return self.romanize(text)
        parts = _WHITESPACE.split(text)  # piece, space, piece, ..., piece (first/last may be "")
        pieces = []
        for i in range(0, len(parts), 2):
            if not parts[i]:  # text starts or ends with whitespace
                if i == 0:
                    continue
                if i == len(parts) - 1:
                    if len(parts) == 3 and not parts[0]:  # all whitespace
                        return self.romanize(text)
                    continue
            left = parts[i - 1] if i else ""
            right = parts[i + 1] if i + 1 < len(parts) else ""
            out = self._piece(left, parts[i], right, i == 0 or (i == 2 and not parts[0]))
            if out is None:
                return self.romanize(text)
            pieces.append(out)
        return "".join(pieces)

    def _piece(self, left: str, piece: str, right: str, first: bool) -> str | None:
        """The romanisation of ``piece`` and the whitespace after it, read between ``left`` and
        ``right`` (the first piece also gives the whitespace before it); None when uroman joins
        the piece with the whitespace before it."""
        key = (left, piece, right, first)
        if key in self._cache:
            return self._cache[key]
        if _HAN.search(piece):
            subs = self._han_cuts(piece)
            if len(subs) > 1:
                outs = [
                    self._piece(left if k == 0 else "", sub, right if k == len(subs) - 1 else "", first or k > 0)
                    for k, sub in enumerate(subs)
                ]
                joined_subs = None if None in outs else "".join(o for o in outs if o is not None)
                self._store(key, joined_subs)
                return joined_subs
        edges = self._uroman.romanize_string(left + piece + right, lcode=self.language, rom_format=self._edges)
        n, out = len(left), []
        for edge in edges:
            if edge.start < n:
                if edge.end > n:
                    self._store(key, None)
                    return None
                if first:
                    out.append(edge.txt)
            else:
                out.append(edge.txt)
        joined = "".join(out)
        self._store(key, joined)
        return joined


_NUMERAL_REACH = 3  # uroman reads a Han numeral with up to this many characters around it (百慕 is 100mu, 百慕大 baimuda)


@functools.cache
def _han_cutter(numerals: frozenset[str]) -> Callable[[str], list[str]]:
    """A function that cuts a string between two adjacent Han characters, except within
    :data:`_NUMERAL_REACH` characters of a Han numeral."""
    han = regex.compile(r"\p{sc=Hani}")
    han_numerals = frozenset(c for c in numerals if han.match(c))

    def cut(piece: str) -> list[str]:
        near: set[int] = set()
        for i, c in enumerate(piece):
            if c in han_numerals:
                near.update(range(i - _NUMERAL_REACH + 1, i + _NUMERAL_REACH + 1))
        out, start = [], 0
        for i in range(1, len(piece)):
            if i not in near and han.match(piece[i - 1]) and han.match(piece[i]):
                out.append(piece[start:i])
                start = i
        out.append(piece[start:])
        return out

    return cut


@functools.cache
def _edge_format() -> Any:
    from uroman import RomFormat

    return RomFormat.EDGES


def uroman_language(code: str | None) -> str | None:
    """uroman's language code (ISO 639-3) for any language code (``ru``, ``rus_Cyrl``), with
    FLORES-200's individual languages read as the macrolanguage uroman's rules name (``pes`` ->
    ``fas``); None for a missing or unreadable code (uroman's rules for no language)."""
    if not code:
        return None
    from corpusforge.languages import LanguageCodeError, macrolanguage

    try:
        return macrolanguage(code)
    except (LanguageCodeError, LookupError):
        return None


def check_uroman() -> None:
    """Raise :class:`TransliterationError` when uroman is not installed (checked when a stage is built)."""
    try:
        metadata.version("uroman")
    except metadata.PackageNotFoundError as exc:
        raise TransliterationError("target 'uroman' needs the uroman package: pip install 'uroman>=1.3,<2'") from exc
