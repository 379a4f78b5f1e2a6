"""Language identification engines, runner-free: identifiers (lid.176 or any fastText model,
heliport, lingua, an ensemble), label-to-code mapping, and romanised-language detection from
word lexicons. The ``lid`` and ``token_tags`` stages in :mod:`corpusforge.transforms` wrap them."""

from corpusforge.lid.labels import CodeTable
from corpusforge.lid.models import (
    EnsembleIdentifier,
    EnsembleRule,
    FastTextIdentifier,
    HeliportIdentifier,
    Identifier,
    LinguaIdentifier,
    default_model_path,
    make_identifier,
)
from corpusforge.lid.romanized import RomanizedDetector, decode, hindi_spellings, romanized_lexicon, wordfreq_lexicon

__all__ = [
    "CodeTable",
    "EnsembleIdentifier",
    "EnsembleRule",
    "FastTextIdentifier",
    "HeliportIdentifier",
    "Identifier",
    "LinguaIdentifier",
    "RomanizedDetector",
    "decode",
    "default_model_path",
    "hindi_spellings",
    "make_identifier",
    "romanized_lexicon",
    "wordfreq_lexicon",
]
