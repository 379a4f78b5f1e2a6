"""Parallel-data filters, scored and decided in separate stages.

:class:`BitextScorer` adds length ratios and an identical-sides flag; :class:`LanguageIdentifier`
(on bitext) adds each side's language and script columns; :class:`BitextFilter` reads those
columns and rejects pairs with one reason each (the first that applies, in this order):

``empty_side``, ``identical_sides``, ``src_lang_mismatch``, ``tgt_lang_mismatch``,
``src_lang_low_score``, ``tgt_lang_low_score``, ``script_mismatch``, ``length_ratio``, ``mway_degree``.

The rejected row's ``detail`` names every check the pair failed, not only the first.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.languages import LanguageCodeError, canonical, language_of, script_compatible
from corpusforge.records import Split, reject_where, with_columns
from corpusforge.transforms.base import Stage
from corpusforge.transforms.lid import language_problems, parse_languages, parse_thresholds

SIDES = ("src", "tgt")
SCORE_FIELDS = [
    pa.field("char_ratio", pa.float32(), metadata={"doc": "Source length / target length in code points; null when a side is empty."}),
    pa.field("byte_ratio", pa.float32(), metadata={"doc": "Source length / target length in UTF-8 bytes; null when a side is empty."}),
    pa.field("sides_identical", pa.bool_(), metadata={"doc": "Whether both sides are equal after case folding and whitespace collapsing."}),
]


def _folded(texts: pa.Array) -> pa.Array:
    """Lower-cased, whitespace runs collapsed to one space, trimmed: what "identical" compares."""
    return pc.utf8_trim_whitespace(pc.replace_substring_regex(pc.utf8_lower(texts), r"\s+", " "))


def _ratio(numerator: pa.Array, denominator: pa.Array) -> pa.Array:
    """numerator / denominator as float32, null where either is 0."""
    zero = pc.or_(pc.equal(numerator, 0), pc.equal(denominator, 0))
    ratio = pc.divide(pc.cast(numerator, pa.float64()), pc.cast(denominator, pa.float64()))
    return pc.if_else(zero, pa.scalar(None, pa.float64()), ratio).cast(pa.float32())


class BitextScorer(Stage):
    """Adds ``char_ratio``, ``byte_ratio`` and ``sides_identical`` to sentence pairs; keeps every
    pair. Vectorised over the batch."""

    name = "bitext_score"
    version = "1"
    kinds = ("bitext",)

    def output_fields(self, kind: str) -> list[pa.Field]:
        return list(SCORE_FIELDS)

    def process(self, batch: pa.RecordBatch) -> Split:
        src, tgt = (pc.fill_null(batch.column(f"{side}_text"), "") for side in SIDES)
        src_trimmed, tgt_trimmed = pc.utf8_trim_whitespace(src), pc.utf8_trim_whitespace(tgt)
        char_ratio = _ratio(pc.utf8_length(src_trimmed), pc.utf8_length(tgt_trimmed))
        byte_ratio = _ratio(pc.binary_length(src_trimmed), pc.binary_length(tgt_trimmed))
        identical = pc.equal(_folded(src), _folded(tgt))
        return Split.keep_all(with_columns(batch, SCORE_FIELDS, [char_ratio, byte_ratio, identical]))


class BitextFilter(Stage):
    """Rejects sentence pairs that fail a check; reads the columns of :class:`BitextScorer` and,
    for the language and script checks, of :class:`LanguageIdentifier` (each check needs its
    columns and raises ValueError naming them when they are missing).

    - ``src_languages`` / ``tgt_languages``: allowed languages per side (``None``: any); their
      scripts are the scripts the side's text must be in (``hin_Deva`` -> Devanagari). Without
      them a side must fit the script of its own ``lang``.
    - ``thresholds`` (per language, script ignored) and ``default_threshold``: minimum
      ``{side}_lang_score``.
    - Length ratio bounds apply to ``char_ratio`` and ``byte_ratio`` (source / target); ``None``
      turns a bound off. The character bounds are loose on purpose: CJK text is 2-4x shorter
      in characters than its English translation.
    - ``max_mway_degree``: rejects pairs whose ``mway_degree`` (the ``multiway`` stage) is above
      it: highly multi-way-parallel text is mostly machine translated (Thompson et al. 2024).
    """

    name = "bitext_filter"
    version = "1"
    kinds = ("bitext",)

    def __init__(
        self,
        *,
        src_languages: list[str] | None = None,
        tgt_languages: list[str] | None = None,
        thresholds: dict[str, float] | None = None,
        default_threshold: float = 0.0,
        check_languages: bool = True,
        check_scripts: bool = True,
        min_char_ratio: float | None = 0.2,
        max_char_ratio: float | None = 5.0,
        min_byte_ratio: float | None = None,
        max_byte_ratio: float | None = None,
        max_mway_degree: int | None = None,
    ):
        if max_mway_degree is not None and (not isinstance(max_mway_degree, int) or max_mway_degree < 1):
            raise ValueError(f"max_mway_degree must be a positive integer, got {max_mway_degree!r}")
        self.max_mway_degree = max_mway_degree
        for low, high, what in ((min_char_ratio, max_char_ratio, "char"), (min_byte_ratio, max_byte_ratio, "byte")):
            if (low is not None and low <= 0) or (high is not None and high <= 0):
                raise ValueError(f"{what} ratio bounds must be positive, got {low}, {high}")
            if low is not None and high is not None and low > high:
                raise ValueError(f"min_{what}_ratio {low} is above max_{what}_ratio {high}")
        self.languages = {"src": parse_languages(src_languages, "src_languages"), "tgt": parse_languages(tgt_languages, "tgt_languages")}
        self._scripts = {"src": _scripts_by_language(src_languages), "tgt": _scripts_by_language(tgt_languages)}
        self.thresholds = parse_thresholds(thresholds, default_threshold)
        self.default_threshold = default_threshold
        self.check_languages = check_languages
        self.check_scripts = check_scripts
        self.char_bounds = (min_char_ratio, max_char_ratio)
        self.byte_bounds = (min_byte_ratio, max_byte_ratio)
        self.requires = (
            "sides_identical",
            "char_ratio",
            "byte_ratio",
            *(f"{side}_lang_score" for side in SIDES if check_languages),
            *(f"{side}_script" for side in SIDES if check_scripts),
            *(("mway_degree",) if max_mway_degree is not None else ()),
        )

    def describe(self) -> dict:
        return {
            **super().describe(),
            "src_languages": sorted(self.languages["src"] or []) or None,
            "tgt_languages": sorted(self.languages["tgt"] or []) or None,
            "thresholds": self.thresholds,
            "default_threshold": self.default_threshold,
            "check_languages": self.check_languages,
            "check_scripts": self.check_scripts,
            "char_bounds": list(self.char_bounds),
            "byte_bounds": list(self.byte_bounds),
            **({"max_mway_degree": self.max_mway_degree} if self.max_mway_degree is not None else {}),
        }

    def process(self, batch: pa.RecordBatch) -> Split:
        n = batch.num_rows
        failures: dict[int, list[str]] = {}  # reasons of the failing rows, in priority order
        details: dict[int, list[str]] = {}

        def add(mask, reason: str, detail) -> None:
            for i in np.flatnonzero(np.asarray(mask, dtype=bool)).tolist():  # only the flagged rows cost Python
                failures.setdefault(i, []).append(reason)
                details.setdefault(i, []).append(detail(i) if callable(detail) else detail)

        empty = [
            pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(pc.fill_null(batch.column(f"{side}_text"), ""))), 0).to_pylist()
            for side in SIDES
        ]
        add(
            [s or t for s, t in zip(*empty)], "empty_side", lambda i: "empty " + " and ".join(side for side, e in zip(SIDES, empty) if e[i])
        )
        _require(batch, ["sides_identical", "char_ratio", "byte_ratio"], "BitextScorer")
        add(pc.fill_null(batch.column("sides_identical"), False).to_pylist(), "identical_sides", "source and target are the same text")

        if self.check_languages:
            problems = {
                side: language_problems(batch, f"{side}_", self.languages[side], self.thresholds, self.default_threshold) for side in SIDES
            }
            for kind in ("mismatch", "low_score"):
                for side in SIDES:
                    side_problems, side_details = problems[side]
                    add([p == kind for p in side_problems], f"{side}_lang_{kind}", lambda i: f"{side}: {side_details[i]}")
        if self.check_scripts:
            for side in SIDES:
                wrong = self._wrong_script(batch, side)
                add([w is not None for w in wrong], "script_mismatch", lambda i: wrong[i])
        for column, (low, high) in (("char_ratio", self.char_bounds), ("byte_ratio", self.byte_bounds)):
            values = batch.column(column).to_pylist()
            add(
                [v is not None and ((low is not None and v < low) or (high is not None and v > high)) for v in values],
                "length_ratio",
                lambda i: f"{column} {values[i]:.3g} outside [{low}, {high}]",
            )
        if self.max_mway_degree is not None:
            _require(batch, ["mway_degree"], "MultiwayJoin (the multiway stage)")
            degrees = pc.fill_null(batch.column("mway_degree"), 0).to_pylist()
            limit = self.max_mway_degree
            add([d > limit for d in degrees], "mway_degree", lambda i: f"in a {degrees[i]}-way parallel tuple (max {limit})")

        reasons: list[str | None] = [None] * n
        detail: list[str | None] = [None] * n
        for i, row in failures.items():
            reasons[i], detail[i] = row[0], "; ".join(details[i])
        return reject_where(
            batch, [r is not None for r in reasons], stage=self.name, kind="bitext", reason=reasons, detail=detail, text_column="src_text"
        )

    def _wrong_script(self, batch: pa.RecordBatch, side: str) -> list[str | None]:
        """Per row, why the side's script does not fit its language (None when it fits or the
        language is unknown: that is a language problem, reported as such)."""
        _require(batch, [f"{side}_lang", f"{side}_script"], "LanguageIdentifier")
        allowed = self._scripts[side]
        out: list[str | None] = []
        for lang, script in zip(batch.column(f"{side}_lang").to_pylist(), batch.column(f"{side}_script").to_pylist()):
            try:
                language = language_of(lang) if lang else None
            except LanguageCodeError:
                language = None
            if language is None:
                out.append(None)
                continue
            expected = allowed.get(language) if allowed else None
            expected = expected or [lang]
            fits = any(script_compatible(code, script) for code in expected)
            out.append(None if fits else f"{side}: {script} text for {'/'.join(expected)}")
        return out


def _scripts_by_language(codes: list[str] | None) -> dict[str, list[str]] | None:
    """Canonical codes of a user's language list, grouped by ISO 639-3 language."""
    if codes is None:
        return None
    grouped: dict[str, list[str]] = {}
    for code in codes:
        full = canonical(code)
        grouped.setdefault(language_of(full), []).append(full)
    return grouped


def _require(batch: pa.RecordBatch, columns: list[str], stage: str) -> None:
    missing = [c for c in columns if c not in batch.schema.names]
    if missing:
        raise ValueError(f"columns {missing} are missing: run {stage} before BitextFilter")
