"""Beam adapter for runner-free stages: a PCollection of RecordBatches in, kept batches,
rejected batches and row tallies out."""

from __future__ import annotations

from typing import NamedTuple

import apache_beam as beam
from apache_beam import pvalue

from corpusforge.accounting import Tally
from corpusforge.progress import board
from corpusforge.records import Split
from corpusforge.transforms.base import Stage

REJECTED = "rejected"
COUNTS = "counts"


class StageOutputs(NamedTuple):
    kept: beam.PCollection
    rejected: beam.PCollection
    counts: beam.PCollection


def emit_split(split: Split, tally: Tally):
    """A stage's outputs for one batch as DoFn outputs: kept rows (main), rejected rows and the
    batch's tally (tagged); empty batches are not emitted."""
    if split.kept.num_rows:
        yield split.kept
    if split.rejected.num_rows:
        yield pvalue.TaggedOutput(REJECTED, split.rejected)
    yield pvalue.TaggedOutput(COUNTS, tally)


class _StageFn(beam.DoFn):
    """Runs one stage per batch; the stage's models load in ``setup`` on the worker, never pickled."""

    def __init__(self, stage: Stage):
        self._stage = stage

    def setup(self):
        self._stage.setup()

    def process(self, batch):
        split = self._stage.process(batch)
        board().stage_rows(self._stage.name, batch.num_rows)
        yield from emit_split(split, self._stage.tally(split))


class ApplyStage(beam.PTransform):
    """Apply a :class:`Stage` to every batch; returns ``StageOutputs(kept, rejected, counts)``."""

    def __init__(self, stage: Stage):
        super().__init__(label=f"Stage[{stage.name}]")
        self._stage = stage

    def expand(self, batches):
        outputs = batches | beam.ParDo(_StageFn(self._stage)).with_outputs(REJECTED, COUNTS, main="kept")
        return StageOutputs(outputs.kept, outputs[REJECTED], outputs[COUNTS])


class _TallyCombineFn(beam.CombineFn):
    def create_accumulator(self):
        return Tally()

    def add_input(self, acc, tally):
        acc += tally
        return acc

    def merge_accumulators(self, accs):
        return Tally.merge(accs)

    def extract_output(self, acc):
        return acc


class SumTallies(beam.PTransform):
    """Sum a PCollection of Tallies into one global Tally (an empty input gives an empty Tally).
    Flatten several tally PCollections first: ``tallies | beam.Flatten() | SumTallies()``."""

    def expand(self, tallies):
        return tallies | "Sum" >> beam.CombineGlobally(_TallyCombineFn())
