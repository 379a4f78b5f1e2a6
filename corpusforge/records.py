"""Record-level building blocks shared by readers and stages: stable ids, the kept/rejected
split every stage returns, and rejected-row construction."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.hashing import stable_id as stable_id  # ids are made in corpusforge.hashing; imported from here too
from corpusforge.schemas import load_schema

PREVIEW_CHARS = 240


# Text columns of each record kind and the prefix of the columns computed from them
# (``src_lang`` from ``src_text``).
SIDES: dict[str, tuple[tuple[str, str], ...]] = {
    "segment": (("text", ""),),
    "bitext": (("src_text", "src_"), ("tgt_text", "tgt_")),
    "codeswitch": (("text", ""),),
}
_TOLD_KIND: ContextVar[str | None] = ContextVar("corpusforge_record_kind", default=None)


@contextmanager
def told_kind(kind: str) -> Iterator[None]:
    """Within this block, :func:`kind_of` gives ``kind``: how the runner tells a stage the kind
    of the batches it hands it (per thread, so concurrent stages of other kinds are not confused)."""
    token = _TOLD_KIND.set(kind)
    try:
        yield
    finally:
        _TOLD_KIND.reset(token)


def kind_of(data: pa.RecordBatch | pa.Table | pa.Schema) -> str:
    """The record kind of a batch: the one the runner told (:func:`told_kind`); for a library
    caller without one, read from the columns once here (``src_text``: bitext; ``matrix_lang``:
    codeswitch; else segment)."""
    told = _TOLD_KIND.get()
    if told is not None:
        return told
    names = data.names if isinstance(data, pa.Schema) else data.schema.names
    if "src_text" in names:
        return "bitext"
    return "codeswitch" if "matrix_lang" in names else "segment"


def preview(raw: bytes | str | None, limit: int = PREVIEW_CHARS) -> str | None:
    """A bounded, always-valid preview of raw input; undecodable bytes appear as ``\\xNN``."""
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw[: limit * 4].decode("utf-8", "backslashreplace")
    text = raw.replace("\x00", "\\x00")
    return text if len(text) <= limit else text[:limit] + "…"


def empty_rejected() -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=load_schema("rejected"))


def with_columns(batch: pa.RecordBatch, fields: list[pa.Field], arrays: list[pa.Array]) -> pa.RecordBatch:
    """``batch`` with each field set to its array: an existing column of that name is replaced
    in place, a new one is appended."""
    names = list(batch.schema.names)
    columns = list(batch.columns)
    schema_fields = list(batch.schema)
    for new, array in zip(fields, arrays):
        if new.name in names:
            i = names.index(new.name)
            columns[i], schema_fields[i] = array, new
        else:
            names.append(new.name)
            columns.append(array)
            schema_fields.append(new)
    return pa.RecordBatch.from_arrays(columns, schema=pa.schema(schema_fields, metadata=batch.schema.metadata))


@dataclass
class Rejections:
    """Collects rejected rows for one stage and record kind, then emits them as one batch."""

    stage: str
    kind: str
    rows: list[dict] = field(default_factory=list)

    def add(
        self,
        *,
        id: str,
        source: str,
        reason: str,
        detail: str | None = None,
        file: str | None = None,
        offset: int | None = None,
        raw: bytes | str | None = None,
    ) -> None:
        self.rows.append(
            {
                "id": id,
                "source": source,
                "kind": self.kind,
                "stage": self.stage,
                "reason": reason,
                "detail": detail,
                "file": file,
                "offset": offset,
                "preview": preview(raw),
            }
        )

    def __len__(self) -> int:
        return len(self.rows)

    def to_batch(self) -> pa.RecordBatch:
        batch = pa.RecordBatch.from_pylist(self.rows, schema=load_schema("rejected"))
        self.rows = []
        return batch


@dataclass(frozen=True)
class Split:
    """What a stage returns: rows it keeps (with any columns it added) and rows it refused."""

    kept: pa.RecordBatch
    rejected: pa.RecordBatch

    @classmethod
    def keep_all(cls, batch: pa.RecordBatch) -> Split:
        return cls(batch, empty_rejected())


def reject_where(
    batch: pa.RecordBatch,
    mask: pa.Array | Sequence[bool],
    *,
    stage: str,
    kind: str,
    reason: str | Sequence[str | None],
    detail: str | Sequence[str | None] | None = None,
    text_column: str = "text",
) -> Split:
    """Split ``batch`` by ``mask`` (True = reject); rejected rows keep id, source and a text preview.

    ``reason`` and ``detail`` are one value for all rows or one per row of ``batch``.
    """
    mask = pa.array(mask, pa.bool_()) if not isinstance(mask, pa.Array) else mask
    mask = pc.fill_null(mask, False)
    if not pc.any(mask).as_py():
        return Split.keep_all(batch)
    kept = batch.filter(pc.invert(mask))
    n = batch.num_rows
    why = pa.array([reason] * n if isinstance(reason, str) else reason, pa.string()).filter(mask)
    assert why.null_count == 0, "a row is rejected without a reason"  # callers give one per masked row
    if detail is None or isinstance(detail, str):
        details = pa.array([detail] * len(why), pa.string())
    else:
        details = pa.array(detail, pa.string()).filter(mask)
    schema = load_schema("rejected")
    texts = batch.column(text_column).filter(mask) if text_column in batch.schema.names else pa.nulls(len(why), pa.string())
    columns = {
        "id": batch.column("id").filter(mask).cast(pa.string()),
        "source": batch.column("source").filter(mask).cast(pa.string()),
        "kind": pa.array([kind] * len(why), pa.string()),
        "stage": pa.array([stage] * len(why), pa.string()),
        "reason": why,
        "detail": details,
        "file": pa.nulls(len(why), pa.string()),
        "offset": pa.nulls(len(why), pa.int64()),
        "preview": previews(texts),
    }
    return Split(kept, pa.RecordBatch.from_arrays([columns[f.name] for f in schema], schema=schema))


def previews(texts: pa.Array, limit: int = PREVIEW_CHARS) -> pa.Array:
    """:func:`preview` of every string in ``texts``, in Arrow compute (nulls stay null)."""
    texts = pc.replace_substring(texts.cast(pa.string()), "\x00", "\\x00")
    long = pc.fill_null(pc.greater(pc.utf8_length(texts), limit), False)
    if not pc.any(long).as_py():
        return texts
    cut = pc.binary_join_element_wise(pc.utf8_slice_codeunits(texts, 0, limit), "…", "")
    return pc.if_else(long, cut, texts)
