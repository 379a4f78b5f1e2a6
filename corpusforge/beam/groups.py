"""Outputs about groups of records that a stage declares (:class:`~corpusforge.transforms.base.GroupedOutput`,
e.g. the ``multiway`` stage's tuples): the members of each group are gathered by key across the
whole corpus, then turned into rows, one per group."""

from __future__ import annotations

import apache_beam as beam

from corpusforge.transforms.base import GroupedOutput

GROUPS_PER_BATCH = 4096


class GatherGroups(beam.PTransform):
    """Kept record batches -> row batches of ``grouped``'s output (a shuffle on group key;
    rows deterministic, a batch's rows sorted by its ``rows`` function)."""

    def __init__(self, grouped: GroupedOutput):
        super().__init__()
        self._grouped = grouped

    def expand(self, batches):
        members, rows = self._grouped.members, self._grouped.rows
        return (
            batches
            | "Members" >> beam.FlatMap(members)
            | "ByGroup" >> beam.GroupByKey()
            | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=GROUPS_PER_BATCH)
            | "Rows" >> beam.Map(lambda groups: rows(member for _, members in groups for member in members))
        )
