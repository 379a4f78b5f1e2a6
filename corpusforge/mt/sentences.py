"""Sentence splitting for translating documents: MT models are trained on sentences, so a
document is split, its sentences translated, and the translations joined again.

Built on `sentencex <https://github.com/wikimedia/sentencex>`_ (Wikimedia, MIT, Rust core):
it knows terminators of ~300 languages (``।`` ``۔`` ``。`` ``؟`` ...), abbreviation lists, and
prefers not splitting over splitting wrongly, which is what MT wants. pysbd covers 22 languages
and has not been released since 2021; a bare regex over terminators splits after every
abbreviation ("Dr. Smith").
"""

from __future__ import annotations

from dataclasses import dataclass

from corpusforge.languages import LanguageCodeError, alpha2, language_of, script_of

# Scripts written without spaces between sentences: a space that separated two source
# sentences is dropped when the translation is in one of these.
UNSPACED_SCRIPTS = frozenset({"Hans", "Hant", "Jpan", "Hira", "Kana", "Thai", "Laoo", "Khmr", "Mymr", "Tibt"})


@dataclass(frozen=True)
class Sentences:
    """A text cut into sentences: ``text == gaps[0] + s[0] + gaps[1] + s[1] + ... + gaps[-1]``,
    where gaps are the whitespace around sentences (kept so paragraphs survive the round trip)."""

    sentences: list[str]
    gaps: list[str]

    @classmethod
    def whole(cls, text: str) -> Sentences:
        """The text as one sentence (no splitting), surrounding whitespace kept as gaps."""
        body = text.strip()
        if not body:
            return cls([], [text])
        start = len(text) - len(text.lstrip())
        return cls([body], [text[:start], text[start + len(body) :]])

    def join(self, translated: list[str], *, lang: str | None = None) -> str:
        """Put translated sentences back between the original gaps."""
        if len(translated) != len(self.sentences):
            raise ValueError(f"{len(translated)} translations for {len(self.sentences)} sentences")
        unspaced = _script(lang) in UNSPACED_SCRIPTS
        parts = [self.gaps[0]]
        for i, sentence in enumerate(translated):
            gap = self.gaps[i + 1]
            if unspaced and i + 1 < len(self.gaps) - 1 and gap.strip(" ") == "":  # between sentences only
                gap = ""
            parts += [sentence, gap]
        return "".join(parts)


def split_sentences(text: str, lang: str | None = None) -> Sentences:
    """Split ``text`` into sentences with the rules of ``lang`` (any code; None or an unreadable
    code uses English rules, sentencex's own fallback). Whitespace alone gives no sentences."""
    from sentencex import segment  # imported here so recipes without translation need no MT extra

    sentences: list[str] = []
    gaps: list[str] = []
    pending = ""
    for chunk in segment(_sentencex_code(lang), text):
        body = chunk.strip()
        if not body:
            pending += chunk
            continue
        start = len(chunk) - len(chunk.lstrip())
        gaps.append(pending + chunk[:start])
        sentences.append(body)
        pending = chunk[start + len(body) :]
    gaps.append(pending)
    return Sentences(sentences, gaps)


def _sentencex_code(lang: str | None) -> str:
    if not lang:
        return "en"
    try:
        return alpha2(lang) or language_of(lang)
    except (LanguageCodeError, LookupError):  # languages.canonical lets LookupError through for "xx"
        return "en"


def _script(lang: str | None) -> str | None:
    if not lang:
        return None
    try:
        return script_of(lang)
    except (LanguageCodeError, LookupError):  # languages.canonical lets LookupError through for "xx"
        return None
