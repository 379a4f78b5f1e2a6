"""Rows of evaluation sets (JSONL objects or Parquet rows) as plain dicts, for jobs that keep
every field of a row (ids, labels) and rewrite some: code-switched variants, translate-test.
Lines that are not JSON objects (blank ones included), rows with bad UTF-8 and the damaged end
of a file are rejected (stage ``read``) with the reasons the corpus readers give. A job that
fixes its columns before it runs takes them from the first file that gives them
(:func:`first_schema`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq

from corpusforge.accounting import READ_STAGE, Tally
from corpusforge.io.base import as_file_rejection, read_lines
from corpusforge.io.compression import Opener, is_corrupt_data_error, open_binary, open_input
from corpusforge.io.jsonl import parse_object
from corpusforge.io.parquet_in import is_damaged_parquet, raise_if_damaged, rows_per_batch, valid_utf8
from corpusforge.records import Rejections, Split, stable_id

EVAL_MAX_LINE_BYTES = 16 << 20
EVAL_BATCH_BYTES = 1 << 20  # Parquet rows decoded at a time: damage loses at most these

log = logging.getLogger(__name__)


class FileRejections:
    """One evaluation file's rejected rows (stage ``read``), ids as the readers derive them.
    ``reject`` takes :meth:`FileBatches.reject`'s arguments, so the JSONL reader's line parser
    reports to it and the reasons match the corpus readers'."""

    def __init__(self, *, source: str, file_key: str, path: str, kind: str):
        self._source, self._file_key, self._path = source, file_key, path
        self.rows = Rejections(stage=READ_STAGE, kind=kind)
        self.last_position = 0  # of the last row rejected

    def reject(
        self, position: int, reason: str, detail: str | None = None, raw: bytes | str | None = None, *, file: str | None = None
    ) -> None:
        self.last_position = position
        self.rows.add(
            id=stable_id(self._source, self._file_key, position), source=self._source, reason=reason, detail=detail,
            file=file or self._path, offset=position, raw=raw,
        )  # fmt: skip


def parquet_rows(path: str, rejections: FileRejections, opener: Opener = open_binary) -> Iterator[tuple[int, dict]]:
    """(position, row) for each row of a Parquet file; a row with a string that is not valid
    UTF-8 is rejected (``invalid_utf8``); a file that cannot be opened or read on raises
    ``corrupt_file`` (FileRejected) at the position after the last row."""
    with opener(path) as raw:
        try:
            parquet = pq.ParquetFile(raw)
        except Exception as exc:
            raise_if_damaged(path, 1, exc)
        position = 0
        batches = parquet.iter_batches(batch_size=rows_per_batch(parquet, EVAL_BATCH_BYTES))
        while True:
            try:
                batch = next(batches, None)
            except Exception as exc:
                raise_if_damaged(path, position + 1, exc)
            if batch is None:
                return
            problems: dict[int, tuple[str, str]] = {}
            for i, row in enumerate(valid_utf8(batch, problems).to_pylist()):
                position += 1
                if i in problems:
                    rejections.reject(position, *problems[i])
                else:
                    yield position, row


