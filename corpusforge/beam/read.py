"""Beam adapter for readers: file patterns in, record batches, rejected batches and tallies out."""

from __future__ import annotations

import posixpath
import re
from typing import BinaryIO, NamedTuple

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from corpusforge.accounting import Tally
from corpusforge.io.readers import Reader

REJECTED = "rejected"
COUNTS = "counts"
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


def beam_open(path: str) -> BinaryIO:
    """An opener for readers: raw bytes through Beam's filesystems (the reader decompresses)."""
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


class _ReadFileFn(beam.DoFn):
    def __init__(self, reader: Reader, source: str):
        self._reader = reader
        self._source = source

    def process(self, file):
        path, file_key = file
        for split in self._reader.read(path, source=self._source, file_key=file_key, opener=beam_open):
            if split.kept.num_rows:
                yield split.kept
            if split.rejected.num_rows:
                yield pvalue.TaggedOutput(REJECTED, split.rejected)
            yield pvalue.TaggedOutput(COUNTS, Tally.of_read(split))


class ReadRecords(beam.PTransform):
    """Read every file matching ``patterns`` with ``reader`` (applied to a pipeline root).

    Globs are expanded when the pipeline runs, on a worker; file paths are reshuffled so files
    spread over workers; each file is read whole by one worker, in chunks of the reader's
    ``batch_bytes``. For Moses readers the patterns name the source-side files.
    """

    def __init__(self, reader: Reader, patterns: list[str], source: str):
        super().__init__(label=f"Read[{source}]")
        if not patterns:
            raise ValueError(f"input {source!r} names no file pattern")
        self._reader = reader
        self._patterns = list(patterns)
        self._source = source

    def expand(self, pbegin):
        outputs = (
            pbegin
            | "Patterns" >> beam.Create([self._patterns])
            | "Match" >> beam.FlatMap(expand_patterns)
            | "Spread" >> beam.Reshuffle()
            | "Read" >> beam.ParDo(_ReadFileFn(self._reader, self._source)).with_outputs(REJECTED, COUNTS, main="kept")
        )
        return ReadOutputs(outputs.kept, outputs[REJECTED], outputs[COUNTS])
