"""Tokens of code-mixed text and their language tags from known runs: what the switcher's
metrics and the token tagger share. Runner-free; offsets are code points.

Tags: a canonical language code (``hin_Deva``), ``other`` for language-independent tokens
(numbers, punctuation, URLs, e-mail addresses, emoji, @mentions, #hashtags, placeholders such as
``{name}``, ``%s``, ``%(name)s``, ``<ENT>``) and ``und`` for a word no candidate language could
take.
"""

from __future__ import annotations

import regex

OTHER = "other"
UNDETERMINED = "und"

# Language-independent token kinds first, so ``user@example.com`` is one e-mail, not a word.
_TOKEN = regex.compile(
    r"""
    (?P<other>
        (?:https?://|www\.)\S+                                  # URL
      | [\w.+-]+@[\w-]+(?:\.[\w-]+)+                            # e-mail
      | [@\#]\w+                                                # @mention, #hashtag
      | \{[^{}\s]*\} | %\(\w+\)[sdifr] | %[sdifr] | <[A-Z_]+>   # placeholders
      | \p{N}+(?:[.,:/-]\p{N}+)*%?                              # numbers, times, dates
      | \p{Extended_Pictographic}(?:\p{EMod}|\uFE0F|\u200D\p{Extended_Pictographic})*
      | \p{RI}\p{RI}                                            # flags
    )
    | (?P<word>[\p{L}\p{M}](?:[\p{L}\p{M}\p{Nd}_\u200C\u200D]|['’-](?=\p{L}))*)
    | (?P<punct>\S)
    """,
    regex.VERBOSE,
)


def tokenize(text: str) -> list[tuple[str, bool]]:
    """(token, is_word) in order; non-words are language-independent."""
    return [(m.group(), m.lastgroup == "word") for m in _TOKEN.finditer(text)]


def tag_pieces(pieces: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(token, tag) for text given as consecutive (piece, language) runs: a word takes its
    run's language, anything else is ``other``. How a code-switched text whose spans are known
    is tagged (the switcher's metrics, and ``token_tags`` on codeswitch records)."""
    return [(token, lang if is_word else OTHER) for piece, lang in pieces for token, is_word in tokenize(piece)]


def span_pieces(text: str, spans: list[dict], outside: str) -> list[tuple[str, str]]:
    """``text`` cut at its spans (``start``/``end`` in code points, ``lang``): the span runs in
    their language, the text between them in ``outside`` (the matrix language)."""
    pieces, at = [], 0
    for span in sorted(spans, key=lambda s: s["start"]):
        pieces.append((text[at : span["start"]], outside))
        pieces.append((text[span["start"] : span["end"]], span["lang"]))
        at = span["end"]
    pieces.append((text[at:], outside))
    return pieces
