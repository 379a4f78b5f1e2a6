"""Exact deduplication on Beam: rows keyed by ``dedup_keys``, one survivor per key (the smallest
id, as ``corpusforge.transforms.dedup.preferred`` decides), re-batched into RecordBatches.

Two ways: rows as dicts through a combiner (no ``temp_dir``: the whole input in the shuffle, which
a local runner holds in memory, ~10x the input), or, with ``temp_dir``, rows spilled to Arrow
files per key bucket and only the file names shuffled, each bucket deduplicated on its own
(:class:`corpusforge.transforms.dedup.ExactDeduplicator`): memory is one bucket."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import NamedTuple

import apache_beam as beam
import pyarrow as pa
from apache_beam import pvalue
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindows

from corpusforge.accounting import Tally
from corpusforge.beam.stages import COUNTS
from corpusforge.beam.write import read_spill, write_spill
from corpusforge.io.shards import group_rows
from corpusforge.transforms.dedup import DEDUP_STAGE, DUPLICATE, ExactDeduplicator, Kind, Scope, dedup_keys, preferred, validate_options


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


class _SpillByKeyFn(beam.DoFn):
    """Rows -> Arrow spill files per key bucket (``key mod buckets``), at most ``buffer_bytes``
    held per bundle; emits ``(bucket, path)``."""

    def __init__(self, *, temp_dir: str, kind: Kind, scope: Scope, buckets: int, buffer_bytes: int):
        self._temp_dir, self._kind, self._scope = temp_dir, kind, scope
        self._buckets, self._buffer_bytes = buckets, buffer_bytes
        self._buffers: dict[int, list[pa.Table]] = {}
        self._bytes = 0

    def start_bundle(self):
        self._buffers, self._bytes = {}, 0

    def process(self, batch: pa.RecordBatch):
        if not batch.num_rows:
            return
        keys = dedup_keys(batch, kind=self._kind, scope=self._scope)
        buckets = pa.array([int.from_bytes(key[:8], "big") % self._buckets for key in keys], pa.int64())
        for bucket, rows in group_rows(pa.Table.from_batches([batch]), buckets):
            self._buffers.setdefault(int(bucket), []).append(rows)  # type: ignore[call-overload]  # group_rows keys: the int64 buckets
            self._bytes += rows.nbytes
        if self._bytes > self._buffer_bytes:
            yield from self._spill()

    def finish_bundle(self):
        for spilled in self._spill():
            yield GlobalWindows.windowed_value(spilled)

    def _spill(self):
        buffers, self._buffers, self._bytes = self._buffers, {}, 0
        for bucket in sorted(buffers):
            tables = buffers[bucket]
            while tables:  # one file per run of tables sharing a schema
                schema = tables[0].schema
                same = [t for t in tables if t.schema.equals(schema, check_metadata=True)]
                tables = [t for t in tables if not t.schema.equals(schema, check_metadata=True)]
                path = FileSystems.join(self._temp_dir, f"spill-{uuid.uuid4().hex}.arrow")
                write_spill(path, schema, same)
                yield bucket, path


class _DedupBucketFn(beam.DoFn):
    """One bucket's spill files -> its survivors (batches of at most ``batch_size`` rows, per
    input schema) and one Tally of the rows it removed."""

    def __init__(self, *, kind: Kind, scope: Scope, batch_size: int):
        self._kind, self._scope, self._batch_size = kind, scope, batch_size

    def process(self, element):
        _, paths = element
        dedup = ExactDeduplicator(self._kind, self._scope)
        for path in sorted(paths):
            for batch in read_spill(path).to_batches():
                dedup.add(batch)
        by_schema: dict[pa.Schema, list[pa.RecordBatch]] = {}
        for batch in dedup.unique():
            by_schema.setdefault(batch.schema, []).append(batch)
        for schema, batches in by_schema.items():
            yield from pa.Table.from_batches(batches, schema=schema).combine_chunks().to_batches(max_chunksize=self._batch_size)
        tally = dedup.counts()
        if tally.counts:
            yield pvalue.TaggedOutput(COUNTS, tally)


class DeduplicateExact(beam.PTransform):
    """Remove exact duplicates from a PCollection of RecordBatches of one kind.

    Returns ``DedupOutputs(unique, counts)``: survivors as RecordBatches of the input schema
    (at most ``batch_size`` rows each), and Tallies of removed rows per source (stage ``dedup``,
    outcome ``duplicate``). Survivor: the smallest id per key, whatever the order or batching of
    the input. Cost: one shuffle of every row (as a dict), reduced by combiner lifting before it.
    ``scope="none"`` returns the input unchanged, with no shuffle and no counts.

    ``temp_dir`` (a folder the caller removes once the run is done): rows are spilled there in
    ``buckets`` key buckets and each bucket is deduplicated alone, so memory holds one bucket
    (about 1/``buckets`` of the input) instead of the whole shuffle; the survivors and counts are
    the same.
    """

    def __init__(self, kind: Kind, scope: Scope = "global", *, batch_size: int = 8192, temp_dir: str | None = None, buckets: int = 64):
        validate_options(kind, scope)
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        if buckets < 1:
            raise ValueError(f"buckets must be at least 1, not {buckets}")
        super().__init__()
        self._kind, self._scope, self._batch_size = kind, scope, batch_size
        self._temp_dir, self._buckets = temp_dir, buckets

    def expand(self, batches):
        if self._scope == "none":
            return DedupOutputs(batches, batches.pipeline | "NoCounts" >> beam.Create([]))
        if self._temp_dir is not None:
            temp_dir = FileSystems.join(self._temp_dir, uuid.uuid4().hex)
            spill = _SpillByKeyFn(temp_dir=temp_dir, kind=self._kind, scope=self._scope, buckets=self._buckets, buffer_bytes=64 << 20)
            out = (
                batches
                | "Spill" >> beam.ParDo(spill)
                | "Buckets" >> beam.GroupByKey()
                | "DedupBuckets"
                >> beam.ParDo(_DedupBucketFn(kind=self._kind, scope=self._scope, batch_size=self._batch_size)).with_outputs(
                    COUNTS, main="unique"
                )
            )
            return DedupOutputs(out.unique, out[COUNTS])
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
