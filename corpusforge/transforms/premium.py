"""Byte-premium accounting stage.

:class:`BytePremiumAnnotator` adds to every record its UTF-8 size, its length in code points,
its language's byte premium and its English-equivalent size ``norm_bytes = n_bytes / premium``,
with where the premium came from. Bitext records get the columns per side, prefixed ``src_`` and
``tgt_``. :class:`LanguageStats` sums those columns per language (what the run manifest reports
and what byte-budget sampling plans from).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.languages import LanguageCodeError, canonical
from corpusforge.premium.stats import column_or_nulls, text_sides
from corpusforge.premium.tables import REFERENCE, PremiumTable, table_code
from corpusforge.records import SIDES, Split, with_columns
from corpusforge.transforms.base import Stage

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
            columns = self._columns(batch.column(text_column), column_or_nulls(batch, lang_column))
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
