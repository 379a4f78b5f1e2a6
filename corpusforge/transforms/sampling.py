"""Byte-budget sampling: choose a language mixture in English-equivalent (normalised) bytes.

Two phases, because the rates depend on per-language totals: first :class:`SamplingStats` over
the whole corpus, then :meth:`ByteBudgetSampler.plan` turns them into a :class:`SamplingPlan`
(a stage) that decides every record. The sampler is a :class:`GlobalStage`: the Beam adapter
gathers its statistics, plans, decides, and adds its reports to the manifest. A record's decision depends only on u = hash(seed, id) and
its language's threshold, never on process state or batch order, so the output is reproducible.

Why thresholds rather than coin flips at the rate: the statistics also hold, per language, the
normalised bytes in each of ``HASH_BUCKETS`` slices of u. The plan picks the u below which the
records add up to the target, so a language lands on its target to within one slice (~0.1 % of
its bytes) instead of within binomial noise, which on a small language is several per cent.

Temperature sampling (XLM-R, mT5): with normalised sizes ``n_i`` and shares ``p_i = n_i / N``,
the target share is ``q_i = p_i**temperature / sum_j p_j**temperature``. ``temperature`` is the
exponent as corpus recipes write it (XLM-R's alpha = 0.3; some papers write T = 1/alpha):
1 keeps the mixture, values towards 0 make it uniform.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyarrow as pa

from corpusforge.accounting import Tally
from corpusforge.hashing import unit_hashes
from corpusforge.languages import LanguageCodeError, canonical
from corpusforge.premium.sampling import SamplingStats, segment_languages, temperature_targets
from corpusforge.premium.stats import LanguageStats
from corpusforge.premium.tables import table_code
from corpusforge.records import Split, reject_where, stable_id, with_columns
from corpusforge.transforms.base import GlobalStage, Stage

REASON = "sampled_out"
COPY_FIELD = pa.field("copy_of", pa.string(), metadata={"doc": "For up-sampled copies: id of the record copied; null on originals."})


class ByteBudgetSampler(GlobalStage):
    """The sampling policy a recipe sets (typed, validated here, cheap).

    Exactly one of:
    - ``temperature``: temperature sampling over normalised sizes. The total is ``total_norm_bytes``
      if given, else the largest mixture reachable within ``max_repeat`` and never larger than
      the input (with ``max_repeat=1``: all of the scarcest language, relative to its target).
    - ``targets``: normalised bytes wanted per language; languages not listed are kept whole.

    ``max_repeat`` > 1 allows up-sampling: a record may be emitted up to ``ceil(max_repeat)``
    times, copies getting ids derived from the original's. Rates never exceed it; a target that
    needs more is reported as missed, not met by silent extra repetition.

    In a recipe it is the ``sample`` stage; it reads ``norm_bytes``, so a ``premium`` stage
    must come before it."""

    name = "sample"
    version = "1"
    kinds = ("segment",)
    requires = ("norm_bytes",)
    derives = None
    unique_input = True  # the mixture is drawn from unique rows; its up-sampled copies stay
    report_names = ("sampling", "languages_before_sample")

    def __init__(
        self,
        *,
        temperature: float | None = None,
        targets: dict[str, float] | None = None,
        total_norm_bytes: float | None = None,
        max_repeat: float = 1.0,
        seed: int = 0,
    ):
        if (temperature is None) == (targets is None):
            raise ValueError("set exactly one of temperature (the sampling exponent) or targets (bytes per language)")
        if temperature is not None and not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        if targets is not None:
            if total_norm_bytes is not None:
                raise ValueError("total_norm_bytes applies to temperature sampling; targets already fix each language's bytes")
            bad = {lang: v for lang, v in targets.items() if not (isinstance(v, (int, float)) and v >= 0)}
            if bad:
                raise ValueError(f"targets must be non-negative byte counts, got {bad}")
            try:
                for lang in targets:
                    canonical(lang)  # table_code keeps xxx_Scrp codes as written: check them here
            except LanguageCodeError as exc:
                raise ValueError(f"targets: {exc}") from exc
            targets = {table_code(lang): float(v) for lang, v in targets.items()}
        if total_norm_bytes is not None and not total_norm_bytes > 0:
            raise ValueError(f"total_norm_bytes must be positive, got {total_norm_bytes}")
        if not max_repeat >= 1:
            raise ValueError(f"max_repeat must be >= 1 (1 = never up-sample), got {max_repeat}")
        self.temperature = temperature
        self.targets = targets
        self.total_norm_bytes = total_norm_bytes
        self.max_repeat = float(max_repeat)
        self.seed = seed

    def output_fields(self, kind: str) -> list[pa.Field]:
        return [COPY_FIELD]

    def describe(self) -> dict:
        return {
            "name": self.name,
            "version": self.version,
            "temperature": self.temperature,
            "targets": self.targets,
            "total_norm_bytes": self.total_norm_bytes,
            "max_repeat": self.max_repeat,
            "seed": self.seed,
        }

    def statistics(self) -> SamplingStats:
        return SamplingStats(seed=self.seed)

    def output_statistics(self) -> LanguageStats:
        return LanguageStats()

    def reports(self, *, stats: SamplingStats, plan: Stage, output: LanguageStats) -> dict:
        """``sampling``: achieved vs target per language; ``languages_before_sample``: what the
        sample was drawn from (``languages``, what was written, comes from :meth:`written_reports`)."""
        assert isinstance(plan, SamplingPlan)  # the plan is the one self.plan() built
        return {"sampling": plan.report(output), "languages_before_sample": stats.languages.to_dict()}

    def written_reports(self, kind: str) -> dict:
        return {"languages": LanguageStats} if kind in self.kinds else {}

    def plan(self, stats: SamplingStats) -> SamplingPlan:
        """Per-language rates and keep thresholds from the corpus statistics (phase two's input)."""
        if stats.seed != self.seed:
            raise ValueError(f"statistics were gathered with seed {stats.seed}, the sampler has seed {self.seed}")
        sizes = stats.languages.norm_bytes()
        if self.targets is not None:
            targets = {lang: self.targets.get(lang, size) for lang, size in sizes.items()}
        else:
            assert self.temperature is not None  # without targets, __init__ requires a temperature
            targets = temperature_targets(sizes, self.temperature, total_norm_bytes=self.total_norm_bytes, max_repeat=self.max_repeat)
        rates = {lang: (min(targets[lang] / size, self.max_repeat) if size > 0 else 1.0) for lang, size in sizes.items()}
        thresholds = {lang: stats.threshold(lang, rate - math.floor(rate)) for lang, rate in rates.items()}
        return SamplingPlan(rates=rates, thresholds=thresholds, targets=targets, input_stats=stats.languages, seed=self.seed)


@dataclass
class SamplingPlan(Stage):
    """Phase two: emit each record ``floor(rate)`` times, plus once more when u = hash(seed, id)
    is below its language's threshold. Rows emitted zero times go to the rejected output
    (``sampled_out``) so accounting still balances; copies carry ``copy_of`` and count as
    created rows. Segment records only."""

    rates: dict[str, float]
    thresholds: dict[str, float]
    targets: dict[str, float]
    input_stats: LanguageStats = field(default_factory=LanguageStats)
    seed: int = 0

    name = "sample"
    version = "1"
    kinds = ("segment",)

    def output_fields(self, kind: str) -> list[pa.Field]:
        return [COPY_FIELD]

    def process(self, batch: pa.RecordBatch) -> Split:
        langs = segment_languages(batch)
        ids = batch.column("id").to_pylist()
        hashes = unit_hashes(self.seed, ids)
        take: list[int] = []
        new_ids: list[str] = []
        copy_of: list[str | None] = []
        dropped = [False] * batch.num_rows
        details: list[str | None] = [None] * batch.num_rows
        for row, (record_id, lang) in enumerate(zip(ids, langs)):
            rate = self.rates.get(lang, 1.0)
            count = math.floor(rate) + int(hashes[row] < self.thresholds.get(lang, rate - math.floor(rate)))
            if count == 0:
                dropped[row] = True
                details[row] = f"{lang} kept at rate {rate:.6g}"
                continue
            for k in range(count):
                take.append(row)
                new_ids.append(record_id if k == 0 else stable_id(record_id, "copy", k))
                copy_of.append(None if k == 0 else record_id)
        kept = batch.take(pa.array(take, pa.int64()))
        kept = with_columns(kept, [kept.schema.field("id"), COPY_FIELD], [pa.array(new_ids, pa.string()), pa.array(copy_of, pa.string())])
        rejected = reject_where(batch, dropped, stage=self.name, kind="segment", reason=REASON, detail=details).rejected
        return Split(kept, rejected)

    def tally(self, split: Split) -> Tally:
        """Kept (``out``) and sampled-out rows as usual; up-sampled copies also as ``created``."""
        tally = Tally.of_split(self.name, split)
        copies = split.kept.filter(split.kept.column(COPY_FIELD.name).is_valid())
        return tally + Tally.of_rows(self.name, "created", copies)

    def report(self, achieved: LanguageStats) -> dict:
        """Achieved vs target per language, in normalised bytes and shares (for the manifest)."""
        before, after = self.input_stats.to_dict(), achieved.to_dict()
        target_total = sum(self.targets.values())
        languages = {}
        for lang in sorted(set(before) | set(after)):
            got = after.get(lang, {})
            target = self.targets.get(lang)
            target_share = target / target_total if target is not None and target_total else None
            achieved_share = got.get("share_norm_bytes", 0.0)
            languages[lang] = {
                "segments_in": before.get(lang, {}).get("segments", 0),
                "norm_bytes_in": before.get(lang, {}).get("norm_bytes", 0.0),
                "rate": self.rates.get(lang, 1.0),
                "target_norm_bytes": target,
                "target_share": target_share,
                "segments_out": got.get("segments", 0),
                "norm_bytes_out": got.get("norm_bytes", 0.0),
                "achieved_share": achieved_share,
                "share_error_pp": None if target_share is None else 100 * (achieved_share - target_share),
            }
        return {"seed": self.seed, "languages": languages}

    def describe(self) -> dict:
        return {
            **super().describe(),
            "seed": self.seed,
            "rates": dict(sorted(self.rates.items())),
            "thresholds": dict(sorted(self.thresholds.items())),
        }


@dataclass
class SampleResult:
    kept: pa.Table
    rejected: pa.Table
    plan: SamplingPlan
    report: dict


def sample_batches(batches: Iterable[pa.RecordBatch], sampler: ByteBudgetSampler) -> SampleResult:
    """Runner-free two-pass sampling of batches that carry the premium columns (holds them in
    memory; the Beam transform ``SampleByBudget`` does the same at scale)."""
    batches = list(batches)
    if not batches:
        raise ValueError("sample_batches needs at least one batch")
    stats = SamplingStats(seed=sampler.seed)
    for batch in batches:
        stats.add_batch(batch)
    plan = sampler.plan(stats)
    splits = [plan.process(batch) for batch in batches]
    kept = pa.Table.from_batches([s.kept for s in splits], schema=splits[0].kept.schema)
    rejected = pa.Table.from_batches([s.rejected for s in splits], schema=splits[0].rejected.schema)
    return SampleResult(kept=kept, rejected=rejected, plan=plan, report=plan.report(LanguageStats.of_batch(kept)))
