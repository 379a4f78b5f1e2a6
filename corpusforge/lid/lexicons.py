"""Built-in word lexicons for language ID and token tagging, built once per process and shared
by every stage there: wordfreq's list of a language (words in its script only) and, for
romanised Hindi, wordfreq's Devanagari list romanised with the project's informal romaniser;
and a user's word-count file (:func:`load_lexicon`)."""

from __future__ import annotations

import functools
from pathlib import Path

import regex

from corpusforge.languages import alpha2, script_of
from corpusforge.lid.romanized import DEVANAGARI, Lexicon, romanized_lexicon, wordfreq_lexicon
from corpusforge.translit.romanize import InformalRomanizer

__all__ = ["ROMANIZED", "builtin_lexicon", "lexicon_versions", "load_lexicon"]

# Romanised languages the stage can detect, with the language their text mixes with.
ROMANIZED = {"hin_Latn": "eng_Latn"}


@functools.cache
def builtin_lexicon(code: str) -> Lexicon | None:
    """The built-in word lexicon of a canonical code, built on first use in a process and shared
    by every stage there (None when there is none): ``hin_Latn`` is wordfreq's Devanagari Hindi
    list romanised (:func:`~corpusforge.lid.romanized.romanized_lexicon` with
    :class:`~corpusforge.translit.romanize.InformalRomanizer`, ~4 s, ~46k spellings); any other
    code is wordfreq's list of its language, words in its script only (~1 s for English)."""
    import wordfreq

    if code == "hin_Latn":
        return romanized_lexicon(builtin_lexicon("hin_Deva") or {}, InformalRomanizer(language="hin").word)
    short = alpha2(code)
    if short is None or short not in wordfreq.available_languages(wordlist="best"):
        return None
    script = script_of(code)
    pattern = (
        DEVANAGARI
        if script == "Deva"
        else regex.compile(rf"^[\p{{{script}}}\p{{M}}'’]+$")
        if script not in ("Hans", "Hant", "Jpan", "Hang")
        else None
    )
    try:
        return wordfreq_lexicon(short, script=pattern) or None
    except (ValueError, LookupError):
        return None


def lexicon_versions() -> str:
    """What the built-in lexicons are made of, for shard metadata (they change with these)."""
    from importlib.metadata import version

    from corpusforge.translit.romanize import RULES_VERSION

    return f"wordfreq-{version('wordfreq')}, informal romaniser rules {RULES_VERSION}"


def load_lexicon(path: str | Path) -> dict[str, float]:
    """Relative frequencies of the words in a lexicon file (one word per line, optionally followed by whitespace and a count; a word without a count counts 1; words case-folded)."""
    counts: dict[str, float] = {}
    with open(path, encoding="utf-8") as f:
        for line_number, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) > 2:
                raise ValueError(f"{path}:{line_number}: expected 'word' or 'word count', got {line.strip()!r}")
            try:
                count = float(parts[1]) if len(parts) == 2 else 1.0
            except ValueError as exc:
                raise ValueError(f"{path}:{line_number}: count {parts[1]!r} is not a number") from exc
            word = parts[0].casefold()
            counts[word] = counts.get(word, 0.0) + count
    total = sum(counts.values())
    if not total:
        raise ValueError(f"lexicon {path} has no words")
    return {word: count / total for word, count in counts.items()}
