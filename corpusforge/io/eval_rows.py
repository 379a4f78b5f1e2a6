"""Rows of evaluation sets (JSONL objects or Parquet rows) as plain dicts, for jobs that keep
every field of a row (ids, labels) and rewrite some: code-switched variants, translate-test.
Lines that are not JSON objects (blank ones included), rows with bad UTF-8 and the damaged end
of a file are rejected (stage ``read``) with the reasons the corpus readers give."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Literal

import pyarrow.parquet as pq

from corpusforge.accounting import READ_STAGE, Tally
from corpusforge.io.base import as_file_rejection, read_lines
from corpusforge.io.compression import Opener, open_binary, open_input
from corpusforge.io.jsonl import parse_object
from corpusforge.io.parquet_in import raise_if_damaged, rows_per_batch, valid_utf8
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
