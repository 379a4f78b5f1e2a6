"""Exact deduplication: keys, the in-memory deduplicator and the Beam transform agree, keep the
smallest id whatever the input order or batching, and count every removed row."""

from __future__ import annotations

import random

import apache_beam as beam
import pyarrow as pa
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from corpusforge.accounting import Tally
from corpusforge.beam.dedup import DeduplicateExact
from corpusforge.beam.stages import SumTallies
from corpusforge.schemas import load_schema
from corpusforge.transforms.dedup import ExactDeduplicator, dedup_keys

SEGMENT = load_schema("segment")
BITEXT = load_schema("bitext")

# id, source, text: duplicates within a source (a), across sources (a/b/c), and a singleton.
SEGMENTS = [
    ("07", "a", "नमस्ते दुनिया"),
    ("03", "a", "नमस्ते दुनिया"),
    ("05", "b", "नमस्ते दुनिया"),
    ("01", "b", "Hello world"),
    ("09", "a", "Hello world"),
    ("02", "c", "یہ ایک جملہ ہے"),
    ("08", "c", "Hello world"),
    ("04", "c", "hello world"),  # differs in case: not a duplicate
    ("06", "a", "Unique line"),
]


def segment_rows() -> list[dict]:
    return [
        {"id": i, "source": s, "text": t, "lang": "hin_Deva" if i == "07" else None, "doc_id": None, "meta": [{"key": "n", "value": i}]}
        for i, s, t in SEGMENTS
    ]


def pair_rows() -> list[dict]:
    pairs = [
        ("p3", "x", "Good morning", "सुप्रभात"),
        ("p1", "y", "Good morning", "सुप्रभात"),  # duplicate pair across sources
        ("p2", "x", "Good morning", "शुभ प्रभात"),  # same source side, other target: kept
        ("p4", "x", "सुप्रभात", "Good morning"),  # swapped sides: kept
        ("p5", "x", "Good mor", "ningसुप्रभात"),  # same concatenation, other split: kept
        ("p6", "x", "COVID-19", "COVID-19"),
        ("p7", "x", "COVID-19", "COVID-19"),  # the same pair into another language: kept
    ]
    langs = {"p6": "fra_Latn", "p7": "deu_Latn"}
    return [{"id": i, "source": s, "src_text": a, "tgt_text": b, "tgt_lang": langs.get(i), "origin": "corpus"} for i, s, a, b in pairs]


def batches_of(rows: list[dict], schema: pa.Schema, sizes: list[int]) -> list[pa.RecordBatch]:
    out, start = [], 0
    for size in sizes:
        out.append(pa.RecordBatch.from_pylist(rows[start : start + size], schema=schema))
        start += size
    assert start == len(rows)
    return out


def in_memory(batches, kind, scope) -> tuple[list[dict], Tally]:
    dedup = ExactDeduplicator(kind, scope)
    for batch in batches:
        dedup.add(batch)
    return [row for batch in dedup.unique() for row in batch.to_pylist()], dedup.counts()


def ids(rows) -> list[str]:
    return sorted(r["id"] for r in rows)


def test_keys_hash_text_and_optionally_source():
    batch = pa.RecordBatch.from_pylist(segment_rows(), schema=SEGMENT)
    global_keys = dedup_keys(batch, kind="segment", scope="global")
    source_keys = dedup_keys(batch, kind="segment", scope="source")
    assert all(isinstance(k, bytes) and len(k) == 16 for k in global_keys + source_keys)
    assert global_keys[0] == global_keys[1] == global_keys[2]  # same text, sources a, a, b
    assert source_keys[0] == source_keys[1] != source_keys[2]
    assert global_keys[3] != global_keys[7]  # case matters
    with pytest.raises(ValueError, match="none"):
        dedup_keys(batch, kind="segment", scope="none")
    with pytest.raises(ValueError, match="kind"):
        dedup_keys(batch, kind="rejected", scope="global")


def test_global_scope_keeps_the_smallest_id_and_counts_removed_rows_per_source():
    rows, tally = in_memory(batches_of(segment_rows(), SEGMENT, [4, 5]), "segment", "global")
    assert ids(rows) == ["01", "02", "03", "04", "06"]
    survivor = next(r for r in rows if r["id"] == "03")
    assert survivor == segment_rows()[1]  # the whole row survives, not just its text
    assert tally == Tally({("dedup", "a", "duplicate"): 2, ("dedup", "b", "duplicate"): 1, ("dedup", "c", "duplicate"): 1})
    assert len(rows) + tally.total("duplicate") == len(SEGMENTS)


