"""Quality stages: :class:`QualityScorer` adds one ``quality_<signal>`` column per heuristic
(``corpusforge.quality.heuristics``), :class:`QualityFilter` reads them and rejects rows with
the rule that fired as the reason (``corpusforge.quality.thresholds``), thresholds per language."""

from __future__ import annotations

import pyarrow as pa

from corpusforge.languages import LanguageCodeError, language_of
from corpusforge.quality.heuristics import SIGNALS, text_signals
from corpusforge.quality.thresholds import DEFAULT_MIN_LINES, QualityThresholds, failed_rule
from corpusforge.records import Split, reject_where, with_columns
from corpusforge.transforms.base import Stage

PREFIX = "quality_"
_TYPES = {"int32": pa.int32(), "float32": pa.float32()}
FIELDS = [
    pa.field(f"{PREFIX}{name}", _TYPES[kind], metadata={"doc": f"Quality signal {name} (corpusforge.quality.heuristics)."})
    for name, kind in SIGNALS.items()
]


class QualityScorer(Stage):
    """Adds Gopher, repetition and FineWeb line signals as ``quality_*`` columns (word count,
    mean word length, symbol and alphabetic-word ratios, stop words of the row's ``lang``,
    duplicate lines and paragraphs, top and duplicated n-gram fractions, line endings); keeps
    every row. Per row in Python: about as costly as tokenising the text twice."""

    name = "quality"
    version = "1"
    kinds = ("segment",)

    def output_fields(self, kind: str) -> list[pa.Field]:
        return list(FIELDS)

    def process(self, batch: pa.RecordBatch) -> Split:
        texts = batch.column("text").to_pylist()
        langs = batch.column("lang").to_pylist() if "lang" in batch.schema.names else [None] * batch.num_rows
        rows = [text_signals(text, lang) for text, lang in zip(texts, langs)]
        arrays = [pa.array([row[name] for row in rows], field.type) for name, field in zip(SIGNALS, FIELDS)]
        return Split.keep_all(with_columns(batch, FIELDS, arrays))


class QualityFilter(Stage):
    """Rejects rows whose ``quality_*`` signals fail a rule; the reason is the rule's name
    (``min_words``, ``max_dup_line_fraction``, ...: the first that fails, in
    ``corpusforge.quality.thresholds.RULES`` order), the detail its value and threshold.

    - ``thresholds``: rule -> threshold for every language (``null`` turns the rule off).
    - ``languages``: language (any code form: ``hi``, ``hin_Deva``) -> rule -> threshold, over
      the built-in per-language defaults and ``thresholds``.
    - ``min_lines``: line rules (bullets, ellipses, punctuation, short lines) apply to texts of
      at least this many lines.
    """

    name = "quality_filter"
    version = "1"
    kinds = ("segment",)
    requires = tuple(f.name for f in FIELDS)

    def __init__(
        self,
        *,
        thresholds: dict[str, float | None] | None = None,
        languages: dict[str, dict[str, float | None]] | None = None,
        min_lines: int = DEFAULT_MIN_LINES,
    ):
        by_language: dict[str, dict[str, float | None]] = {}
        for code, values in (languages or {}).items():
            try:
                by_language[language_of(code)] = dict(values)
            except LanguageCodeError as exc:
                raise ValueError(f"languages.{code}: {exc}") from None
        self.thresholds = QualityThresholds.build(dict(thresholds or {}), by_language)
        self.min_lines = min_lines

    def describe(self) -> dict:
        return {
            **super().describe(),
            "thresholds": dict(self.thresholds.thresholds),
            "languages": {lang: dict(v) for lang, v in self.thresholds.languages},
            "min_lines": self.min_lines,
        }

    def process(self, batch: pa.RecordBatch) -> Split:
        columns = {name: batch.column(f"{PREFIX}{name}").to_pylist() for name in SIGNALS}
        langs = batch.column("lang").to_pylist() if "lang" in batch.schema.names else [None] * batch.num_rows
        per_language: dict[str | None, dict[str, float | None]] = {}
        reasons: list[str | None] = []
        details: list[str | None] = []
        for row, lang in enumerate(langs):
            if lang not in per_language:
                per_language[lang] = self.thresholds.for_language(lang)
            failed = failed_rule({name: values[row] for name, values in columns.items()}, per_language[lang], self.min_lines)
            if failed is None:
                reasons.append(None)
                details.append(None)
            else:
                rule, value, threshold = failed
                reasons.append(rule.name)
                details.append(f"{rule.signal}={value:.4g} {'<' if rule.bound == 'min' else '>'} {threshold:g} ({lang or 'no language'})")
        return reject_where(batch, [r is not None for r in reasons], stage=self.name, kind="segment", reason=reasons, detail=details)
