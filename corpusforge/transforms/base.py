"""The transform contract: a runner-free stage on Arrow batches.

A stage takes a ``pyarrow.RecordBatch`` of one record kind and returns a :class:`Split`: the
rows it keeps (with any columns it adds) and the rows it refuses, each with a reason. Stages
that only score add columns and keep every row; filters read columns and decide. Beam sees a
stage only through ``corpusforge.beam.stages.ApplyStage``.
"""

from __future__ import annotations

import abc

import pyarrow as pa

from corpusforge.accounting import Tally
from corpusforge.records import Split


class Stage(abc.ABC):
    """One unit of work on batches. Subclasses set ``name`` and ``version`` (bump the version
    whenever output for the same input changes) and implement :meth:`process`."""

    name: str = "stage"
    version: str = "1"
    kinds: tuple[str, ...] = ("segment", "bitext")
    # A deriving stage (translation, transliteration pairs) returns new records of this kind
    # instead of its input, which then goes on unchanged; its tally counts them as ``created``.
    derives: str | None = None
    # Columns the stage reads beyond the base schema; the recipe loader checks that an earlier
    # stage adds them, so a misordered recipe fails before the run, not on the first batch.
    requires: tuple[str, ...] = ()

    def setup(self) -> None:
        """Load models or build tables; called once per worker before the first batch, and
        lazily by library callers. Never store unpicklable state before this is called."""

    def output_fields(self, kind: str) -> list[pa.Field]:
        """Columns this stage adds to records of ``kind`` (declared, never inferred)."""
        return []

    @abc.abstractmethod
    def process(self, batch: pa.RecordBatch) -> Split:
        """Return kept rows (with added columns) and rejected rows for one batch."""

    def tally(self, split: Split) -> Tally:
        """Row counts of one processed batch for the run manifest (kept ``out``, refused ``rejected``)."""
        return Tally.of_split(self.name, split)

    def describe(self) -> dict:
        """What goes into Parquet metadata and the manifest to identify this stage's output."""
        return {"name": self.name, "version": self.version}
