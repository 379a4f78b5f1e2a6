"""Byte-premium accounting stage and per-language statistics.

:class:`BytePremiumAnnotator` adds to every record its UTF-8 size, its length in code points,
its language's byte premium and its English-equivalent size ``norm_bytes = n_bytes / premium``,
with where the premium came from. Bitext records get the columns per side, prefixed ``src_`` and
``tgt_``. :class:`LanguageStats` sums those columns per language (what the run manifest reports
and what byte-budget sampling plans from).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.languages import LanguageCodeError, canonical
from corpusforge.premium import REFERENCE, PremiumTable, table_code
from corpusforge.records import SIDES, Split, kind_of, with_columns
from corpusforge.transforms.base import Stage

UNKNOWN_LANG = "und"

_FIELDS = (
    ("n_bytes", pa.int64(), "UTF-8 size of the text in bytes."),
    ("n_chars", pa.int64(), "Length of the text in Unicode code points."),
    ("byte_premium", pa.float64(), "Bytes this language needs for the content of one reference (English) byte."),
    ("norm_bytes", pa.float64(), "English-equivalent size: n_bytes / byte_premium."),
    ("premium_source", pa.string(), "Where the premium came from: reference, parallel, table, cldr_estimate, script_median, median."),
    ("premium_imputed", pa.bool_(), "True when the language was in no premium source and the premium is a median."),
)


def premium_fields(prefix: str = "") -> list[pa.Field]:
    """The columns the stage adds, with ``prefix`` (``src_``/``tgt_`` on bitext)."""
    return [pa.field(prefix + name, dtype, metadata={"doc": doc}) for name, dtype, doc in _FIELDS]


def text_sides(schema: pa.Schema) -> list[tuple[str, str, str]]:
    """(prefix, text column, language column) per side: one for segments, two for bitext."""
    sides = [(prefix, column, f"{prefix}lang") for column, prefix in SIDES[kind_of(schema)]]
    if any(column not in schema.names for _, column, _ in sides):
        raise ValueError(f"batch has neither a text column nor src_text/tgt_text: {schema.names}")
    return sides


class BytePremiumAnnotator(Stage):
    """Adds ``n_bytes``, ``n_chars``, ``byte_premium``, ``norm_bytes``, ``premium_source`` and
    ``premium_imputed`` (per side on bitext). Premiums come from, in order: ``parallel`` (a
    multi-parallel TSV or FLORES-style directory), ``table`` (the paper's TSV), the embedded
    CLDR estimate (``embedded``). Keeps every row; costs one dictionary lookup per distinct
    language per batch, plus Arrow's length kernels."""

    name = "premium"
    version = "1"

    def __init__(
        self,
        *,
        parallel: Path | None = None,
        table: Path | None = None,
        embedded: bool = True,
        reference: str = REFERENCE,
        seed: int = 0,
    ):
        for what, path in (("parallel corpus", parallel), ("premium table", table)):
            if path is not None and not Path(path).exists():
                raise ValueError(f"{what} {path} does not exist")
        if parallel is None and table is None and not embedded:
            raise ValueError("no premium source: set parallel or table, or leave embedded on")
        try:
            canonical(reference)  # table_code keeps xxx_Scrp codes as written: check it here
            other_reference = table_code(reference) != REFERENCE
        except LanguageCodeError as exc:
            raise ValueError(f"reference: {exc}") from exc
        if other_reference and (table is not None or embedded):
            raise ValueError(
                f"premium tables and the embedded estimate are relative to {REFERENCE}; "
                f"reference {reference} needs parallel=... with table unset and embedded=False"
            )
        self.parallel = Path(parallel) if parallel is not None else None
        self.table = Path(table) if table is not None else None
        self.embedded = embedded
        self.reference = reference
        self.seed = seed
        self._premiums: PremiumTable | None = None

    def setup(self) -> None:
        if self._premiums is None:
            self._premiums = PremiumTable.build(
                parallel=self.parallel, table=self.table, embedded=self.embedded, reference=self.reference, seed=self.seed
            )

    @property
    def premiums(self) -> PremiumTable:
        self.setup()
        assert self._premiums is not None  # setup() built it
        return self._premiums

    def output_fields(self, kind: str) -> list[pa.Field]:
        if kind == "bitext":
            return [f for _, side in SIDES["bitext"] for f in premium_fields(side)]
        return premium_fields()

    def process(self, batch: pa.RecordBatch) -> Split:
        for prefix, text_column, lang_column in text_sides(batch.schema):
            columns = self._columns(batch.column(text_column), _column_or_nulls(batch, lang_column))
            for (name, dtype, _), values in zip(_FIELDS, columns):
                batch = with_columns(batch, [pa.field(prefix + name, dtype)], [values])  # replaced when re-run: idempotent
        return Split.keep_all(batch)

    def _columns(self, text: pa.Array, lang: pa.Array) -> list[pa.Array]:
        n_bytes = pc.binary_length(text).cast(pa.int64())
        n_chars = pc.utf8_length(text).cast(pa.int64())
        keys = pc.fill_null(lang, "")
        distinct = pc.unique(keys)
        found = [self.premiums.premium(code or None) for code in distinct.to_pylist()]
        index = pc.index_in(keys, value_set=distinct)
        premium = pc.take(pa.array([p.value for p in found], pa.float64()), index)
        source = pc.take(pa.array([p.source for p in found], pa.string()), index)
        imputed = pc.take(pa.array([p.imputed for p in found], pa.bool_()), index)
        return [n_bytes, n_chars, premium, pc.divide(n_bytes.cast(pa.float64()), premium), source, imputed]

    def describe(self) -> dict:
        return {
            **super().describe(),
            "parallel": str(self.parallel) if self.parallel else None,
            "table": str(self.table) if self.table else None,
            "embedded": self.embedded,
            "reference": self.reference,
        }


def _column_or_nulls(batch: pa.RecordBatch, name: str) -> pa.Array:
    index = batch.schema.get_field_index(name)
    return batch.column(index) if index >= 0 else pa.nulls(batch.num_rows, pa.string())


# -- per-language statistics -----------------------------------------------------------------
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
                    "lang": pc.fill_null(_column_or_nulls(batch, lang_column), UNKNOWN_LANG),
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
