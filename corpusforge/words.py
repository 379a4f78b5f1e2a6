"""Word tokens for near-dedup and quality heuristics, in any script, without a model.

Scripts written with spaces give words: maximal runs of letters, marks and digits (``regex``'s
``\\w``, which keeps Indic vowel signs and viramas inside the word). Scripts written without
spaces (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar, Tibetan) give one token per
character, so that word n-grams over them are character n-grams: the choice datatrove and
FineWeb-2 fall back to where no segmenter is installed, and one that never changes with a
dictionary's release. The decision is per character, not per declared language, so Japanese
text with Latin words, or Chinese text mislabelled as English, tokenises the same way.
"""

from __future__ import annotations

import regex

# Scripts whose text has no spaces between words: tokens are single characters.
UNSPACED_SCRIPTS = ("Han", "Hiragana", "Katakana", "Thai", "Lao", "Khmer", "Myanmar", "Tibetan")
_UNSPACED = "".join(rf"\p{{{s}}}" for s in UNSPACED_SCRIPTS)
# A word: one unspaced-script character, or a run of word characters of any other script.
WORD = regex.compile(rf"[{_UNSPACED}]|[^\W{_UNSPACED}]+", regex.V1)
# Whether a text is mostly unspaced script (its "words" are characters).
_UNSPACED_CHAR = regex.compile(rf"[{_UNSPACED}]", regex.V1)


def words(text: str, *, lower: bool = True) -> list[str]:
    """The word tokens of ``text`` (case-folded when ``lower``); punctuation and spaces are not tokens."""
    return WORD.findall(text.casefold() if lower else text)


def unspaced_fraction(text: str) -> float:
    """Fraction of ``text``'s word characters that belong to unspaced scripts (0 for empty text)."""
    word_chars = sum(len(w) for w in WORD.findall(text))
    return len(_UNSPACED_CHAR.findall(text)) / word_chars if word_chars else 0.0
