"""The ``script`` stage: dominant script, script shares and a mixed-script flag of every row's
text, from the Unicode script tables in :mod:`corpusforge.scripts`."""

from __future__ import annotations

import pyarrow as pa

from corpusforge.records import SIDES, Split, kind_of, with_columns
from corpusforge.scripts import script_fields, script_profile
from corpusforge.transforms.base import Stage


class ScriptDetector(Stage):
    """Adds ``script``, ``script_props`` and ``mixed_script`` (``src_``/``tgt_`` for bitext).
    Keeps every row. Use it alone when no language ID is wanted: :class:`LanguageIdentifier`
    adds the same columns."""

    name = "script"
    version = "2"  # 2: script_props as (key, value) entries instead of a map

    def __init__(self, *, mixed_threshold: float = 0.05):
        if not 0.0 < mixed_threshold <= 0.5:
            raise ValueError(f"mixed_threshold must be in (0, 0.5], got {mixed_threshold}")
        self.mixed_threshold = mixed_threshold

    def output_fields(self, kind: str) -> list[pa.Field]:
        return [f for _, prefix in SIDES[kind] for f in script_fields(prefix)]

    def process(self, batch: pa.RecordBatch) -> Split:
        for column, prefix in SIDES[kind_of(batch)]:
            profile = script_profile(batch.column(column), mixed_threshold=self.mixed_threshold)
            batch = with_columns(batch, script_fields(prefix), profile.arrays())
        return Split.keep_all(batch)

    def describe(self) -> dict:
        return {**super().describe(), "mixed_threshold": self.mixed_threshold}
