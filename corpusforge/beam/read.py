"""Beam adapter for readers: file patterns in, record batches, rejected batches and tallies out."""

from __future__ import annotations

import logging
from typing import BinaryIO, Literal, NamedTuple

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from corpusforge.accounting import Tally
from corpusforge.beam.stages import COUNTS, REJECTED, emit_split
from corpusforge.io import filesystems
from corpusforge.io.eval_rows import EvalFile
from corpusforge.io.readers import Reader
from corpusforge.progress import counting_opener

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


class _ReadRowsFn(beam.DoFn):
    """One evaluation-set file -> (file key, position, row dict) through
    :class:`~corpusforge.io.eval_rows.EvalFile`; unusable lines go to REJECTED, the file's read
    tally to COUNTS."""

    def __init__(self, fmt: Literal["jsonl", "parquet"], source: str, kind: str):
        self._format, self._source, self._kind = fmt, source, kind

    def process(self, file):
        path, key = file
        reading = EvalFile(path, file_key=key, fmt=self._format, source=self._source, kind=self._kind, opener=beam_open)
        for position, row in reading.rows():
            yield key, position, row
        yield from emit_split(*reading.result())


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