def jsonl_rows(path: str, rejections: FileRejections, opener: Opener = open_binary) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each JSON object line; every other line is rejected as the
    corpus JSONL reader rejects it (blank, malformed, not an object, bad bytes)."""
    with open_input(path, opener) as stream:
        for line in read_lines(stream, EVAL_MAX_LINE_BYTES):
            if line.reason:
                rejections.reject(line.number, line.reason, line.detail, line.raw)
                continue
            row = parse_object(line, rejections)  # type: ignore[arg-type]  # it only calls reject(); typed FileBatches
            if row is not None:
                yield line.number, row


class EvalFile:
    """One evaluation-set file: :meth:`rows` gives (position, row dict); :meth:`result` then
    gives its rejected rows and read tally (every row and rejected row counts as read).

    Truncated or damaged compressed data or Parquet ends the file with one ``corrupt_file``
    row (the rows before it stay), as in the corpus readers; any other error (a file that
    cannot be opened) raises."""

    def __init__(self, path: str, *, file_key: str, fmt: Literal["jsonl", "parquet"], source: str, kind: str, opener: Opener = open_binary):
        self.path, self.file_key, self.source, self.opener = path, file_key, source, opener
        self._rows = parquet_rows if fmt == "parquet" else jsonl_rows
        self.rejections = FileRejections(source=source, file_key=file_key, path=path, kind=kind)
        self.read = 0

    def rows(self) -> Iterator[tuple[int, dict]]:
        position = 0
        try:
            for position, row in self._rows(self.path, self.rejections, self.opener):
                self.read += 1
                yield position, row
        except Exception as exc:
            ended = as_file_rejection(exc, self.path)
            if ended is None:
                raise
            position = ended.position or max(position, self.rejections.last_position) + 1
            log.warning("%s at position %d: %s", ended.reason, position, ended.detail)
            self.rejections.reject(position, ended.reason, ended.detail, ended.raw, file=ended.file)

    def result(self) -> tuple[Split, Tally]:
        """The rejected rows (as a Split with nothing kept: the rows went out of :meth:`rows`) and the tally."""
        rejected = self.rejections.rows.to_batch()
        split = Split(rejected.slice(0, 0), rejected)
        tally = Tally.of_read(split) + Tally.of_file(self.source)
        for outcome in ("read", "out"):
            tally.add(READ_STAGE, self.source, outcome, self.read)
        return split, tally


# --- the columns of an evaluation set, before a job runs ------------------------------------

CONVERSION_ERRORS = (pa.ArrowException, TypeError, ValueError, OverflowError)  # what pyarrow raises converting values
SAMPLE_ROWS = 1000  # JSONL rows a schema is inferred from


class MixedTypesError(ValueError):
    """A JSONL column whose first rows hold values of types pyarrow cannot unify."""


def first_schema(
    paths: Iterable[str],
    fmt: Literal["jsonl", "parquet"],
    known: dict[str, pa.DataType],
    *,
    opener: Opener = open_binary,
    sample_rows: int = SAMPLE_ROWS,
) -> tuple[str, pa.Schema] | None:
    """The first file of ``paths`` that gives a schema, and that schema (Parquet's own; JSONL's
    from :func:`jsonl_schema`); None when none does. A file too damaged to give one (a run
    rejects it as ``corrupt_file``), or a JSONL file with no JSON object in its first lines (an
    empty shard), is passed over."""
    for path in paths:
        try:
            if fmt == "parquet":
                with opener(path) as raw:
                    return path, pq.ParquetFile(raw).schema_arrow
            schema = jsonl_schema(path, known, opener=opener, sample_rows=sample_rows)
        except Exception as exc:
            if not (is_corrupt_data_error(exc) or (fmt == "parquet" and is_damaged_parquet(exc))):
                raise
            log.warning("%s: cannot take the columns from it (%s); trying the next input", path, exc)
            continue
        if schema is not None:
            return path, schema
        log.info("%s: no JSON object in its first lines to take the columns from; trying the next input", path)
    return None


def jsonl_schema(
    path: str, known: dict[str, pa.DataType], *, opener: Opener = open_binary, sample_rows: int = SAMPLE_ROWS
) -> pa.Schema | None:
    """Columns in order of first appearance in the first ``sample_rows`` JSON objects, typed by
    pyarrow unless their type is ``known``; a file cut short gives the objects before the cut;
    None when there is no object to take them from. Raises :class:`MixedTypesError`."""
    rows: list[dict] = []
    try:
        with open_input(path, opener) as stream:
            for line in read_lines(stream, EVAL_MAX_LINE_BYTES):
                if len(rows) == sample_rows:
                    break
                try:
                    row = json.loads(line.text) if line.text else None
                except ValueError:
                    continue
                if isinstance(row, dict):
                    rows.append(row)
    except Exception as exc:
        if not (rows and is_corrupt_data_error(exc)):
            raise
    if not rows:
        return None
    names = list(dict.fromkeys(name for row in rows for name in row))
    fields = []
    for name in names:
        try:
            dtype = known[name] if name in known else pa.array([row.get(name) for row in rows]).type
        except CONVERSION_ERRORS as exc:
            raise MixedTypesError(f"{path}: column {name!r} mixes types in its first rows ({exc}); set its type under columns:") from None
        fields.append(pa.field(name, pa.string() if pa.types.is_null(dtype) else dtype))
    return pa.schema(fields)