def test_source_scope_removes_duplicates_only_within_a_source():
    rows, tally = in_memory(batches_of(segment_rows(), SEGMENT, [9]), "segment", "source")
    assert ids(rows) == ["01", "02", "03", "04", "05", "06", "08", "09"]
    assert tally == Tally({("dedup", "a", "duplicate"): 1})


def test_none_scope_keeps_everything():
    batches = batches_of(segment_rows(), SEGMENT, [3, 6])
    rows, tally = in_memory(batches, "segment", "none")
    assert rows == segment_rows() and tally == Tally()


def test_bitext_pairs_are_duplicates_only_when_both_sides_and_languages_match():
    rows, tally = in_memory(batches_of(pair_rows(), BITEXT, [2, 5]), "bitext", "global")
    assert ids(rows) == ["p1", "p2", "p4", "p5", "p6", "p7"]
    assert tally == Tally({("dedup", "x", "duplicate"): 1})


def test_survivor_does_not_depend_on_input_order_or_batching():
    base = segment_rows() + [{"id": "03", "source": "a", "text": "नमस्ते दुनिया", "lang": "zzz_Zzzz"}]  # same id twice
    results = set()
    for seed in range(8):
        rows = base[:]
        random.Random(seed).shuffle(rows)
        cut = random.Random(seed).randint(1, len(rows) - 1)
        kept, tally = in_memory(batches_of(rows, SEGMENT, [cut, len(rows) - cut]), "segment", "global")
        results.add((tuple(sorted(repr(sorted(r.items())) for r in kept)), tuple(sorted(tally.counts.items()))))
    assert len(results) == 1


def run_beam(batches, kind, scope, *, batch_size, expected_rows, expected_tally, schema, temp_dir=None):
    """Run DeduplicateExact on the DirectRunner and check rows, counts and output batches."""
    expected = [tuple(sorted(r.items())) for r in expected_rows]

    def check_batches(batches_out):
        assert all(0 < b.num_rows <= batch_size for b in batches_out)
        assert all(b.schema.equals(schema) for b in batches_out)

    with beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner"])) as p:
        result = (
            p | beam.Create(batches, reshuffle=False) | DeduplicateExact(kind, scope, batch_size=batch_size, temp_dir=temp_dir, buckets=3)
        )
        assert_that(result.unique | beam.FlatMap(lambda b: [tuple(sorted(r.items())) for r in b.to_pylist()]), equal_to(expected))
        assert_that(result.unique, check_batches, label="BatchShape")
        assert_that(result.counts | SumTallies(), equal_to([expected_tally]), label="Counts")


@pytest.mark.slow
@pytest.mark.parametrize("spill", [False, True], ids=["combiner", "spilled"])
def test_beam_matches_in_memory_whatever_the_order_and_batching(spill, tmp_path):
    rows = segment_rows()
    expected_rows, expected_tally = in_memory(batches_of(rows, SEGMENT, [len(rows)]), "segment", "global")
    for seed, sizes, batch_size in [(1, [2, 7], 2), (2, [5, 1, 3], 100)]:
        shuffled = rows[:]
        random.Random(seed).shuffle(shuffled)
        run_beam(
            batches_of(shuffled, SEGMENT, sizes),
            "segment",
            "global",
            batch_size=batch_size,
            expected_rows=expected_rows,
            expected_tally=expected_tally,
            schema=SEGMENT,
            temp_dir=str(tmp_path / f"spill-{seed}") if spill else None,
        )


@pytest.mark.slow
@pytest.mark.parametrize("spill", [False, True], ids=["combiner", "spilled"])
def test_beam_bitext_in_source_scope(spill, tmp_path):
    rows = pair_rows()
    expected_rows, expected_tally = in_memory(batches_of(rows, BITEXT, [7]), "bitext", "source")
    assert ids(expected_rows) == ["p1", "p2", "p3", "p4", "p5", "p6", "p7"] and expected_tally == Tally()
    run_beam(
        batches_of(rows[::-1], BITEXT, [1, 6]),
        "bitext",
        "source",
        batch_size=3,
        expected_rows=expected_rows,
        expected_tally=Tally(),
        schema=BITEXT,
        temp_dir=str(tmp_path) if spill else None,
    )


def test_beam_scope_none_is_the_identity_without_a_shuffle():
    with beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner"])) as p:
        batches = p | beam.Create(batches_of(segment_rows(), SEGMENT, [4, 5]))
        result = batches | DeduplicateExact("segment", "none")
        assert result.unique is batches
        assert_that(result.counts, equal_to([]))
