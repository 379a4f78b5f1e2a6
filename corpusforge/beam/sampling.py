"""Beam side of byte premiums: per-language statistics as a combiner, and byte-budget sampling
(the sampler is a global stage: :class:`~corpusforge.beam.stages.ApplyGlobalStage` gathers its
statistics first, then decides with the plan as a side input)."""

from __future__ import annotations

import functools
from typing import NamedTuple

import apache_beam as beam

from corpusforge.beam.stages import ApplyGlobalStage, CombineStatistics
from corpusforge.premium import LanguageStats, SamplingStats
from corpusforge.transforms.sampling import ByteBudgetSampler


class ComputeLanguageStats(beam.PTransform):
    """Batches -> a single :class:`LanguageStats` (empty input gives empty stats); its
    ``to_dict()`` is the manifest's per-language section. With ``seed``, the
    :class:`SamplingStats` that byte-budget sampling plans from. Accumulators hold integer
    sums, so the result does not depend on how Beam splits work."""

    def __init__(self, seed: int | None = None):
        super().__init__()
        self._seed = seed

    def expand(self, batches):
        factory = LanguageStats if self._seed is None else functools.partial(SamplingStats, seed=self._seed)
        return batches | CombineStatistics(factory)


class SampleOutputs(NamedTuple):
    kept: beam.PCollection
    rejected: beam.PCollection
    counts: beam.PCollection
    stats: beam.PCollection  # LanguageStats of the input
    report: beam.PCollection  # achieved vs target per language (a dict)


class SampleByBudget(beam.PTransform):
    """Byte-budget sampling of segment batches that carry the premium columns. Reads the input
    twice (statistics, then decisions); up-sampled copies are tallied as ``created``, rows
    sampled out go to ``rejected`` with reason ``sampled_out``."""

    def __init__(self, sampler: ByteBudgetSampler):
        super().__init__()
        self._sampler = sampler

    def expand(self, batches):
        out = batches | ApplyGlobalStage(self._sampler, kind="segment")
        input_stats = out.stats | "LanguageStats" >> beam.Map(lambda sampling_stats: sampling_stats.languages)
        return SampleOutputs(out.kept, out.rejected, out.counts, input_stats, out.reports["sampling"])
