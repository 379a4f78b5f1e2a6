"""The language stages through Beam's ApplyStage on the DirectRunner: the model loads on the
worker (setup), rows come out as the runner-free stages make them, rejected rows and tallies
flow to their outputs."""

import apache_beam as beam
import pyarrow as pa
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to
from test_bitext_filters import CORPUS, bitext
from test_lid import SENTENCES

from corpusforge.beam.stages import ApplyStage, SumTallies
from corpusforge.transforms.bitext_filters import BitextFilter, BitextScorer
from corpusforge.transforms.codemix import CodeMixingMetrics
from corpusforge.transforms.lid import LanguageFilter, LanguageIdentifier
from corpusforge.transforms.tokens import TokenTagger

pytestmark = pytest.mark.slow


def direct_pipeline():
    return beam.Pipeline(options=PipelineOptions(runner="DirectRunner"))


def rows(columns):
    """Batch -> list of tuples of the named columns (what assert_that compares)."""
    return lambda batch: list(zip(*(batch.column(c).to_pylist() for c in columns)))


def test_segments_identified_filtered_and_tagged_on_the_direct_runner():
    codes = ["hin_Deva", "urd_Arab", "zho_Hant", "eng_Latn"]
    texts = [SENTENCES[c] for c in codes] + ["मुझे यह movie बहुत अच्छी लगी!", "   "]
    batch = pa.RecordBatch.from_pydict({"id": [str(i) for i in range(len(texts))], "source": ["web"] * len(texts), "text": texts})
    with direct_pipeline() as p:
        identified = p | beam.Create([batch]) | "lid" >> ApplyStage(LanguageIdentifier(top_k=2))
        filtered = identified.kept | "filter" >> ApplyStage(LanguageFilter(allowed=["hin", "urd", "zho"], default_threshold=0.5))
        tagged = filtered.kept | "tags" >> ApplyStage(TokenTagger(script_languages={"Latn": "eng_Latn"}))
        metrics = tagged.kept | "metrics" >> ApplyStage(CodeMixingMetrics())
        assert_that(
            metrics.kept | "kept rows" >> beam.FlatMap(rows(["id", "lang", "script", "switch_points"])),
            equal_to(
                [("0", "hin_Deva", "Deva", 0), ("1", "urd_Arab", "Arab", 0), ("2", "zho_Hant", "Hant", 0), ("4", "hin_Deva", "Deva", 2)]
            ),
            label="kept",
        )
        assert_that(
            filtered.rejected | "rejected rows" >> beam.FlatMap(rows(["id", "reason", "stage"])),
            equal_to([("3", "lang_mismatch", "lang_filter"), ("5", "lang_mismatch", "lang_filter")]),
            label="rejected",
        )
        tally = (identified.counts, filtered.counts, tagged.counts, metrics.counts) | beam.Flatten() | SumTallies()
        assert_that(
            tally
            | "totals"
            >> beam.Map(lambda t: (t.total("out", "lid"), t.total("rejected", "lang_filter"), t.total("out", "codemix_metrics"))),
            equal_to([(6, 2, 4)]),
            label="tally",
        )


def test_bitext_filters_on_the_direct_runner():
    batch = bitext(CORPUS)
    with direct_pipeline() as p:
        lid = p | beam.Create([batch]) | "lid" >> ApplyStage(LanguageIdentifier())
        scored = lid.kept | "score" >> ApplyStage(BitextScorer())
        decided = scored.kept | "filter" >> ApplyStage(BitextFilter(src_languages=["eng_Latn"], tgt_languages=["hin_Deva"]))
        assert_that(
            decided.kept | "kept rows" >> beam.FlatMap(rows(["id"])),
            equal_to([(pair_id,) for pair_id, _, _, reason in CORPUS if reason is None]),
            label="kept",
        )
        assert_that(
            decided.rejected | "rejected rows" >> beam.FlatMap(rows(["id", "reason"])),
            equal_to([(pair_id, reason) for pair_id, _, _, reason in CORPUS if reason is not None]),
            label="rejected",
        )
