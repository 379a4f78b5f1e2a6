"""Parquet input, column-wise: each Arrow batch is checked and reshaped with Arrow compute;
per-row Python only for derived ids and for the rows it rejects."""

from __future__ import annotations

import abc
from collections.abc import Iterator
from typing import NoReturn

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpusforge.io.base import (
    MIB,
    FileBatches,
    FileRejected,
    Reader,
    declared_language,
    meta_value,
    open_input,
    record_language,
)
from corpusforge.io.compression import Opener
from corpusforge.records import Split
from corpusforge.schemas import META_TYPE, entries_array, load_schema

Problems = dict[int, tuple[str, str]]  # row index in the batch -> (reason, detail); first found wins


class _ParquetFormat(Reader):
    """Reads row batches of about ``batch_bytes`` (from the row groups' sizes) with
    ``ParquetFile.iter_batches``; columns not used go to ``meta`` as strings, except a ``meta``
    column of string entries or a string map (corpusforge's own outputs, versions 1 and 2),
    whose entries are carried over as they are (before the other columns'). A configured
    column missing from a file's schema rejects the file as one ``missing_column`` row; a file
    that cannot be opened or read further ends with one ``corrupt_file`` row (the rows read
    before stay). String values that are not valid UTF-8 reject their row (``invalid_utf8``)."""

    _columns: dict[str, str | None]  # role -> column name
    _text_roles: tuple[tuple[str, str], ...]  # (role, label prefix for details)

    def _read(self, path: str, batches: FileBatches, opener: Opener) -> Iterator[Split]:
        with open_input(path, opener) as stream:
            try:
                parquet = pq.ParquetFile(stream)
            except Exception as exc:
                raise_if_damaged(path, 1, exc)
            names = parquet.schema_arrow.names
            wanted = {role: column for role, column in self._columns.items() if column is not None}
            for column in wanted.values():
                if column not in names:
                    raise FileRejected("missing_column", f"{path}: no column {column!r} (columns: {', '.join(names)})")
            meta_names = [name for name in names if name not in wanted.values()]
            first = 1
            chunks = parquet.iter_batches(batch_size=rows_per_batch(parquet, self.batch_bytes))
            while True:
                try:
                    batch = next(chunks, None)
                except Exception as exc:
                    raise_if_damaged(path, first, exc)
                if batch is None:
                    return
                yield self._chunk(batch, first, wanted, meta_names, batches)
                first += batch.num_rows

    def _chunk(self, batch: pa.RecordBatch, first: int, wanted: dict[str, str], meta_names: list[str], batches: FileBatches) -> Split:
        n = batch.num_rows
        problems: Problems = {}
        original, batch = batch, valid_utf8(batch, problems)
        texts = {
            role: _checked_text(batch.column(wanted[role]), f"{prefix}column {wanted[role]!r}", self.max_line_bytes, problems)
            for role, prefix in self._text_roles
        }
        columns = self._fields(batch, wanted, texts, problems)
        own_ids = _own_ids(batch.column(wanted["id"])).to_pylist() if "id" in wanted else [None] * n
        ids = [batches.id_for(first + i, own) for i, own in enumerate(own_ids)]
        for i in sorted(problems):
            raw = b"\t".join(_raw_value(original.column(wanted[role]), i) for role, _ in self._text_roles)
            batches.reject(first + i, *problems[i], raw, own_id=own_ids[i])
        columns.update(id=pa.array(ids, pa.string()), source=_constant(batches.source, n), meta=_meta(batch, meta_names))
        schema = load_schema(self.kind)
        kept = pa.RecordBatch.from_arrays([columns.get(f.name, pa.nulls(n, f.type)) for f in schema], schema=schema)
        if problems:
            kept = kept.filter(pa.array([i not in problems for i in range(n)]))
        return batches.emit(kept, batch.nbytes)

    @abc.abstractmethod
    def _fields(self, batch: pa.RecordBatch, wanted: dict[str, str], texts: dict[str, pa.Array], problems: Problems) -> dict[str, pa.Array]:
        """The kind's columns besides id, source and meta."""


