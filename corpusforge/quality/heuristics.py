"""Quality heuristics of one text, runner-free: Gopher's quality and repetition signals (Rae et
al. 2021), FineWeb's line rules (Penedo et al. 2024), stop words from ``stopwordsiso``.

Words come from ``corpusforge.words`` (characters in unspaced scripts). Every signal is a
number; :mod:`corpusforge.quality.thresholds` decides which numbers are too high or too low,
per language. Line signals are computed over non-empty lines, paragraphs over blank-line
separated blocks; a single-line text has no duplicate lines and line fractions of that line.
"""

from __future__ import annotations

import functools
from collections import Counter

from corpusforge.languages import alpha2
from corpusforge.words import unspaced_fraction, words

BULLETS = ("•", "●", "○", "■", "□", "▪", "▫", "–", "-", "*", "·", "‣", "⁃")
ELLIPSES = ("...", "…")
TERMINAL_PUNCTUATION = (".", "!", "?", '"', "'", "”", "’", "।", "॥", "。", "！", "？", "؟", "۔", "…", ":", ")", "」", "』")
SHORT_LINE_CHARS = 30
TOP_NGRAMS = (2, 3, 4)
DUP_NGRAMS = (5, 6, 7, 8, 9, 10)
# signal name -> Arrow type name ("int32" or "float32"), in the order the columns are added
SIGNALS: dict[str, str] = {
    "words": "int32",
    "mean_word_length": "float32",
    "symbol_word_ratio": "float32",
    "alpha_word_fraction": "float32",
    "stop_words": "int32",
    "lines": "int32",
    "bullet_line_fraction": "float32",
    "ellipsis_line_fraction": "float32",
    "dup_line_fraction": "float32",
    "dup_line_char_fraction": "float32",
    "dup_paragraph_fraction": "float32",
    "dup_paragraph_char_fraction": "float32",
    **{f"top_{n}gram_char_fraction": "float32" for n in TOP_NGRAMS},
    **{f"dup_{n}gram_char_fraction": "float32" for n in DUP_NGRAMS},
    "line_punct_fraction": "float32",
    "short_line_fraction": "float32",
}


@functools.cache
def stop_words(lang: str | None) -> frozenset[str] | None:
    """``stopwordsiso``'s list for ``lang`` (any code form), case-folded; None where it has none.
    Where the text's words are characters (Chinese, Japanese, Thai), only one-character
    entries can match a word, so only those are kept."""
    if not lang:
        return None
    import stopwordsiso

    try:
        short = alpha2(lang)
    except ValueError:
        return None
    if not short or not stopwordsiso.has_lang(short):
        return None
    entries = {w.casefold() for w in stopwordsiso.stopwords(short)}
    if lang.split("_")[0] in ("zho", "cmn", "yue", "jpn", "tha", "lao", "khm", "mya", "bod"):
        entries = {w for w in entries if len(w) == 1}
    return frozenset(entries)


def _duplicate_fraction(items: list[str]) -> tuple[float, float]:
    """(fraction of items that repeat an earlier one, fraction of characters in them)."""
    if not items:
        return 0.0, 0.0
    seen: set[str] = set()
    dup_items = dup_chars = 0
    for item in items:
        if item in seen:
            dup_items += 1
            dup_chars += len(item)
        seen.add(item)
    total_chars = sum(len(i) for i in items)
    return dup_items / len(items), (dup_chars / total_chars if total_chars else 0.0)


def _top_ngram_fraction(tokens: list[str], n: int, total_chars: int) -> float:
    """Characters of the words the most frequent word n-gram covers (overlapping occurrences
    counted once, so at most 1) over all word characters; 0 when no n-gram repeats."""
    if len(tokens) < n or not total_chars:
        return 0.0
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    top, count = Counter(grams).most_common(1)[0]
    if count < 2:
        return 0.0
    covered = [False] * len(tokens)
    for i, gram in enumerate(grams):
        if gram == top:
            for j in range(i, i + n):
                covered[j] = True
    return sum(len(t) for t, c in zip(tokens, covered) if c) / total_chars


def _dup_ngram_fraction(tokens: list[str], n: int, total_chars: int) -> float:
    """Characters of words inside n-grams that occur more than once, over all word characters
    (each word counted once, as Gopher does)."""
    if len(tokens) < n or not total_chars:
        return 0.0
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    counts = Counter(grams)
    covered = [False] * len(tokens)
    for i, gram in enumerate(grams):
        if counts[gram] > 1:
            for j in range(i, i + n):
                covered[j] = True
    return sum(len(t) for t, c in zip(tokens, covered) if c) / total_chars


def text_signals(text: str, lang: str | None = None) -> dict[str, float]:
    """Every signal in :data:`SIGNALS` for one text (``lang`` picks the stop-word list;
    ``stop_words`` is -1 where the language has none)."""
    tokens = words(text)
    n_words = len(tokens)
    word_chars = sum(len(t) for t in tokens)
    # Gopher's word-level signals read whitespace tokens, so punctuation-only tokens count as
    # words without letters; in unspaced scripts the character tokens stand in for them
    spaced = text.split() if unspaced_fraction(text) < 0.5 else tokens
    alpha = sum(1 for t in spaced if any(c.isalpha() for c in t))
    symbols = text.count("#") + sum(text.count(e) for e in ELLIPSES)
    stops = stop_words(lang)
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    dup_lines, dup_line_chars = _duplicate_fraction(lines)
    dup_paras, dup_para_chars = _duplicate_fraction(paragraphs)
    n_lines = len(lines)
    signals: dict[str, float] = {
        "words": n_words,
        "mean_word_length": word_chars / n_words if n_words else 0.0,
        "symbol_word_ratio": symbols / n_words if n_words else 0.0,
        "alpha_word_fraction": alpha / len(spaced) if spaced else 0.0,
        "stop_words": -1 if stops is None else sum(1 for t in tokens if t in stops),
        "lines": n_lines,
        "bullet_line_fraction": sum(1 for line in lines if line.startswith(BULLETS)) / n_lines if n_lines else 0.0,
        "ellipsis_line_fraction": sum(1 for line in lines if line.endswith(ELLIPSES)) / n_lines if n_lines else 0.0,
        "dup_line_fraction": dup_lines,
        "dup_line_char_fraction": dup_line_chars,
        "dup_paragraph_fraction": dup_paras,
        "dup_paragraph_char_fraction": dup_para_chars,
        "line_punct_fraction": sum(1 for line in lines if line.endswith(TERMINAL_PUNCTUATION)) / n_lines if n_lines else 0.0,
        "short_line_fraction": sum(1 for line in lines if len(line) <= SHORT_LINE_CHARS) / n_lines if n_lines else 0.0,
    }
    for n in TOP_NGRAMS:
        signals[f"top_{n}gram_char_fraction"] = _top_ngram_fraction(tokens, n, word_chars)
    for n in DUP_NGRAMS:
        signals[f"dup_{n}gram_char_fraction"] = _dup_ngram_fraction(tokens, n, word_chars)
    return signals
