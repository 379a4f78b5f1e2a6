"""Beam side of byte premiums: per-language statistics as a combiner, and byte-budget sampling
as a two-phase PTransform (statistics first, then decisions with the plan as a side input)."""

from __future__ import annotations

from typing import NamedTuple

import apache_beam as beam
from apache_beam import pvalue

from corpusforge.accounting import Tally
from corpusforge.beam.stages import COUNTS, REJECTED
from corpusforge.transforms.premium import LanguageStats
from corpusforge.transforms.sampling import COPY_FIELD, ByteBudgetSampler, SamplingPlan, SamplingStats


class LanguageStatsFn(beam.CombineFn):
    """Combines RecordBatches carrying the premium columns into one :class:`LanguageStats`
    (or, with ``seed``, the :class:`SamplingStats` that byte-budget sampling plans from).
    Accumulators hold integer sums, so the result does not depend on how Beam splits work."""

    def __init__(self, seed: int | None = None):
        self._seed = seed

    def create_accumulator(self):
        return LanguageStats() if self._seed is None else SamplingStats(seed=self._seed)

    def add_input(self, acc, batch):
        acc.add_batch(batch)
        return acc

    def merge_accumulators(self, accs):
        merged = self.create_accumulator()
        for acc in accs:
            merged.merge(acc)
        return merged

    def extract_output(self, acc):
        return acc


class ComputeLanguageStats(beam.PTransform):
    """Batches -> a single :class:`LanguageStats` (empty input gives empty stats); its
    ``to_dict()`` is the manifest's per-language section."""

    def __init__(self, seed: int | None = None):
        super().__init__()
        self._seed = seed

    def expand(self, batches):
        return batches | "CombineStats" >> beam.CombineGlobally(LanguageStatsFn(self._seed))


class SampleOutputs(NamedTuple):
    kept: beam.PCollection
    rejected: beam.PCollection
    counts: beam.PCollection
    stats: beam.PCollection  # LanguageStats of the input
    report: beam.PCollection  # achieved vs target per language (a dict)


class _SampleFn(beam.DoFn):
    def process(self, batch, plan: SamplingPlan):
        split = plan.process(batch)
        if split.kept.num_rows:
            yield split.kept
        if split.rejected.num_rows:
            yield pvalue.TaggedOutput(REJECTED, split.rejected)
        tally = Tally.of_split(plan.name, split)
        copies = split.kept.filter(split.kept.column(COPY_FIELD.name).is_valid())
        tally += Tally.of_rows(plan.name, "created", copies)
        yield pvalue.TaggedOutput(COUNTS, tally)


class SampleByBudget(beam.PTransform):
    """Byte-budget sampling of segment batches that carry the premium columns. Reads the input
    twice (statistics, then decisions); up-sampled copies are tallied as ``created``, rows
    sampled out go to ``rejected`` with reason ``sampled_out``."""

    def __init__(self, sampler: ByteBudgetSampler):
        super().__init__()
        self._sampler = sampler

    def expand(self, batches):
        stats = batches | "InputStats" >> ComputeLanguageStats(seed=self._sampler.seed)
        plan = stats | "Plan" >> beam.Map(self._sampler.plan)
        outputs = batches | "Sample" >> beam.ParDo(_SampleFn(), pvalue.AsSingleton(plan)).with_outputs(
            REJECTED, COUNTS, main="kept"
        )
        achieved = outputs.kept | "OutputStats" >> ComputeLanguageStats()
        report = plan | "Report" >> beam.Map(lambda p, got: p.report(got), pvalue.AsSingleton(achieved))
        input_stats = stats | "LanguageStats" >> beam.Map(lambda sampling_stats: sampling_stats.languages)
        return SampleOutputs(outputs.kept, outputs[REJECTED], outputs[COUNTS], input_stats, report)