class ParquetReader(_ParquetFormat):
    """Segments from a Parquet column (``text_column``); ``lang_column`` overrides the declared
    ``lang`` per row when not null or empty."""

    kind = "segment"
    _text_roles = (("text", ""),)

    def __init__(
        self,
        *,
        text_column: str = "text",
        id_column: str | None = None,
        lang_column: str | None = None,
        doc_id_column: str | None = None,
        lang: str | None = None,
        batch_bytes: int = MIB,
        max_line_bytes: int = MIB,
    ):
        super().__init__(batch_bytes=batch_bytes, max_line_bytes=max_line_bytes)
        self.lang = declared_language(lang)
        self._columns = {"text": text_column, "id": id_column, "lang": lang_column, "doc_id": doc_id_column}

    def _fields(self, batch, wanted, texts, problems):
        n = batch.num_rows
        if "lang" in wanted:
            lang = _languages(batch.column(wanted["lang"]), self.lang, problems)
        else:
            lang = _constant(self.lang, n)
        doc_id = _own_ids(batch.column(wanted["doc_id"])) if "doc_id" in wanted else _constant(None, n)
        return {"text": texts["text"], "lang": lang, "doc_id": doc_id}


class ParallelParquetReader(_ParquetFormat):
    """Sentence pairs from two Parquet columns."""

    kind = "bitext"
    _text_roles = (("src", "source side: "), ("tgt", "target side: "))

    def __init__(
        self,
        *,
        src_column: str,
        tgt_column: str,
        id_column: str | None = None,
        src_lang: str | None = None,
        tgt_lang: str | None = None,
        batch_bytes: int = MIB,
        max_line_bytes: int = MIB,
    ):
        super().__init__(batch_bytes=batch_bytes, max_line_bytes=max_line_bytes)
        self.src_lang = declared_language(src_lang)
        self.tgt_lang = declared_language(tgt_lang)
        self._columns = {"src": src_column, "tgt": tgt_column, "id": id_column}

    def _fields(self, batch, wanted, texts, problems):
        n = batch.num_rows
        return {
            "src_text": texts["src"],
            "tgt_text": texts["tgt"],
            "src_lang": _constant(self.src_lang, n),
            "tgt_lang": _constant(self.tgt_lang, n),
            "origin": _constant("corpus", n),
        }


def is_damaged_parquet(exc: BaseException) -> bool:
    """Whether ``exc`` is pyarrow saying a Parquet file is truncated, empty or damaged (footer,
    pages, thrift, compressed data): an ArrowException, or Arrow's IOError status (a plain
    OSError without an errno). A failure to read (connection reset, permission, a disk error
    with its errno, Beam's I/O errors) is not the file's fault: it propagates, for the runner
    to retry or report, instead of ending the file with a silent ``corrupt_file`` row."""
    return isinstance(exc, pa.ArrowException) or (type(exc) is OSError and exc.errno is None)


def raise_if_damaged(path: str, position: int, exc: Exception) -> NoReturn:
    """Raise the ``corrupt_file`` rejection ending ``path`` at ``position`` when ``exc`` says
    the file is damaged; else raise ``exc`` itself. Call it in an ``except`` block."""
    if is_damaged_parquet(exc):
        raise FileRejected("corrupt_file", f"{path}: Parquet data truncated or damaged: {exc}", position=position) from exc
    raise exc


