"""Tokenizer parity (Petrov et al. 2023, "Language Model Tokenizers Introduce Unfairness Between
Languages"): how many tokens a tokenizer spends on the same content in each language.

On multi-parallel text (one column per language, a row per content unit), for every language
and over the units it shares with the reference (both cells non-empty):

- ``parity``: its tokens divided by the reference's tokens over the same units, i.e. its
  fertility relative to the reference's (1.0 = parity; 2.0 = the same content costs twice the
  tokens). Ratio of totals, as the paper's code computes it, not a mean of per-unit ratios.
- ``fertility``: tokens per content unit;
- ``tokens_per_byte`` (raw UTF-8) and ``tokens_per_norm_byte`` (per English-equivalent byte,
  ``bytes / byte_premium``), the compression a byte budget in normalised bytes buys.

Tokens that are ``<unk>`` count as tokens but make a language look cheaper than it is; like the
paper, languages with more than 10 % unknown tokens are flagged and left out of the summary.

Also here: :func:`train_tokenizer` (a deterministic sentencepiece training call) and
:func:`matched_plans`, the pair of sampling plans the parity pipeline trains on (a balanced
sample and a raw-mixture sample of the same normalised size). Runner-free; sentencepiece is
imported when used.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from corpusforge.premium import (
    MIN_UNITS,
    REFERENCE,
    FewUnitsWarning,
    PremiumTable,
    SamplingStats,
    byte_lengths,
    byte_premiums_from_columns,
    read_parallel_columns,
    table_code,
)
from corpusforge.transforms.sampling import ByteBudgetSampler, SamplingPlan

MAX_UNKNOWN_SHARE = 0.1  # the paper's threshold for "too many unknown tokens"


@dataclass(frozen=True)
class LanguageParity:
    """One language's token counts over the units it shares with the reference."""

    lang: str
    units: int
    tokens: int
    reference_tokens: int  # the reference's tokens over the same units
    bytes: int
    chars: int
    unknown: int  # tokens that are <unk>
    premium: float  # byte premium used for norm_bytes
    premium_source: str

    @property
    def parity(self) -> float:
        return self.tokens / self.reference_tokens if self.reference_tokens else math.nan

    @property
    def fertility(self) -> float:
        return self.tokens / self.units

    @property
    def norm_bytes(self) -> float:
        return self.bytes / self.premium

    @property
    def tokens_per_byte(self) -> float:
        return self.tokens / self.bytes

    @property
    def tokens_per_norm_byte(self) -> float:
        return self.tokens / self.norm_bytes

    @property
    def tokens_per_char(self) -> float:
        return self.tokens / self.chars

    @property
    def unknown_share(self) -> float:
        return self.unknown / self.tokens if self.tokens else 0.0

    @property
    def reliable(self) -> bool:
        """False when more than 10 % of its tokens are <unk>: its counts understate its cost."""
        return self.unknown_share <= MAX_UNKNOWN_SHARE

    def to_dict(self) -> dict:
        derived = (
            "parity",
            "fertility",
            "norm_bytes",
            "tokens_per_byte",
            "tokens_per_norm_byte",
            "tokens_per_char",
            "unknown_share",
            "reliable",
        )
        return {**{k: v for k, v in asdict(self).items() if k != "lang"}, **{k: getattr(self, k) for k in derived}}


@dataclass
class ParityReport:
    """Parity of one tokenizer per language, relative to ``reference``."""

    model: str
    reference: str
    languages: dict[str, LanguageParity] = field(default_factory=dict)

    def summary(self) -> dict:
        """Spread of parity over the reliable languages (the reference included, at 1.0): the
        worst (max) and best (min) language and ``spread = max / min``."""
        reliable = {lang: p.parity for lang, p in self.languages.items() if p.reliable}
        if not reliable:
            return {"languages": 0, "unreliable": sorted(self.languages)}
        worst = max(reliable, key=lambda lang: (reliable[lang], lang))
        best = min(reliable, key=lambda lang: (reliable[lang], lang))
        return {
            "languages": len(reliable),
            "max": reliable[worst],
            "max_lang": worst,
            "min": reliable[best],
            "min_lang": best,
            "spread": reliable[worst] / reliable[best],
            "unreliable": sorted(set(self.languages) - set(reliable)),
        }

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "reference": self.reference,
            "summary": self.summary(),
            "languages": {lang: p.to_dict() for lang, p in sorted(self.languages.items())},
        }

    def table(self) -> str:
        """One line per language, worst parity first."""
        lines = [
            f"{'lang':10s} {'units':>6s} {'parity':>7s} {'tok/unit':>8s} {'tok/byte':>8s} {'tok/nbyte':>9s} {'premium':>7s} {'unk%':>5s}"
        ]
        for p in sorted(self.languages.values(), key=lambda p: (-p.parity, p.lang)):
            flag = "" if p.reliable else "  (too many <unk>)"
            lines.append(
                f"{p.lang:10s} {p.units:6d} {p.parity:7.3f} {p.fertility:8.2f} {p.tokens_per_byte:8.4f} "
                f"{p.tokens_per_norm_byte:9.4f} {p.premium:7.3f} {100 * p.unknown_share:5.1f}{flag}"
            )
        return "\n".join(lines)


