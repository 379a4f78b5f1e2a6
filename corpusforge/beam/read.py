"""Beam adapter for readers: file patterns in, record batches, rejected batches and tallies out."""

from __future__ import annotations

import json
import posixpath
import re
from typing import BinaryIO, Literal, NamedTuple

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam import pvalue
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from corpusforge.accounting import Tally
from corpusforge.beam.stages import COUNTS, REJECTED, emit_split
from corpusforge.io.base import read_lines
from corpusforge.io.compression import open_input
from corpusforge.io.readers import Reader
from corpusforge.records import Rejections, stable_id

EVAL_MAX_LINE_BYTES = 16 << 20
_GLOB = re.compile(r"[*?\[{]")


class ReadOutputs(NamedTuple):
    kept: beam.PCollection  # RecordBatches of the reader's kind
    rejected: beam.PCollection  # non-empty rejected.v1 RecordBatches
    counts: beam.PCollection  # one Tally per chunk read


def pattern_root(pattern: str) -> str:
    """The directory part of ``pattern`` before its first glob character, ending in ``/``
    (``gs://b/data/*/x.gz`` -> ``gs://b/data/``); a plain path gives its directory."""
    match = _GLOB.search(pattern)
    head = pattern[: match.start()] if match else pattern
    return head[: head.rfind("/") + 1]


def expand_patterns(patterns: list[str]) -> list[tuple[str, str]]:
    """``(path, file_key)`` for every file the patterns match, in pattern order, each path once.

    ``file_key`` is the path relative to its pattern's non-glob directory, so record ids do not
    depend on where the data is checked out. Works on any Beam filesystem (local, gs://, ...);
    a pattern that matches nothing raises FileNotFoundError naming it.
    """
    files: dict[str, str] = {}
    for pattern in patterns:
        try:
            matched = sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)
        except (IOError, OSError) as exc:  # BeamIOError subclasses IOError
            raise FileNotFoundError(f"input pattern {pattern!r} cannot be listed: {exc}") from exc
        if not matched:
            raise FileNotFoundError(f"input pattern {pattern!r} matches no file")
        root = pattern_root(pattern.replace("\\", "/"))
        for path in matched:
            posix = path.replace("\\", "/")
            key = posix[len(root) :] if posix.startswith(root) else posixpath.basename(posix)
            files.setdefault(path, key)
    return list(files.items())


def check_input_files(reader: Reader, patterns: list[str]) -> None:
    """Raise FileNotFoundError when a pattern matches no file or a pair's other side is missing
    (Moses readers name it with ``target_path``): what a recipe checks before the run."""
    found = expand_patterns(patterns)
    target_path = getattr(reader, "target_path", None)
    missing = [target_path(path) for path, _ in found if target_path and not FileSystems.exists(target_path(path))]
    if missing:
        raise FileNotFoundError(f"the other side of a pair is missing: {', '.join(missing)}")


def beam_open(path: str) -> BinaryIO:
    """An opener for readers: raw bytes through Beam's filesystems (the reader decompresses)."""
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


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
        for split in source.reader.read(path, source=source.source, file_key=file_key, opener=beam_open):
            yield from emit_split(split, Tally.of_read(split))


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


class _ReadRowsFn(beam.DoFn):
    """One evaluation-set file -> (file key, position, row dict); unreadable lines go to REJECTED."""

    def __init__(self, fmt: str, source: str, kind: str):
        self._format, self._source, self._kind = fmt, source, kind

    def process(self, file):
        path, key = file
        if self._format == "parquet":
            with beam_open(path) as raw:
                position = 0
                for batch in pq.ParquetFile(raw).iter_batches():
                    for row in batch.to_pylist():
                        position += 1
                        yield key, position, row
            return
        rejected = Rejections(stage="read", kind=self._kind)
        with open_input(path, beam_open) as stream:
            for line in read_lines(stream, EVAL_MAX_LINE_BYTES):
                problem = (line.reason, line.detail) if line.reason else None
                if problem is None and line.text.strip():
                    try:
                        row = json.loads(line.text)
                    except ValueError as exc:
                        problem = ("invalid_json", f"malformed JSON: {exc}")
                    else:
                        if isinstance(row, dict):
                            yield key, line.number, row
                            continue
                        problem = ("invalid_json", f"a JSON {type(row).__name__}, not an object")
                if problem is not None:
                    rejected.add(
                        id=stable_id(self._source, key, line.number), source=self._source, reason=problem[0],
                        detail=problem[1], file=path, offset=line.number, raw=line.raw,
                    )  # fmt: skip
        if len(rejected):
            yield pvalue.TaggedOutput(REJECTED, rejected.to_batch())


class ReadEvalRows(beam.PTransform):
    """Rows of an evaluation set (JSONL objects or Parquet rows) as plain dicts, for jobs that
    keep every field of a row (ids, labels) and rewrite some: code-switched variants,
    translate-test. Files spread over workers; lines that are not JSON objects are rejected
    (as ``kind`` rows) with reasons."""

    def __init__(self, patterns: list[str], *, fmt: Literal["jsonl", "parquet"], source: str, kind: str):
        super().__init__()
        self._patterns, self._format, self._source, self._kind = list(patterns), fmt, source, kind

    def expand(self, pbegin):
        read = (
            pbegin
            | "Patterns" >> beam.Create([self._patterns])
            | "Match" >> beam.FlatMap(expand_patterns)
            | "Spread" >> beam.Reshuffle()
            | "Read" >> beam.ParDo(_ReadRowsFn(self._format, self._source, self._kind)).with_outputs(REJECTED, main="rows")
        )
        return EvalRows(read.rows, read[REJECTED])