def valid_utf8(batch: pa.RecordBatch, problems: Problems) -> pa.RecordBatch:
    """``batch`` with string values that are not valid UTF-8 made null (so Arrow's string
    kernels never see them) and their rows noted as ``invalid_utf8``; in a nested column
    (lists, structs, maps of strings) the row's whole value is made null.

    Arrow checks a whole column's UTF-8 in C; values are decoded one by one in Python only in
    a column that fails that check.
    """
    columns = []
    for name, column in zip(batch.schema.names, batch.columns):
        if _holds_text(column.type):
            if pa.types.is_dictionary(column.type):
                column = column.dictionary_decode()
            try:
                column.validate(full=True)
            except pa.ArrowInvalid:
                if _is_text(column.type):
                    valid = pa.array([_decodes(value) for value in column.cast(pa.binary()).to_pylist()])
                else:  # a slice keeps the whole child array, so decode row by row
                    valid = pa.array([_row_decodes(column, i) for i in range(len(column))])
                _note(problems, pc.invert(valid), "invalid_utf8", f"column {name!r} is not valid UTF-8")
                column = pc.if_else(valid, column, pa.nulls(len(column), column.type))
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def _holds_text(dtype: pa.DataType) -> bool:
    """Whether values of ``dtype`` are or contain strings (at any depth)."""
    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    if _is_text(dtype):
        return True
    return any(_holds_text(dtype.field(i).type) for i in range(dtype.num_fields))


def _row_decodes(column: pa.Array, i: int) -> bool:
    """Whether row ``i`` of a nested column converts to Python (all its strings decode)."""
    try:
        column.slice(i, 1).to_pylist()
    except UnicodeDecodeError:
        return False
    return True


def _decodes(value: bytes | None) -> bool:
    """Whether ``value`` is null or valid UTF-8."""
    if value is None:
        return True
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _raw_value(column: pa.Array, i: int) -> bytes:
    """Row ``i`` of ``column`` as bytes for a preview, never decoded (it may be invalid UTF-8)."""
    value = column.slice(i, 1)
    if pa.types.is_dictionary(value.type):
        value = value.dictionary_decode()
    if _is_text(value.type) and value[0].is_valid:
        return value.cast(pa.binary())[0].as_py()
    return str(value[0].as_py()).encode("utf-8")


def rows_per_batch(parquet: pq.ParquetFile, batch_bytes: int) -> int:
    """Rows in about ``batch_bytes`` of uncompressed data, from the row groups' sizes."""
    meta = parquet.metadata
    total = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if not meta.num_rows or not total:
        return 65536
    return max(1, batch_bytes * meta.num_rows // total)


def _constant(value: str | None, n: int) -> pa.Array:
    return pa.array([value] * n, pa.string())


def _is_text(dtype: pa.DataType) -> bool:
    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    is_string_view = getattr(pa.types, "is_string_view", lambda _: False)  # pyarrow >= 16
    return pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or is_string_view(dtype)


def _note(problems: Problems, mask: pa.Array, reason: str, detail: str) -> None:
    """Record ``reason`` for the rows where ``mask`` is true (unless an earlier check did)."""
    mask = pc.fill_null(mask, False)
    if pc.any(mask).as_py():
        for i in pc.indices_nonzero(mask).to_pylist():
            problems.setdefault(i, (reason, detail))


def _checked_text(column: pa.Array, label: str, max_bytes: int, problems: Problems) -> pa.Array:
    """``column`` as strings, noting null, non-string, too long, NUL and blank values in ``problems``."""
    _note(problems, column.is_null(), "missing_field", f"{label} is null")
    if not _is_text(column.type):
        _note(problems, column.is_valid(), "bad_field_type", f"{label} is {column.type}, expected a string")
        return pa.nulls(len(column), pa.string())
    text = column.cast(pa.string())
    _note(problems, pc.greater(pc.binary_length(text), max_bytes), "line_too_long", f"{label} over max_line_bytes={max_bytes}")
    _note(problems, pc.match_substring(text, "\x00"), "nul_byte", f"{label} holds a NUL character")
    _note(problems, pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0), "empty_text", f"{label} is empty")
    return text


def _strings(column: pa.Array) -> pa.Array:
    """Any column as strings: Arrow's cast where it has one, else each value as ``meta_value`` writes it."""
    try:
        return column.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([meta_value(value) for value in column.to_pylist()], pa.string())


