"""Mention detection: where entities (or dictionary words) occur in a text.

Three sources, one result type (:class:`Mention`, offsets in code points of the text searched):

1. :func:`parse_wikilinks`: wikitext links ``[[Title]]``, ``[[Title|anchor]]`` and link trails
   (``[[India]]n`` reads "Indian"), as EntityCS takes entities from English Wikipedia.
2. :func:`given_mentions`: spans supplied with the input, checked.
3. :class:`Gazetteer`: every label and alias of a lexicon in the source languages, matched with
   an Aho-Corasick automaton (pyahocorasick): leftmost-longest, non-overlapping, on word
   boundaries in scripts that separate words, under a case policy.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

import ahocorasick
import regex

CasePolicy = Literal["sensitive", "insensitive", "smart"]
CASE_POLICIES = ("sensitive", "insensitive", "smart")


class MentionError(ValueError):
    """Mentions given with the input that cannot be used (out of range, overlapping, unknown)."""


@dataclass(frozen=True)
class Mention:
    """``text[start:end]`` (code points) mentions ``key`` (an entity id or dictionary headword)."""

    start: int
    end: int
    key: str
    surface: str


# --- word boundaries -----------------------------------------------------------------------

# Scripts written without spaces between words: a match inside a run of them needs no boundary.
_UNSPACED = regex.compile(
    r"[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Thai}\p{sc=Lao}\p{sc=Khmer}\p{sc=Myanmar}"
    r"\p{sc=Tibetan}\p{sc=Javanese}\p{sc=Balinese}\p{sc=Yi}\p{sc=Tai_Tham}\p{sc=New_Tai_Lue}]"
)
_WORD = regex.compile(r"[\p{L}\p{M}\p{Nd}\u200c\u200d]")
_NOT_WORD, _SPACED, _UNSPACED_WORD = 0, 1, 2
_kinds: dict[str, int] = {}


def _kind(char: str) -> int:
    kind = _kinds.get(char)
    if kind is None:
        kind = _NOT_WORD if not _WORD.match(char) else _UNSPACED_WORD if _UNSPACED.match(char) else _SPACED
        _kinds[char] = kind
    return kind


def is_boundary(text: str, i: int) -> bool:
    """Whether a mention may start or end at code point ``i``: the text's ends, next to a
    non-word character, or next to a letter of a script without spaces (Han, Thai, ...).
    Between two letters of a spaced script (Latin, Devanagari, Arabic, Hangul) it may not."""
    if i <= 0 or i >= len(text):
        return True
    return _kind(text[i - 1]) != _SPACED or _kind(text[i]) != _SPACED


# --- case ------------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Lower case with the length kept in code points (so offsets carry over): characters whose
    lower case is longer (``İ``) stay as they are."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c if len(low := c.lower()) != 1 else low for c in text)


def _is_acronym(surface: str) -> bool:
    letters = [c for c in surface if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


# --- gazetteer -------------------------------------------------------------------------------


def check_options(case: str, min_length: int) -> None:
    """ValueError unless ``case`` is a case policy and ``min_length`` is at least 1."""
    if case not in CASE_POLICIES:
        raise ValueError(f"case must be one of {', '.join(CASE_POLICIES)}, got {case!r}")
    if min_length < 1:
        raise ValueError(f"min_length must be at least 1, got {min_length}")


class Gazetteer:
    """Finds surface forms (labels, aliases, dictionary headwords) in text.

    ``forms`` are ``(surface, key, rank)``; a surface form shared by several keys goes to the
    highest rank, then the smallest key. Case policies: ``sensitive`` matches exactly;
    ``insensitive`` matches lower-cased text against lower-cased forms; ``smart`` does the same
    except that all-capital forms (acronyms such as ``US``) must match exactly, so "us" is not
    the United States. Forms shorter than ``min_length`` code points are left out.

    Matching: all matches from the automaton (``Automaton.iter``; its ``iter_long`` is not used
    because it misses matches, pyahocorasick issues #133/#185), those not on word boundaries
    (:func:`is_boundary`) dropped, then leftmost-longest without overlaps. Cost: building is
    ~1-2 µs per form; matching is linear in the text plus the matches found.
    """

    def __init__(self, forms: Iterable[tuple[str, str, int]], *, case: CasePolicy = "sensitive", min_length: int = 2):
        check_options(case, min_length)
        self.case = case
        best: dict[str, tuple[int, str]] = {}
        for surface, key, rank in forms:
            if len(surface) >= min_length and not surface.isspace():
                old = best.get(surface)
                if old is None or (-rank, key) < (-old[0], old[1]):
                    best[surface] = (rank, key)
        by_needle: dict[str, list[tuple[int, str, str, bool]]] = {}
        for surface, (rank, key) in best.items():
            needle = surface if case == "sensitive" else fold(surface)
            exact = case == "sensitive" or (case == "smart" and _is_acronym(surface))
            by_needle.setdefault(needle, []).append((-rank, key, surface, exact))
        self._automaton = ahocorasick.Automaton()
        for needle, options in by_needle.items():
            options.sort()
            self._automaton.add_word(needle, (len(needle), tuple((key, surface, exact) for _, key, surface, exact in options)))
        self.size = len(best)
        if self.size:
            self._automaton.make_automaton()

    @classmethod
    def from_lexicon(cls, lexicon, *, languages: Iterable[str] | None, case: CasePolicy = "sensitive", min_length: int = 2) -> Gazetteer:
        """Every label and alias of ``lexicon`` (an :class:`~corpusforge.codeswitch.lexicon.EntityLexicon`)
        in ``languages`` (canonical codes; None = all)."""
        return cls(lexicon.forms(None if languages is None else list(languages)), case=case, min_length=min_length)

    def __len__(self) -> int:
        return self.size

    def lookup(self, surface: str) -> str | None:
        """The key a whole surface form maps to under the case policy, else None."""
        if not self.size:
            return None
        needle = surface if self.case == "sensitive" else fold(surface)
        found = self._automaton.get(needle, None)
        return None if found is None else self._pick(found[1], surface)

    @staticmethod
    def _pick(options: tuple[tuple[str, str, bool], ...], found: str) -> str | None:
        for key, surface, exact in options:
            if not exact or surface == found:
                return key
        return None

    def find(self, text: str) -> list[Mention]:
        """Leftmost-longest, non-overlapping mentions in ``text`` (offsets in code points)."""
        if not self.size or not text:
            return []
        haystack = text if self.case == "sensitive" else fold(text)
        candidates = []
        for end, (length, options) in self._automaton.iter(haystack):
            start = end - length + 1
            if is_boundary(text, start) and is_boundary(text, end + 1):
                candidates.append((start, -length, options))
        if not candidates:
            return []
        candidates.sort(key=lambda c: (c[0], c[1]))
        mentions: list[Mention] = []
        last = 0
        for start, negative, options in candidates:
            end = start - negative
            if start < last:
                continue
            surface = text[start:end]
            key = self._pick(options, surface)
            if key is not None:
                mentions.append(Mention(start, end, key, surface))
                last = end
        return mentions


# --- wikitext ----------------------------------------------------------------------------------

# [[Title]], [[Title|anchor]], then a link trail of lower-case letters (English Wikipedia's).
_WIKILINK = re.compile(r"\[\[([^\[\]|\n]+)(?:\|([^\[\]\n]*))?\]\]([a-z]*)")
_NAMESPACED = re.compile(r"^\s*:?\s*[A-Za-z][\w -]*:")


def parse_wikilinks(wikitext: str, resolve: Callable[[str], str | None]) -> tuple[str, list[Mention]]:
    """The text a reader sees (links replaced by their anchors) and the mentions of linked
    entities in it. ``resolve`` maps a link title to a key (an entity id) or None: links it
    cannot resolve stay as plain anchor text. Links with a namespace (``[[Category:X]]``,
    ``[[File:x.jpg|...]]``, interlanguage ``[[hi:भारत]]``) are not prose and are removed. Other
    markup (templates, bold) is expected to be stripped before; it passes through unchanged."""
    out: list[str] = []
    mentions: list[Mention] = []
    length = 0
    position = 0
    for match in _WIKILINK.finditer(wikitext):
        before = wikitext[position : match.start()]
        out.append(before)
        length += len(before)
        position = match.end()
        title, anchor, trail = match.group(1), match.group(2), match.group(3)
        if _NAMESPACED.match(title):
            continue
        visible = (anchor if anchor else title.strip()) + trail
        key = resolve(title)
        if key is not None and visible:
            mentions.append(Mention(length, length + len(visible), key, visible))
        out.append(visible)
        length += len(visible)
    out.append(wikitext[position:])
    return "".join(out), mentions


def given_mentions(text: str, spans: Iterable[dict], resolve: Callable[[str], str | None] | None = None) -> list[Mention]:
    """Mentions from spans supplied with the input (``{"start", "end", "entity_id"}``, code
    points of ``text``), sorted. A span without an entity id is looked up by its text through
    ``resolve``. Raises :class:`MentionError` for spans out of range, empty, overlapping, or
    whose entity cannot be found."""
    mentions = []
    for span in spans:
        if not isinstance(span, dict):
            raise MentionError(f"a given mention must be a {{start, end, entity_id}} struct, got {span!r}")
        start, end, key = span.get("start"), span.get("end"), span.get("entity_id")
        if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end <= len(text):
            raise MentionError(f"span ({start}, {end}) is not inside the text of {len(text)} code points")
        surface = text[start:end]
        if key is None and resolve is not None:
            key = resolve(surface)
        if key is None:
            raise MentionError(f"span ({start}, {end}) {surface!r} has no entity id and none is known for its text")
        mentions.append(Mention(start, end, key, surface))
    mentions.sort(key=lambda m: m.start)
    for before, after in zip(mentions, mentions[1:]):
        if after.start < before.end:
            raise MentionError(f"spans ({before.start}, {before.end}) and ({after.start}, {after.end}) overlap")
    return mentions
