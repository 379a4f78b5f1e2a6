"""Per-language statistics of a corpus carrying the ``premium`` stage's columns: segments, raw
bytes and English-equivalent (normalised) bytes per language, mergeable in any order with the
same result. What the run manifest reports and what byte-budget sampling plans from."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.records import SIDES, kind_of

UNKNOWN_LANG = "und"


def text_sides(schema: pa.Schema) -> list[tuple[str, str, str]]:
    """(prefix, text column, language column) per side: one for segments, two for bitext."""
    sides = [(prefix, column, f"{prefix}lang") for column, prefix in SIDES[kind_of(schema)]]
    if any(column not in schema.names for _, column, _ in sides):
        raise ValueError(f"batch has neither a text column nor src_text/tgt_text: {schema.names}")
    return sides


def column_or_nulls(batch: pa.RecordBatch | pa.Table, name: str) -> pa.Array:
    """The column ``name``, or nulls when the batch has none (a record without a language)."""
    index = batch.schema.get_field_index(name)
    return batch.column(index) if index >= 0 else pa.nulls(batch.num_rows, pa.string())


MILLI = 1000


@dataclass
class LanguageTotals:
    """Sums for one language. Normalised bytes are kept as integer milli-bytes so totals do not
    depend on the order batches are merged in (float sums would, in the last bits)."""

    segments: int = 0
    bytes: int = 0
    norm_millibytes: int = 0
    sources: set[str] = field(default_factory=set)

    @property
    def norm_bytes(self) -> float:
        return self.norm_millibytes / MILLI

    def add(self, other: LanguageTotals) -> None:
        self.segments += other.segments
        self.bytes += other.bytes
        self.norm_millibytes += other.norm_millibytes
        self.sources |= other.sources


@dataclass
class LanguageStats:
    """Per-language segments, raw bytes and normalised bytes of a corpus; mergeable, so one
    batch at a time, then :meth:`merge`. Bitext counts each side under its own language.
    Requires the :class:`BytePremiumAnnotator` columns."""

    totals: dict[str, LanguageTotals] = field(default_factory=dict)

    @classmethod
    def of_batch(cls, batch: pa.RecordBatch | pa.Table) -> LanguageStats:
        stats = cls()
        stats.add_batch(batch)
        return stats

    def add_batch(self, batch: pa.RecordBatch | pa.Table) -> None:
        if batch.num_rows == 0:
            return
        for prefix, _, lang_column in text_sides(batch.schema):
            for name in ("n_bytes", "norm_bytes", "premium_source"):
                if prefix + name not in batch.schema.names:
                    raise ValueError(f"column {prefix + name!r} is missing: run the premium stage first")
            table = pa.table(
                {
                    "lang": pc.fill_null(column_or_nulls(batch, lang_column), UNKNOWN_LANG),
                    "bytes": batch.column(prefix + "n_bytes"),
                    "norm": milli_bytes(batch.column(prefix + "norm_bytes")),
                    "source": batch.column(prefix + "premium_source"),
                }
            )
            grouped = table.group_by("lang").aggregate([("bytes", "count"), ("bytes", "sum"), ("norm", "sum"), ("source", "distinct")])
            for row in grouped.to_pylist():
                self._totals(row["lang"]).add(
                    LanguageTotals(
                        segments=row["bytes_count"],
                        bytes=row["bytes_sum"] or 0,
                        norm_millibytes=row["norm_sum"] or 0,
                        sources={s for s in row["source_distinct"] if s is not None},
                    )
                )

    def _totals(self, lang: str) -> LanguageTotals:
        return self.totals.setdefault(lang, LanguageTotals())

    def merge(self, other: LanguageStats) -> LanguageStats:
        """Add ``other`` into this one (in place) and return it."""
        for lang, totals in other.totals.items():
            self._totals(lang).add(totals)
        return self

    def norm_bytes(self) -> dict[str, float]:
        return {lang: t.norm_bytes for lang, t in sorted(self.totals.items())}

    def to_dict(self) -> dict[str, dict]:
        """What the manifest records, per language: segments, bytes, norm_bytes, the share of
        the corpus by each, and the premium source(s) used."""
        sums = {
            "segments": sum(t.segments for t in self.totals.values()),
            "bytes": sum(t.bytes for t in self.totals.values()),
            "norm_bytes": sum(t.norm_millibytes for t in self.totals.values()) / MILLI,
        }
        out = {}
        for lang, t in sorted(self.totals.items()):
            values = {"segments": t.segments, "bytes": t.bytes, "norm_bytes": t.norm_bytes}
            out[lang] = {
                **values,
                **{f"share_{k}": (v / sums[k] if sums[k] else 0.0) for k, v in values.items()},
                "premium_source": sorted(t.sources),
            }
        return out


def milli_bytes(norm_bytes: pa.Array) -> pa.Array:
    """Normalised bytes as integer milli-bytes (exact to sum in any order)."""
    return pc.round(pc.multiply(pc.fill_null(norm_bytes, 0.0), float(MILLI))).cast(pa.int64())