def _own_ids(column: pa.Array) -> pa.Array:
    """Ids given by the input; empty ones become null (a derived id is used instead)."""
    ids = _strings(column)
    return pc.if_else(pc.equal(ids, ""), pa.scalar(None, pa.string()), ids)


def _languages(column: pa.Array, declared: str | None, problems: Problems) -> pa.Array:
    """Canonical per-row languages (null or empty -> ``declared``); one code lookup per distinct value."""
    encoded = _strings(column).dictionary_encode()
    canonical_codes, errors = [], {}
    for k, value in enumerate(encoded.dictionary.to_pylist()):
        code, error = record_language(value, declared)
        canonical_codes.append(code)
        if error:
            errors[k] = error
    for k, error in errors.items():
        _note(problems, pc.equal(encoded.indices, k), "bad_language_code", error)
    langs = pc.take(pa.array(canonical_codes, pa.string()), encoded.indices)
    return pc.fill_null(langs, declared) if declared else langs


def _meta(batch: pa.RecordBatch, names: list[str]) -> pa.Array:
    """Per row, the entries of a carried ``meta`` column (see :func:`_carried_meta`), then the
    other ``names`` columns as (name, string) entries (null values stay null). Built
    column-wise: one ``take`` over all keys and values."""
    n = batch.num_rows
    carried = _carried_meta(batch) if "meta" in names else None
    names = [name for name in names if carried is None or name != "meta"]
    k = len(names)
    if carried is None and not k:
        return pa.nulls(n, META_TYPE)
    values = [_strings(batch.column(name)) for name in names]  # column after column
    if carried is None:
        counts, carried_keys, carried_values = np.zeros(n, dtype=np.int64), pa.array([], pa.string()), pa.array([], pa.string())
    else:
        counts = pc.fill_null(pc.list_value_length(carried), 0).to_numpy().astype(np.int64)
        flat = carried.flatten()  # the entries of non-null rows, in order (what counts counts)
        carried_keys, carried_values = flat.field("key"), flat.field("value")
    carried_offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=carried_offsets[1:])
    total = int(counts.sum())
    # Row i: its carried entries (positions carried_offsets[i]..), then column j's value (at
    # total + j * n + i in the concatenation below).
    sizes = counts + k
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    row_of = np.repeat(np.arange(n), sizes)
    position = np.arange(int(offsets[-1])) - offsets[row_of]  # index of the entry within its row
    from_carried = position < counts[row_of]
    index = np.where(from_carried, carried_offsets[row_of] + position, total + (position - counts[row_of]) * n + row_of)
    all_keys = pa.concat_arrays([carried_keys.cast(pa.string()), pa.array([name for name in names for _ in range(n)], pa.string())])
    all_values = pa.concat_arrays([carried_values.cast(pa.string()), *values])
    take = pa.array(index, pa.int64())
    out = entries_array(pa.array(offsets, pa.int32()), all_keys.take(take), all_values.take(take))
    if carried is not None and not k:  # a null meta stays null when nothing else is carried
        out = pc.if_else(carried.is_null(), pa.nulls(n, out.type), out)
    return out


def _carried_meta(batch: pa.RecordBatch) -> pa.ListArray | None:
    """The input's ``meta`` column as entries when it holds string entries or a string map
    (corpusforge's outputs, versions 2 and 1); None for any other ``meta`` column (it is then
    carried as one string entry, like any other column)."""
    column = batch.column("meta")
    kind = column.type
    if pa.types.is_map(kind):
        key, value = kind.key_type, kind.item_type
    elif pa.types.is_list(kind) and pa.types.is_struct(kind.value_type) and [f.name for f in kind.value_type] == ["key", "value"]:
        key, value = kind.value_type.field("key").type, kind.value_type.field("value").type
    else:
        return None
    if not all(pa.types.is_string(t) or pa.types.is_large_string(t) for t in (key, value)):
        return None
    return column.cast(META_TYPE)
