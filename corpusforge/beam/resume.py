"""Staging for ``--resume`` (see :mod:`corpusforge.resume`): records, rejected rows and counts
are staged per input under ``<output>/.resume/``, each input's completion record is written once
all of them are, and a resumed run loads the staged rows of completed inputs."""

from __future__ import annotations

import uuid
from collections import defaultdict

import apache_beam as beam
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

from corpusforge.accounting import Tally
from corpusforge.beam.outputs import write_atomically
from corpusforge.beam.write import read_spill, write_spill
from corpusforge.io.shards import group_rows
from corpusforge.resume import DONE_DIR, Fingerprint, done_record, tally_of, tally_rows

_FILE = "file"
_TALLY = "tally"


def fingerprints(inputs: dict[str, list[str]]) -> dict[str, Fingerprint]:
    """Per input name, ``[[path, size, mtime], ...]`` of the files its patterns match now (a
    pattern that matches nothing gives no row: the run itself reports it)."""
    out: dict[str, Fingerprint] = {}
    for name, patterns in inputs.items():
        rows = {}
        for result in FileSystems.match(patterns):
            for meta in result.metadata_list:
                rows[meta.path] = [meta.path, meta.size_in_bytes, meta.last_updated_in_seconds]
        out[name] = [rows[path] for path in sorted(rows)]
    return out


class _StageFn(beam.DoFn):
    """Batches -> staged Arrow files, one per (source, schema) per bundle; emits
    ``(source, ("file", label, relative path))``. Holds at most ``buffer_bytes`` per bundle."""

    def __init__(self, work_dir: str, label: str, buffer_bytes: int):
        self._work_dir, self._label, self._buffer_bytes = work_dir, label, buffer_bytes
        self._buffers: dict[str, list[pa.Table]] = defaultdict(list)
        self._bytes = 0

    def start_bundle(self):
        self._buffers, self._bytes = defaultdict(list), 0

    def process(self, batch):
        if not batch.num_rows:
            return
        table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        for source, rows in group_rows(table, table.column("source").combine_chunks()):
            self._buffers[str(source)].append(rows)
            self._bytes += rows.nbytes
        if self._bytes > self._buffer_bytes:
            yield from self._spill()

    def finish_bundle(self):
        for staged in self._spill():
            yield WindowedValue(staged, GlobalWindow().max_timestamp(), [GlobalWindow()])

    def _spill(self):
        buffers, self._buffers, self._bytes = self._buffers, defaultdict(list), 0
        for source in sorted(buffers):
            tables = buffers[source]
            while tables:  # one file per run of tables sharing a schema
                same = [t for t in tables if t.schema.equals(tables[0].schema, check_metadata=True)]
                tables = [t for t in tables if not t.schema.equals(same[0].schema, check_metadata=True)]
                relative = f"{self._label}/{uuid.uuid4().hex}.arrow"
                write_spill(FileSystems.join(self._work_dir, relative), same[0].schema, same)
                yield source, (_FILE, self._label, relative)


class StageRows(beam.PTransform):
    """Stage a PCollection of RecordBatches (with a ``source`` column) under ``work_dir/label/``;
    returns the staged files as ``(source, ("file", label, path))``."""

    def __init__(self, work_dir: str, label: str, *, buffer_bytes: int = 64 << 20):
        super().__init__()
        self._fn = _StageFn(work_dir, label, buffer_bytes)

    def expand(self, batches):
        return batches | beam.ParDo(self._fn)


def _tally_by_source(tally: Tally):
    by_source: dict[str, Tally] = defaultdict(Tally)
    for (stage, source, outcome), n in tally.counts.items():
        by_source[source].add(stage, source, outcome, n)
    for source, part in sorted(by_source.items()):
        yield source, (_TALLY, tally_rows(part))


def _write_done(element, *, work_dir: str, fingerprints: dict[str, Fingerprint]) -> str:
    source, parts = element
    files: dict[str, list[str]] = defaultdict(list)
    tally = Tally()
    for part in parts:
        if part[0] == _FILE:
            files[part[1]].append(part[2])
        else:
            tally += tally_of(part[1])
    name = uuid.uuid5(uuid.NAMESPACE_URL, source).hex  # a file name for any input name
    path = FileSystems.join(work_dir, DONE_DIR, f"{name}.json")
    write_atomically(path, done_record(source, dict(files), tally, fingerprints.get(source, [])), "application/json")  # whole or not at all
    return source


class WriteCompletion(beam.PTransform):
    """Per input, once all its staged files and counts are in: its completion record. Applied
    to the Tallies up to the staging point; ``staged`` are the :class:`StageRows` outputs.
    Returns the completed input names."""

    def __init__(self, work_dir: str, fingerprints: dict[str, Fingerprint], *, staged: list[beam.PCollection]):
        super().__init__()
        self._work_dir, self._fingerprints, self._staged = work_dir, fingerprints, list(staged)

    def expand(self, tallies):
        by_source = tallies | "BySource" >> beam.FlatMap(_tally_by_source)
        return (
            [*self._staged, by_source]
            | "Parts" >> beam.Flatten()
            | "PerInput" >> beam.GroupByKey()
            | "Record" >> beam.Map(_write_done, work_dir=self._work_dir, fingerprints=self._fingerprints)
        )


def _load(path: str):
    yield from (batch for batch in read_spill(path).to_batches() if batch.num_rows)


class LoadStaged(beam.PTransform):
    """The staged RecordBatches in ``paths`` (applied to a pipeline root)."""

    def __init__(self, paths: list[str]):
        super().__init__()
        self._paths = list(paths)

    def expand(self, pbegin):
        return pbegin | "Files" >> beam.Create(self._paths) | "Load" >> beam.FlatMap(_load)
