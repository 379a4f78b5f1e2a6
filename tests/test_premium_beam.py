"""Beam side of byte premiums on the DirectRunner: the per-language statistics combiner and the
two-phase byte-budget sampling transform agree with the runner-free library."""

import pickle

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to
from test_sampling import skewed_corpus

from corpusforge.beam.sampling import ComputeLanguageStats, SampleByBudget
from corpusforge.beam.stages import SumTallies
from corpusforge.premium import LanguageStats, SamplingStats
from corpusforge.transforms.sampling import ByteBudgetSampler, sample_batches

pytestmark = pytest.mark.slow


def direct_pipeline():
    return beam.Pipeline(options=PipelineOptions(runner="DirectRunner"))


@pytest.fixture(scope="module")
def corpus():
    return skewed_corpus(batch_rows=500, scale=0.25)  # Beam pickles Create's data: keep it small


def test_stats_combiner_matches_the_library_however_input_is_split(corpus):
    expected = LanguageStats()
    for batch in corpus:
        expected.merge(LanguageStats.of_batch(batch))
    with direct_pipeline() as p:
        stats = p | beam.Create(corpus, reshuffle=True) | ComputeLanguageStats()
        assert_that(stats | beam.Map(lambda s: s.to_dict()), equal_to([expected.to_dict()]))
    # sampling statistics merge to the same integers in any order
    forward, backward = SamplingStats(seed=3), SamplingStats(seed=3)
    for batch in corpus:
        forward.add_batch(batch)
    for batch in reversed(corpus):
        backward.merge(SamplingStats(seed=3)).add_batch(batch)
    assert pickle.dumps(sorted((k, v.tolist()) for k, v in forward.histograms.items())) == pickle.dumps(
        sorted((k, v.tolist()) for k, v in backward.histograms.items())
    )


def test_sample_by_budget_matches_the_library_and_balances(corpus):
    sampler = ByteBudgetSampler(temperature=0.3, total_norm_bytes=100_000, max_repeat=2.0, seed=5)
    local = sample_batches(corpus, sampler)
    n_in = sum(b.num_rows for b in corpus)
    n_copies = local.kept.num_rows - local.kept.column("copy_of").null_count
    assert n_copies > 0  # the budget needs up-sampling of the small languages

    with direct_pipeline() as p:
        out = p | beam.Create(corpus, reshuffle=True) | SampleByBudget(sampler)
        ids = out.kept | "Ids" >> beam.FlatMap(lambda b: b.column("id").to_pylist())
        assert_that(ids, equal_to(local.kept.column("id").to_pylist()), label="SameRows")
        reasons = out.rejected | "Reasons" >> beam.FlatMap(lambda b: b.column("reason").to_pylist())
        assert_that(reasons, equal_to(["sampled_out"] * local.rejected.num_rows), label="Rejected")
        balance = out.counts | SumTallies() | beam.Map(lambda t: (t.total("out"), t.total("rejected"), t.total("created")))
        out_rows = local.kept.num_rows
        assert_that(balance, equal_to([(out_rows, n_in - (out_rows - n_copies), n_copies)]), label="Balance")
        assert_that(out.report, equal_to([local.report]), label="Report")
        assert_that(out.stats | beam.Map(lambda s: s.to_dict()), equal_to([local.plan.input_stats.to_dict()]), label="Stats")
