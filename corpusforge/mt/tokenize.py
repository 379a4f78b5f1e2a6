"""Subword tokenisation and the language-token conventions of CTranslate2 translation models.

A CTranslate2 model works on token strings; how a sentence becomes tokens depends on the
family the model was converted from:

==========  ==============================================  ======================  ============
convention  source tokens                                   target prefix           language tag
==========  ==============================================  ======================  ============
nllb        ``hin_Deva ▁piece ... </s>``                    ``[eng_Latn]``          ``eng_Latn``
m2m         ``__hi__ ▁piece ... </s>``                      ``[__en__]``            ``__en__``
marian      ``>>fra<< ▁piece ... </s>`` (tag only when the  none                    ``>>fra<<``
            model is multi-target), else ``▁piece ... </s>``
generic     ``▁piece ...`` (the model's config adds BOS/EOS  none                    none
            when it was converted to)
==========  ==============================================  ======================  ============

NLLB follows Hugging Face's current (non-legacy) tokenizer: the source language tag comes first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from corpusforge.languages import LanguageCodeError, alpha2, canonical, language_of

if TYPE_CHECKING:
    from sentencepiece import SentencePieceProcessor

ConventionName = Literal["auto", "nllb", "m2m", "marian", "generic"]
EOS = "</s>"


class LanguageNotSupported(ValueError):
    """A language the model has no language token for."""


@dataclass(frozen=True)
class Convention:
    """How one model family frames a sentence: where language tags go and how they are spelled."""

    name: str
    tag_pattern: re.Pattern | None  # what a language tag looks like in the vocabulary
    source_tag: bool  # the source language tag opens the source
    target_prefix: bool  # the target language tag is forced as the first target token
    target_tag_in_source: bool  # the target language tag opens the source (multi-target Marian)
    append_eos: bool

    def spellings(self, lang: str) -> list[str]:
        """Candidate tags for a canonical code, most specific first (``hin_Deva`` -> ``>>hin_Deva<<``, ``>>hin<<``, ``>>hi<<``)."""
        code = canonical(lang)
        short = alpha2(code)
        if self.name == "nllb":
            return [code]
        if self.name == "m2m":
            return [f"__{c}__" for c in (short, language_of(code)) if c]
        if self.name == "marian":
            return [f">>{c}<<" for c in (code, language_of(code), short) if c]
        return []


NLLB = Convention("nllb", re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$"), True, True, False, True)
M2M = Convention("m2m", re.compile(r"^__[a-z]{2,3}__$"), True, True, False, True)
MARIAN = Convention("marian", re.compile(r"^>>[a-z]{2,3}(_[A-Z][a-z]{3})?<<$"), False, False, True, True)
GENERIC = Convention("generic", None, False, False, False, False)
CONVENTIONS = {c.name: c for c in (NLLB, M2M, MARIAN, GENERIC)}


def detect_convention(vocabulary: Sequence[str], *, has_marian_spm: bool) -> Convention:
    """Guess the convention from the vocabulary's language tags (``eng_Latn``, ``__en__``,
    ``>>fra<<``) or, for bilingual Marian models, from ``source.spm``/``target.spm`` beside it."""
    for convention in (NLLB, M2M, MARIAN):
        pattern = convention.tag_pattern
        if pattern is not None and sum(1 for t in vocabulary if pattern.match(t)) >= 2:
            return convention
    return MARIAN if has_marian_spm else GENERIC


@dataclass(frozen=True)
class LanguageTags:
    """The language tags one model's vocabulary holds under its convention (a few hundred
    strings at most, so it travels with a pickled stage instead of the whole vocabulary)."""

    convention: Convention
    tags: frozenset[str]
    model: str  # for error messages

    @classmethod
    def from_vocabulary(cls, convention: Convention, vocabulary: Sequence[str], *, model: str) -> LanguageTags:
        pattern = convention.tag_pattern
        tags = frozenset(t for t in vocabulary if pattern.match(t)) if pattern else frozenset()
        return cls(convention, tags, model)

    @property
    def multilingual(self) -> bool:
        return bool(self.tags)

    def tag(self, lang: str) -> str:
        """The model's tag for ``lang`` (any code :func:`canonical` reads); raises
        :class:`LanguageNotSupported` when the model has none."""
        try:
            spellings = self.convention.spellings(lang)
        except (LanguageCodeError, LookupError) as exc:  # canonical() raises LookupError for unknown 2-letter codes
            raise LanguageNotSupported(f"cannot read {lang!r} as a language code: {exc}") from exc
        for spelling in spellings:
            if spelling in self.tags:
                return spelling
        examples = ", ".join(sorted(self.tags)[:8])
        raise LanguageNotSupported(
            f"model {self.model} has no language token for {lang!r} (looked for {', '.join(spellings) or 'nothing'}); "
            f"it knows {len(self.tags)} languages under the {self.convention.name} convention" + (f", e.g. {examples}" if examples else "")
        )

    def supports(self, lang: str) -> bool:
        try:
            self.tag(lang)
        except LanguageNotSupported:
            return False
        return True

    def frame(
        self, pieces: list[str], *, src_lang: str | None, tgt_lang: str | None, max_length: int
    ) -> tuple[list[str], list[str] | None, bool]:
        """Source tokens, target prefix and whether the pieces were cut to fit ``max_length``
        tokens (tags and EOS are kept; 0 means no limit). Languages must be supported."""
        head: list[str] = []
        if self.convention.source_tag and src_lang is not None:
            head.append(self.tag(src_lang))
        if self.convention.target_tag_in_source and self.multilingual and tgt_lang is not None:
            head.append(self.tag(tgt_lang))
        tail = [EOS] if self.convention.append_eos else []
        room = max(max_length - len(head) - len(tail), 1) if max_length else len(pieces)
        truncated = len(pieces) > room
        source = head + (pieces[:room] if truncated else pieces) + tail
        prefix = [self.tag(tgt_lang)] if self.convention.target_prefix and tgt_lang is not None else None
        return source, prefix, truncated


class SentencePieceTokenizer:
    """Source and target sentencepiece models (one file for both when they are shared).
    Loading is lazy, so the object pickles as two paths."""

    def __init__(self, source_model: Path, target_model: Path | None = None):
        self.source_model = Path(source_model)
        self.target_model = Path(target_model) if target_model else self.source_model
        self._source: SentencePieceProcessor | None = None
        self._target: SentencePieceProcessor | None = None

    def __getstate__(self):
        return {"source_model": self.source_model, "target_model": self.target_model, "_source": None, "_target": None}

    def _load(self) -> None:
        import sentencepiece

        self._source = sentencepiece.SentencePieceProcessor(model_file=str(self.source_model))
        self._target = (
            self._source
            if self.target_model == self.source_model
            else sentencepiece.SentencePieceProcessor(model_file=str(self.target_model))
        )

    def encode(self, texts: Sequence[str]) -> list[list[str]]:
        if self._source is None:
            self._load()
        assert self._source is not None  # _load() sets it
        return self._source.encode(list(texts), out_type=str)

    def decode(self, pieces: Sequence[Sequence[str]]) -> list[str]:
        if self._target is None:
            self._load()
        assert self._target is not None  # _load() sets it
        return self._target.decode([list(p) for p in pieces]) if pieces else []