def tokenizer_parity(
    model: str | Path,
    *,
    parallel: str | Path | Mapping[str, Sequence[str | None]],
    languages: Sequence[str] | None = None,
    reference: str = REFERENCE,
    premiums: PremiumTable | None = None,
    split: str | None = None,
) -> ParityReport:
    """Parity of the sentencepiece model at ``model`` on multi-parallel text.

    ``parallel`` is a TSV with one column per language, a FLORES-200-style directory
    (``<lang>.<split>``) or aligned columns keyed by language code (``None``/``""`` = missing).
    ``languages`` limits the languages (the reference is always kept). ``premiums`` gives the
    byte premiums behind ``tokens_per_norm_byte``; by default they are measured on the same
    units, and then ``tokens_per_norm_byte = parity x`` the reference's ``tokens_per_byte``.
    Cost: one sentencepiece encode of every cell."""
    import sentencepiece

    model = Path(model)
    if not model.is_file():
        raise ValueError(f"sentencepiece model {model} does not exist")
    reference = table_code(reference)
    columns = _parallel_columns(parallel, split)
    if languages is not None:
        wanted = {table_code(code) for code in languages} | {reference}
        missing = sorted(wanted - set(columns))
        if missing:
            raise ValueError(f"languages {missing} are not among the parallel columns {sorted(columns)}")
        columns = {lang: texts for lang, texts in columns.items() if lang in wanted}
    if reference not in columns:
        raise ValueError(f"reference language {reference} is not among the parallel columns {sorted(columns)}")
    if premiums is None:
        premiums = byte_premiums_from_columns(columns, reference=reference, n_bootstrap=0, min_units=0, origin=_origin(parallel))

    sp = sentencepiece.SentencePieceProcessor(model_file=str(model))
    unk = sp.unk_id()
    counts = {lang: _token_counts(sp, texts, unk) for lang, texts in columns.items()}
    ref_tokens, _ = counts[reference]
    ref_bytes = byte_lengths(columns[reference])
    report = ParityReport(model=str(model), reference=reference)
    for lang, texts in sorted(columns.items()):
        tokens, unknown = counts[lang]
        n_bytes = byte_lengths(texts)
        shared = (ref_bytes > 0) & (n_bytes > 0)
        units = int(shared.sum())
        if units == 0:
            warnings.warn(f"{lang}: no unit shared with {reference}; no parity computed", FewUnitsWarning, stacklevel=2)
            continue
        if units < MIN_UNITS and lang != reference:
            warnings.warn(
                f"{lang}: parity from only {units} units shared with {reference} (fewer than {MIN_UNITS})", FewUnitsWarning, stacklevel=2
            )
        found = premiums.premium(lang)
        report.languages[lang] = LanguageParity(
            lang=lang,
            units=units,
            tokens=int(tokens[shared].sum()),
            reference_tokens=int(ref_tokens[shared].sum()),
            bytes=int(n_bytes[shared].sum()),
            chars=sum(len(text) for text, keep in zip(texts, shared) if keep and text is not None),  # kept cells have bytes
            unknown=int(unknown[shared].sum()),
            premium=found.value,
            premium_source=found.source,
        )
    return report


def comparison_table(before: ParityReport, after: ParityReport, *, names: tuple[str, str] = ("before", "after")) -> str:
    """Parity per language under two tokenizers side by side, worst (before) first, with the
    summaries' max, min and spread. ``*`` marks a parity left out of the summary (too many <unk>)."""
    a, b = names

    def cell(report: ParityReport, lang: str) -> tuple[float, str]:
        p = report.languages.get(lang)
        return (p.parity, " " if p.reliable else "*") if p else (math.nan, " ")

    lines = [f"{'lang':10s} {a + ' parity':>14s}  {b + ' parity':>14s}  {'change':>8s}"]
    for lang in sorted(before.languages, key=lambda lang: (-before.languages[lang].parity, lang)):
        (old, old_flag), (new, new_flag) = cell(before, lang), cell(after, lang)
        lines.append(f"{lang:10s} {old:14.3f}{old_flag} {new:14.3f}{new_flag} {new / old - 1:+8.1%}")
    summaries = before.summary(), after.summary()
    for key in ("max", "min", "spread"):
        old, new = (s.get(key, math.nan) for s in summaries)
        lines.append(f"{key:10s} {old:14.3f}  {new:14.3f}  {new / old - 1:+8.1%}")
    return "\n".join(lines)


