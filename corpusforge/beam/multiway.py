"""Beam side of the multi-way join: the ``multiway`` stage runs through the global-stage adapter
(:class:`~corpusforge.beam.stages.ApplyGlobalStage`: its pair table is combined over the whole
corpus, then the join decides every batch); :class:`GatherTuples` turns the joined records into
``multiway/`` rows, one per tuple, grouped by tuple id across the whole corpus."""

from __future__ import annotations

import apache_beam as beam

from corpusforge.transforms.multiway import tuple_members, tuple_rows

TUPLES_PER_BATCH = 4096


class GatherTuples(beam.PTransform):
    """Joined bitext batches -> ``multiway`` row batches for tuples of at least ``min_degree``
    languages (a shuffle on tuple id; deterministic rows, sorted within each batch)."""

    def __init__(self, min_degree: int):
        super().__init__()
        self._min_degree = min_degree

    def expand(self, batches):
        return (
            batches
            | "Members" >> beam.FlatMap(lambda batch, m: [(row[0], row) for row in tuple_members(batch, m)], self._min_degree)
            | "ByTuple" >> beam.GroupByKey()
            | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=TUPLES_PER_BATCH)
            | "Rows" >> beam.Map(lambda groups: tuple_rows(member for _, members in groups for member in members))
        )
