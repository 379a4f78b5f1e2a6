"""Exact deduplication on Beam: rows keyed by ``dedup_keys``, one survivor per key (the smallest
id, as ``corpusforge.transforms.dedup.preferred`` decides), re-batched into RecordBatches."""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

import apache_beam as beam
import pyarrow as pa
from apache_beam import pvalue
from apache_beam.transforms.window import GlobalWindows

from corpusforge.accounting import Tally
from corpusforge.transforms.dedup import DEDUP_STAGE, DUPLICATE, Kind, Scope, dedup_keys, preferred, validate_options

COUNTS = "counts"


class DedupOutputs(NamedTuple):
    unique: beam.PCollection
    counts: beam.PCollection


class _KeyRowsFn(beam.DoFn):
    """A batch -> (key, row dict) per row; ``to_pylist`` once per batch."""

    def __init__(self, kind: Kind, scope: Scope):
        self._kind, self._scope = kind, scope

    def process(self, batch: pa.RecordBatch):
        if batch.num_rows:
            yield from zip(dedup_keys(batch, kind=self._kind, scope=self._scope), batch.to_pylist())


class _KeepPreferredFn(beam.CombineFn):
    """Per key: the preferred row so far and how many rows it beat, per source of the loser."""

    def create_accumulator(self):
        return None, Counter()

    def add_input(self, acc, row):
        best, removed = acc
        if best is None:
            return row, removed
        winner = preferred(best, row)
        removed[(row if winner is best else best)["source"]] += 1
        return winner, removed

    def merge_accumulators(self, accs):
        best, removed = None, Counter()
        for other, other_removed in accs:
            removed.update(other_removed)
            if other is not None:
                best, removed = self.add_input((best, removed), other)
        return best, removed

    def extract_output(self, acc):
        return acc


class _RebatchFn(beam.DoFn):
    """Survivors -> RecordBatches of at most ``batch_size`` rows; removed-row counts -> one Tally
    per bundle. Emits in the global window (deduplication is a batch-pipeline step)."""

    def __init__(self, batch_size: int):
        self._batch_size = batch_size

    def start_bundle(self):
        self._rows, self._tally, self._schema = [], Tally(), None

    def process(self, element, schema):
        _, (row, removed) = element
        self._schema = schema
        for source, n in removed.items():
            self._tally.add(DEDUP_STAGE, source, DUPLICATE, n)
        self._rows.append(row)
        if len(self._rows) >= self._batch_size:
            yield self._flush()

    def finish_bundle(self):
        if self._rows:
            yield GlobalWindows.windowed_value(self._flush())
        if self._tally.counts:
            yield pvalue.TaggedOutput(COUNTS, GlobalWindows.windowed_value(self._tally))

    def _flush(self) -> pa.RecordBatch:
        batch = pa.RecordBatch.from_pylist(self._rows, schema=self._schema)
        self._rows = []
        return batch


class _UnifySchemasFn(beam.CombineFn):
    """The schema the survivors are re-batched under: the input batches' schema (unified)."""

    def create_accumulator(self):
        return None

    def add_input(self, acc, schema):
        return schema if acc is None or acc.equals(schema, check_metadata=True) else pa.unify_schemas([acc, schema])

    def merge_accumulators(self, accs):
        merged = None
        for schema in accs:
            if schema is not None:
                merged = self.add_input(merged, schema)
        return merged

    def extract_output(self, acc):
        return acc


class DeduplicateExact(beam.PTransform):
    """Remove exact duplicates from a PCollection of RecordBatches of one kind.

    Returns ``DedupOutputs(unique, counts)``: survivors as RecordBatches of the input schema
    (at most ``batch_size`` rows each), and Tallies of removed rows per source (stage ``dedup``,
    outcome ``duplicate``). Survivor: the smallest id per key, whatever the order or batching of
    the input. Cost: one shuffle of every row (as a dict), reduced by combiner lifting before it.
    ``scope="none"`` returns the input unchanged, with no shuffle and no counts.
    """

    def __init__(self, kind: Kind, scope: Scope = "global", *, batch_size: int = 8192):
        validate_options(kind, scope)
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        super().__init__()
        self._kind, self._scope, self._batch_size = kind, scope, batch_size

    def expand(self, batches):
        if self._scope == "none":
            return DedupOutputs(batches, batches.pipeline | "NoCounts" >> beam.Create([]))
        schema = (
            batches
            | "Schemas" >> beam.Map(lambda batch: batch.schema)
            | "UnifySchemas" >> beam.CombineGlobally(_UnifySchemasFn()).without_defaults()
        )
        survivors = (
            batches
            | "KeyRows" >> beam.ParDo(_KeyRowsFn(self._kind, self._scope))
            | "KeepSmallestId" >> beam.CombinePerKey(_KeepPreferredFn())
            | "Rebatch" >> beam.ParDo(_RebatchFn(self._batch_size), schema=pvalue.AsSingleton(schema)).with_outputs(COUNTS, main="unique")
        )
        return DedupOutputs(survivors.unique, survivors[COUNTS])