def _parallel_columns(parallel, split: str | None) -> Mapping[str, Sequence[str | None]]:
    if isinstance(parallel, Mapping):
        columns = {table_code(lang): list(texts) for lang, texts in parallel.items()}
        if len({len(texts) for texts in columns.values()}) > 1:
            raise ValueError(f"parallel columns differ in length: { {lang: len(t) for lang, t in columns.items()} }")
        return columns
    return read_parallel_columns(parallel, split)


def _origin(parallel) -> str | None:
    return None if isinstance(parallel, Mapping) else str(parallel)


def _token_counts(sp, texts: Sequence[str | None], unk: int) -> tuple[np.ndarray, np.ndarray]:
    """Tokens and <unk> tokens per cell (0 for missing cells)."""
    encoded = sp.encode([text or "" for text in texts])
    tokens = np.fromiter((len(ids) for ids in encoded), dtype=np.int64, count=len(encoded))
    unknown = np.fromiter((ids.count(unk) for ids in encoded), dtype=np.int64, count=len(encoded))
    return tokens, unknown


# -- training --------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class TokenizerTraining:
    """Sentencepiece trainer settings (a subset; the rest keep sentencepiece's defaults).

    ``character_coverage`` defaults to 1.0, not sentencepiece's 0.9995, and ``byte_fallback``
    to on (as Llama-style tokenizers have it): otherwise rare or unseen characters become
    <unk>, which makes a scarce language look cheap. With byte fallback the vocabulary holds
    256 byte pieces besides every character. ``hard_vocab_limit`` keeps sentencepiece's
    refusal to train a smaller vocabulary than asked, so two models compared have the same
    size. The model depends on ``num_threads`` (EM sums per thread); with the same settings
    and lines it is the same bit for bit (checked here with 1 and 2 threads)."""

    vocab_size: int = 8000
    model_type: Literal["unigram", "bpe", "char", "word"] = "unigram"
    character_coverage: float = 1.0
    byte_fallback: bool = True
    hard_vocab_limit: bool = True
    num_threads: int = 1

    def __post_init__(self):
        if self.vocab_size < 1:
            raise ValueError(f"vocab_size must be positive, got {self.vocab_size}")
        if not 0 < self.character_coverage <= 1:
            raise ValueError(f"character_coverage must be in (0, 1], got {self.character_coverage}")
        if self.num_threads < 1:
            raise ValueError(f"num_threads must be >= 1, got {self.num_threads}")


def train_tokenizer(lines: Iterable[str], path: str | Path, *, settings: TokenizerTraining = TokenizerTraining(), seed: int = 0) -> Path:
    """Train a sentencepiece model on ``lines`` and write it to ``path``.

    Deterministic: the lines are sorted first (so the order they were gathered in does not
    matter), all of them are used (no sentencepiece sampling) and its random generator is
    seeded. Holds the lines in memory, as sentencepiece does; lines longer than its
    ``max_sentence_length`` (4192 bytes) are skipped by it. Raises ValueError when there is
    nothing to train on or the vocabulary cannot be reached."""
    import sentencepiece

    sentences = sorted(line for line in lines if line.strip())
    if not sentences:
        raise ValueError(f"no text to train the tokenizer {path} on")
    sentencepiece.set_random_generator_seed(seed)
    model = io.BytesIO()
    try:
        sentencepiece.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences),
            model_writer=model,
            input_sentence_size=0,
            minloglevel=2,
            **asdict(settings),
        )
    except RuntimeError as exc:
        raise ValueError(f"training the tokenizer {path} on {len(sentences)} lines failed: {exc}") from exc
    path = Path(path)
    path.write_bytes(model.getvalue())
    return path


def matched_plans(sampler: ByteBudgetSampler, stats: SamplingStats) -> dict[str, SamplingPlan]:
    """Two plans over one corpus: ``balanced`` (``sampler``'s mixture) and ``raw`` (the corpus'
    own mixture, every language at the same rate), the raw one sized to the normalised bytes
    the balanced plan expects to emit. Comparing tokenizers trained on the two then shows the
    effect of the mixture, not of the amount of data."""
    balanced = sampler.plan(stats)
    sizes = stats.languages.norm_bytes()
    expected = sum(balanced.rates[lang] * size for lang, size in sizes.items())
    total = sum(sizes.values())
    raw_sampler = ByteBudgetSampler(
        temperature=1.0,
        total_norm_bytes=expected if expected > 0 else None,
        max_repeat=max(1.0, expected / total) if total else 1.0,
        seed=sampler.seed,
    )
    return {"raw": raw_sampler.plan(stats), "balanced": balanced}
