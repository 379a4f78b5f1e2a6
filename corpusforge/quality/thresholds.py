"""Quality rules and their thresholds, per language with a default.

A rule compares one signal (:data:`corpusforge.quality.heuristics.SIGNALS`) with a threshold:
``min_*`` rules reject a row whose signal is below it, ``max_*`` rules one above it. The
defaults are Gopher's (Rae et al. 2021) and FineWeb's (Penedo et al. 2024) document-level
values, except ``min_words`` (5, not 50: corpusforge segments are often sentences). Rules over
lines (bullets, ellipses, punctuation, short lines) apply only to texts of at least
``min_lines`` lines: one line ending without a full stop says nothing about a document.

:data:`LANGUAGE_DEFAULTS` changes a few defaults where the default measures something else:
where words are characters (Chinese, Japanese, Thai, ...) mean word length and stop words do
not apply as for spaced scripts; agglutinative languages have long words. These are stated
assumptions, not values fitted to data as FineWeb-2 fits them: a recipe overrides every
threshold, for every language or one (``null`` turns a rule off).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from corpusforge.quality.heuristics import DUP_NGRAMS, TOP_NGRAMS


@dataclass(frozen=True)
class Rule:
    name: str
    signal: str
    bound: Literal["min", "max"]
    default: float | None
    lines: bool = False  # a rule over lines: only for texts of at least ``min_lines`` lines


RULES: tuple[Rule, ...] = (
    Rule("min_words", "words", "min", 5),
    Rule("max_words", "words", "max", 100_000),
    Rule("min_mean_word_length", "mean_word_length", "min", 3),
    Rule("max_mean_word_length", "mean_word_length", "max", 10),
    Rule("max_symbol_word_ratio", "symbol_word_ratio", "max", 0.1),
    Rule("min_alpha_word_fraction", "alpha_word_fraction", "min", 0.8),
    Rule("min_stop_words", "stop_words", "min", 2),  # skipped where the language has no list
    Rule("max_bullet_line_fraction", "bullet_line_fraction", "max", 0.9, lines=True),
    Rule("max_ellipsis_line_fraction", "ellipsis_line_fraction", "max", 0.3, lines=True),
    Rule("max_dup_line_fraction", "dup_line_fraction", "max", 0.3),
    Rule("max_dup_line_char_fraction", "dup_line_char_fraction", "max", 0.2),
    Rule("max_dup_paragraph_fraction", "dup_paragraph_fraction", "max", 0.3),
    Rule("max_dup_paragraph_char_fraction", "dup_paragraph_char_fraction", "max", 0.2),
    *(Rule(f"max_top_{n}gram_char_fraction", f"top_{n}gram_char_fraction", "max", v) for n, v in zip(TOP_NGRAMS, (0.2, 0.18, 0.16))),
    *(
        Rule(f"max_dup_{n}gram_char_fraction", f"dup_{n}gram_char_fraction", "max", v)
        for n, v in zip(DUP_NGRAMS, (0.15, 0.14, 0.13, 0.12, 0.11, 0.10))
    ),
    Rule("min_line_punct_fraction", "line_punct_fraction", "min", 0.12, lines=True),
    Rule("max_short_line_fraction", "short_line_fraction", "max", 0.67, lines=True),
)
RULE_NAMES = tuple(rule.name for rule in RULES)
DEFAULT_MIN_LINES = 3

_UNSPACED = {"min_mean_word_length": None, "max_mean_word_length": None, "min_words": 10}
_LONG_WORDS = {"max_mean_word_length": 15}
# ISO 639-3 language -> thresholds that differ from the defaults (see the module docstring).
LANGUAGE_DEFAULTS: dict[str, dict[str, float | None]] = {
    **{lang: dict(_UNSPACED) for lang in ("zho", "cmn", "yue", "jpn", "tha", "lao", "khm", "mya", "bod")},
    **{lang: dict(_LONG_WORDS) for lang in ("fin", "est", "hun", "tur", "tam", "tel", "kan", "mal", "deu", "nld", "kat", "eus")},
}


def check_names(thresholds: dict[str, float | None], where: str) -> None:
    """Raise ValueError naming an unknown rule and the known ones."""
    unknown = sorted(set(thresholds) - set(RULE_NAMES))
    if unknown:
        raise ValueError(f"{where}: unknown quality rule(s) {', '.join(unknown)}; known: {', '.join(RULE_NAMES)}")


@dataclass(frozen=True)
class QualityThresholds:
    """Thresholds per language: the defaults, then :data:`LANGUAGE_DEFAULTS` for the language,
    then the recipe's ``thresholds`` (every language), then its ``languages`` entry for the
    row's language (ISO 639-3 keys: ``hin``; canonical codes are read as their language)."""

    thresholds: tuple[tuple[str, float | None], ...] = ()
    languages: tuple[tuple[str, tuple[tuple[str, float | None], ...]], ...] = ()

    @classmethod
    def build(cls, thresholds: dict[str, float | None], languages: dict[str, dict[str, float | None]]) -> QualityThresholds:
        check_names(thresholds, "thresholds")
        for lang, values in languages.items():
            check_names(values, f"languages.{lang}")
        return cls(tuple(sorted(thresholds.items())), tuple(sorted((lang, tuple(sorted(v.items()))) for lang, v in languages.items())))

    def for_language(self, lang: str | None) -> dict[str, float | None]:
        """Rule name -> threshold (None: off) for rows of ``lang``."""
        base = (lang or "").split("_")[0]
        values: dict[str, float | None] = {rule.name: rule.default for rule in RULES}
        values.update(LANGUAGE_DEFAULTS.get(base, {}))
        values.update(dict(self.thresholds))
        for key, overrides in self.languages:
            if key.split("_")[0] == base:
                values.update(dict(overrides))
        return values


def failed_rule(signals: dict[str, float], thresholds: dict[str, float | None], min_lines: int) -> tuple[Rule, float, float] | None:
    """The first rule (in :data:`RULES` order) ``signals`` fail, with the value and threshold."""
    for rule in RULES:
        threshold = thresholds[rule.name]
        if threshold is None or (rule.lines and signals["lines"] < min_lines):
            continue
        value = signals[rule.signal]
        if rule.signal == "stop_words" and value < 0:
            continue  # no stop-word list for the language
        if (value < threshold) if rule.bound == "min" else (value > threshold):
            return rule, value, threshold
    return None
