"""Beam adapter for readers: file patterns in, record batches, rejected batches and tallies out."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import BinaryIO, Literal, NamedTuple

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam import pvalue
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from corpusforge.accounting import READ_STAGE, Tally
from corpusforge.beam.stages import COUNTS, REJECTED, emit_split
from corpusforge.io import filesystems
from corpusforge.io.base import as_file_rejection, read_lines
from corpusforge.io.compression import open_input
from corpusforge.io.jsonl import parse_object
from corpusforge.io.parquet_in import raise_if_damaged, rows_per_batch, valid_utf8
from corpusforge.io.readers import Reader
from corpusforge.progress import counting_opener
from corpusforge.records import Rejections, Split, stable_id

EVAL_MAX_LINE_BYTES = 16 << 20
EVAL_BATCH_BYTES = 1 << 20  # Parquet rows decoded at a time: damage loses at most these

log = logging.getLogger(__name__)


class ReadOutputs(NamedTuple):
    kept: beam.PCollection  # RecordBatches of the reader's kind
    rejected: beam.PCollection  # non-empty rejected.v1 RecordBatches
    counts: beam.PCollection  # one Tally per chunk read


class BeamFileSystem:
    """Beam's filesystems (local, ``gs://``, ``s3://``, ... as installed) as a
    :class:`~corpusforge.io.filesystems.FileSystem`: what a run reads through, and what recipe
    checks use for paths with a scheme (registered by :mod:`corpusforge.pipelines`)."""

    def match(self, pattern: str) -> list[str]:
        return sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)

    def exists(self, path: str) -> bool:
        return FileSystems.exists(path)

    def open(self, path: str) -> BinaryIO:
        """Raw bytes (the reader decompresses)."""
        return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


BEAM_FILESYSTEM = BeamFileSystem()


def expand_patterns(patterns: list[str]) -> list[tuple[str, str]]:
    """:func:`corpusforge.io.filesystems.expand_patterns` through Beam's filesystems, as a run matches."""
    return filesystems.expand_patterns(patterns, BEAM_FILESYSTEM)


def beam_open(path: str) -> BinaryIO:
    """An opener for readers: raw bytes through Beam's filesystems (the reader decompresses)."""
    return BEAM_FILESYSTEM.open(path)


class ReadSource(NamedTuple):
    """One recipe input as the Beam reader sees it."""

    source: str
    reader: Reader
    patterns: list[str]


class _ReadFileFn(beam.DoFn):
    def __init__(self, sources: list[ReadSource]):
        self._sources = sources

    def process(self, file):
        index, path, file_key = file
        source = self._sources[index]
        opener = counting_opener(beam_open)  # bytes read feed a local run's progress display
        for split in source.reader.read(path, source=source.source, file_key=file_key, opener=opener):
            yield from emit_split(split, Tally.of_read(split))
        yield pvalue.TaggedOutput(COUNTS, Tally.of_file(source.source))  # the input counts even when it gave no row


def _match(indexed: tuple[int, list[str]]) -> list[tuple[int, str, str]]:
    index, patterns = indexed
    return [(index, path, key) for path, key in expand_patterns(patterns)]


class ReadInputs(beam.PTransform):
    """Read every file of several inputs of one record kind in ONE read step (applied to a
    pipeline root).

    Globs are expanded when the pipeline runs, on a worker; files of all inputs are reshuffled
    together so they spread over workers, and each is read whole by one worker in chunks of its
    reader's ``batch_bytes``. One step rather than one per input matters: flattening several
    producers makes the local runner buffer them whole. For Moses readers the patterns name the
    source-side files.
    """

    def __init__(self, sources: list[ReadSource], label: str = "Read"):
        super().__init__(label=label)
        for source in sources:
            if not source.patterns:
                raise ValueError(f"input {source.source!r} names no file pattern")
        self._sources = list(sources)

    def expand(self, pbegin):
        outputs = (
            pbegin
            | "Patterns" >> beam.Create(list(enumerate(s.patterns for s in self._sources)))
            | "Match" >> beam.FlatMap(_match)
            | "Spread" >> beam.Reshuffle()
            | "Read" >> beam.ParDo(_ReadFileFn(self._sources)).with_outputs(REJECTED, COUNTS, main="kept")
        )
        return ReadOutputs(outputs.kept, outputs[REJECTED], outputs[COUNTS])


class ReadRecords(ReadInputs):
    """Read every file matching ``patterns`` with ``reader``, as the input named ``source``."""

    def __init__(self, reader: Reader, patterns: list[str], source: str):
        super().__init__([ReadSource(source, reader, list(patterns))], label=f"Read[{source}]")


class EvalRows(NamedTuple):
    rows: beam.PCollection  # (file key, position, row dict)
    rejected: beam.PCollection  # rejected.v1 RecordBatches
    counts: beam.PCollection  # one read Tally per file: every row and rejected row counts as read


class _FileRejections:
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


def _parquet_rows(path: str, rejections: _FileRejections) -> Iterator[tuple[int, dict]]:
    """(position, row) for each row of a Parquet file; a row with a string that is not valid
    UTF-8 is rejected (``invalid_utf8``); a file that cannot be opened or read on raises
    ``corrupt_file`` (FileRejected) at the position after the last row."""
    with beam_open(path) as raw:
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


def _jsonl_rows(path: str, rejections: _FileRejections) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each JSON object line; every other line is rejected as the
    corpus JSONL reader rejects it (blank, malformed, not an object, bad bytes)."""
    with open_input(path, beam_open) as stream:
        for line in read_lines(stream, EVAL_MAX_LINE_BYTES):
            if line.reason:
                rejections.reject(line.number, line.reason, line.detail, line.raw)
                continue
            row = parse_object(line, rejections)  # type: ignore[arg-type]  # it only calls reject(); typed FileBatches
            if row is not None:
                yield line.number, row


class _ReadRowsFn(beam.DoFn):
    """One evaluation-set file -> (file key, position, row dict); unusable lines go to REJECTED,
    the file's read tally to COUNTS.

    Truncated or damaged compressed data or Parquet ends the file with one ``corrupt_file``
    row (the rows before it stay), as in the corpus readers; any other error (a file that
    cannot be opened) fails the run.
    """

    def __init__(self, fmt: str, source: str, kind: str):
        self._rows = _parquet_rows if fmt == "parquet" else _jsonl_rows
        self._source, self._kind = source, kind

    def process(self, file):
        path, key = file
        rejections = _FileRejections(source=self._source, file_key=key, path=path, kind=self._kind)
        position = read = 0
        try:
            for position, row in self._rows(path, rejections):
                read += 1
                yield key, position, row
        except Exception as exc:
            ended = as_file_rejection(exc, path)
            if ended is None:
                raise
            position = ended.position or max(position, rejections.last_position) + 1
            log.warning("%s at position %d: %s", ended.reason, position, ended.detail)
            rejections.reject(position, ended.reason, ended.detail, ended.raw, file=ended.file)
        rejected = rejections.rows.to_batch()
        split = Split(rejected.slice(0, 0), rejected)  # the rows themselves went out above
        tally = Tally.of_read(split) + Tally.of_file(self._source)
        for outcome in ("read", "out"):
            tally.add(READ_STAGE, self._source, outcome, read)
        yield from emit_split(split, tally)


class ReadEvalRows(beam.PTransform):
    """Rows of an evaluation set (JSONL objects or Parquet rows) as plain dicts, for jobs that
    keep every field of a row (ids, labels) and rewrite some: code-switched variants,
    translate-test. Files spread over workers; lines that are not JSON objects (blank ones
    included) and the damaged end of a file are rejected (as ``kind`` rows) with reasons, as
    the corpus readers reject them; ``counts`` says what each file gave."""

    def __init__(self, patterns: list[str], *, fmt: Literal["jsonl", "parquet"], source: str, kind: str):
        super().__init__()
        self._patterns, self._format, self._source, self._kind = list(patterns), fmt, source, kind

    def expand(self, pbegin):
        read = (
            pbegin
            | "Patterns" >> beam.Create([self._patterns])
            | "Match" >> beam.FlatMap(expand_patterns)
            | "Spread" >> beam.Reshuffle()
            | "Read" >> beam.ParDo(_ReadRowsFn(self._format, self._source, self._kind)).with_outputs(REJECTED, COUNTS, main="rows")
        )
        return EvalRows(read.rows, read[REJECTED], read[COUNTS])
