"""Beam sinks: RecordBatches to sharded Parquet (:class:`WriteShards`), and the run manifest
(:class:`WriteManifest`), written once every shard is final.

Shards are written under ``<output_dir>/.tmp-<uuid>/`` and renamed into place by one finalising
step that sees only the small :class:`ShardInfo` records, as Beam's own ``FileBasedSink`` does;
a retried bundle's leftovers die with the temp dir. All I/O goes through Beam's ``FileSystems``,
so the same code writes to local disk or gs://.
"""

from __future__ import annotations

import json
import uuid

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.pvalue import AsDict, AsList, AsSingleton
from apache_beam.transforms.window import GlobalWindow, GlobalWindows
from apache_beam.utils.windowed_value import WindowedValue

from corpusforge.accounting import Tally
from corpusforge.beam.outputs import write_atomically
from corpusforge.io.shards import (
    SHARD_GLOBS,
    MiB,
    ParquetOptions,
    ShardInfo,
    ShardMetadata,
    ShardRoller,
    ShardWriter,
    check_shard_args,
    final_names,
    group_rows,
    hash_buckets,
    split_partitions,
)
from corpusforge.manifest import MANIFEST_NAME, build_manifest, manifest_bytes
from corpusforge.outputs import LOCK_NAME, lock_holder
from corpusforge.schemas import conform

PARQUET_MIME = "application/vnd.apache.parquet"


class _TempOpener:
    """Opens new temporary shards under ``temp_dir`` (picklable, unlike a closure)."""

    def __init__(self, temp_dir: str):
        self._temp_dir = temp_dir

    def __call__(self):
        path = FileSystems.join(self._temp_dir, f"{uuid.uuid4().hex}.parquet")
        return path, FileSystems.create(path, PARQUET_MIME, CompressionTypes.UNCOMPRESSED)


class _WriteBundlesFn(beam.DoFn):
    """Mode (a): each bundle streams its batches into its own shards, one open writer per
    partition, rolling at the target size. Emits temporary ShardInfos."""

    def __init__(self, *, open_temp, schema, metadata, target_shard_bytes, partition_by, options):
        self._open_temp = open_temp
        self._args = dict(
            schema=schema,
            metadata=metadata,
            target_shard_bytes=target_shard_bytes,
            partition_by=partition_by,
            options=options,
        )
        self._roller = None

    def start_bundle(self):
        self._roller = None

    def process(self, batch):
        if self._roller is None:
            self._roller = ShardRoller(self._open_temp, **self._args)
        yield from self._roller.write(batch)

    def finish_bundle(self):
        if self._roller is not None:
            for shard in self._roller.close():
                yield WindowedValue(shard, GlobalWindow().max_timestamp(), [GlobalWindow()])
            self._roller = None


SPILL_MIME = "application/vnd.apache.arrow.stream"
SPILL_BUFFER_BYTES = 64 * MiB  # routed rows a bundle holds before it spills them (per worker process)


class _SpillRowsFn(beam.DoFn):
    """Mode (b), first half: route every row to its key (partition, blake2b(id) mod shard_count)
    and spill each key's rows to a temporary Arrow IPC file under ``temp_dir``; emits
    ``(key, spill path)``. Only these small references go through the shuffle, so a local runner
    never holds the corpus in memory (it did, as pickled rows, at ~200x the input size). Holds at
    most ``buffer_bytes`` of routed rows per bundle; past that, every key's rows are spilled
    (all at once: each key's rows are slices of the same batches, so spilling one key would free
    nothing)."""

    def __init__(self, *, temp_dir: str, schema: pa.Schema, partition_by: str | None, shard_count: int, buffer_bytes: int):
        self._temp_dir = temp_dir
        self._schema = schema
        self._partition_by = partition_by
        self._shard_count = shard_count
        self._buffer_bytes = buffer_bytes
        self._buffers: dict[tuple, list[pa.Table]] = {}
        self._bytes = 0

    def start_bundle(self):
        self._buffers, self._bytes = {}, 0

    def process(self, batch):
        for partition, part in split_partitions(conform(batch, self._schema), self._partition_by):
            for bucket, rows in group_rows(part, hash_buckets(part.column("id"), self._shard_count)):
                self._buffers.setdefault((partition, bucket), []).append(rows)
                self._bytes += rows.nbytes
        if self._bytes > self._buffer_bytes:
            yield from self._spill_all()

    def finish_bundle(self):
        for spilled in self._spill_all():
            yield WindowedValue(spilled, GlobalWindow().max_timestamp(), [GlobalWindow()])

    def _spill_all(self):
        buffers, self._buffers, self._bytes = self._buffers, {}, 0
        for key in sorted(buffers, key=lambda k: (k[0] is not None, k[0] or "", k[1])):
            path = FileSystems.join(self._temp_dir, f"spill-{uuid.uuid4().hex}.arrow")
            write_spill(path, self._schema, buffers.pop(key))
            yield key, path


def write_spill(path: str, schema: pa.Schema, tables: list[pa.Table]) -> None:
    """Write ``tables`` (of ``schema``) to one Arrow IPC stream file at ``path``, on any Beam filesystem."""
    sink = FileSystems.create(path, SPILL_MIME, CompressionTypes.UNCOMPRESSED)
    stream = pa.PythonFile(sink, mode="w")
    try:
        with pa.ipc.new_stream(stream, schema) as writer:
            for table in tables:
                writer.write_table(table)
    finally:
        stream.close()


def read_spill(path: str) -> pa.Table:
    """The rows of one spill file (:func:`write_spill`)."""
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as source:
        return pa.ipc.open_stream(pa.py_buffer(source.read())).read_all()


class _WriteGroupsFn(beam.DoFn):
    """Mode (b), second half: one shard per key from its spill files, its rows sorted, so the
    file's bytes depend on its rows only (not on how they were batched or spilled). Holds one
    shard's rows in memory, twice while sorting."""

    def __init__(self, *, open_temp, schema, metadata, options):
        self._open_temp = open_temp
        self._schema = schema
        self._metadata = metadata
        self._options = options
        # id first, then every flat column to order rows that share an id
        self._sort_keys = [("id", "ascending")] + [
            (f.name, "ascending") for f in schema if f.name != "id" and not pa.types.is_nested(f.type)
        ]

    def process(self, element):
        (partition, _), paths = element
        table = pa.concat_tables([read_spill(path) for path in sorted(paths)])
        table = table.take(pc.sort_indices(table, sort_keys=self._sort_keys))
        path, sink = self._open_temp()
        writer = ShardWriter(sink, path=path, schema=self._schema, metadata=self._metadata, partition=partition, options=self._options)
        writer.write(table)
        del table
        yield writer.close()


def matching(patterns: list[str]) -> list[str]:
    """Paths of the files that match ``patterns``, on any Beam filesystem."""
    return [m.path for result in FileSystems.match(patterns) for m in result.metadata_list]


def _finalise(temp_shards: list[ShardInfo], temp_dir: str, output_dir: str):
    """Rename temporary shards to their final names, replacing the shards of an earlier write,
    then remove the temp dir (with any leftovers of retried bundles)."""
    renames = final_names(temp_shards, output_dir, join=FileSystems.join)
    stale = matching([FileSystems.join(output_dir, pattern) for pattern in SHARD_GLOBS])
    if stale:
        FileSystems.delete(stale)
    for folder in sorted({FileSystems.split(shard.path)[0] for _, shard in renames}):
        if not FileSystems.exists(folder):
            FileSystems.mkdirs(folder)
    if renames:
        FileSystems.rename([temp for temp, _ in renames], [shard.path for _, shard in renames])
    leftovers = matching([FileSystems.join(temp_dir, "*")])
    if leftovers:
        FileSystems.delete(leftovers)
    if FileSystems.exists(temp_dir):
        FileSystems.delete([temp_dir])
    return [shard for _, shard in renames]


class WriteShards(beam.PTransform):
    """Write a PCollection of RecordBatches as Parquet shards; returns the final ShardInfos.

    Default: streaming and memory-bounded, no shuffle of rows. Each bundle writes its own
    shards (rolling at ``target_shard_bytes`` of uncompressed Arrow data); the set of rows
    written is deterministic, their grouping into files depends on the runner's bundles.

    ``shard_count=N``: rows go to shard ``blake2b(id) mod N`` (per partition), are grouped by a
    shuffle and sorted, so the files are byte-identical across runs, runners and batchings.
    Rows are spilled to Arrow files in the temp dir per key (at most 64 MiB held per bundle)
    and only the file names are shuffled; the writer reads one shard's files, sorts and writes
    them, holding that shard in memory (twice while sorting): choose
    ``shard_count`` so a shard fits. Costs the spill's disk (about the data's Arrow size) until
    the write ends; ``target_shard_bytes`` does not apply. Empty buckets write no file.

    Either way files are named ``[<value>/]part-00000-of-0000N.parquet`` (plain partition
    folders, :func:`corpusforge.io.shards.partition_dir`) in (partition, smallest id) order,
    appear by rename once all are written, and replace the shards an earlier
    write left in ``output_dir``. An empty input writes no shard. Temporary files go to
    ``<output_dir>/.tmp-<uuid>/``, the uuid drawn when the pipeline is built (so two concurrent
    runs of one built pipeline, e.g. a template, must not share an output dir).
    """

    def __init__(
        self,
        output_dir: str,
        *,
        schema: pa.Schema,
        metadata: ShardMetadata,
        shard_count: int | None = None,
        target_shard_bytes: int = 256 * MiB,
        partition_by: str | None = None,
        options: ParquetOptions = ParquetOptions(),
    ):
        super().__init__()
        check_shard_args(schema, metadata, partition_by=partition_by, target_shard_bytes=target_shard_bytes)
        if shard_count is not None and shard_count < 1:
            raise ValueError(f"shard_count must be at least 1, got {shard_count}")
        self._output_dir = output_dir
        self._schema = schema
        self._metadata = metadata
        self._shard_count = shard_count
        self._target_shard_bytes = target_shard_bytes
        self._partition_by = partition_by
        self._options = options

    def expand(self, batches):
        if not isinstance(batches.windowing.windowfn, GlobalWindows):
            raise ValueError("WriteShards writes bounded, globally windowed PCollections")
        # Named when the pipeline is built, not by a side input: on local runners a side input
        # would cut fusion and serialise every batch once more before the writer.
        temp_dir = FileSystems.join(self._output_dir, f".tmp-{uuid.uuid4().hex}")
        open_temp = _TempOpener(temp_dir)
        if self._shard_count is None:
            temp_shards = batches | "WriteBundles" >> beam.ParDo(
                _WriteBundlesFn(
                    open_temp=open_temp,
                    schema=self._schema,
                    metadata=self._metadata,
                    target_shard_bytes=self._target_shard_bytes,
                    partition_by=self._partition_by,
                    options=self._options,
                )
            )
        else:
            temp_shards = (
                batches
                | "Route"
                >> beam.ParDo(
                    _SpillRowsFn(
                        temp_dir=temp_dir,
                        schema=self._schema,
                        partition_by=self._partition_by,
                        shard_count=self._shard_count,
                        buffer_bytes=min(self._options.buffer_bytes, SPILL_BUFFER_BYTES),
                    )
                )
                | "Group" >> beam.GroupByKey()
                | "WriteGroups"
                >> beam.ParDo(_WriteGroupsFn(open_temp=open_temp, schema=self._schema, metadata=self._metadata, options=self._options))
            )
        return temp_shards | "Gather" >> beam.combiners.ToList() | "Finalise" >> beam.FlatMap(_finalise, temp_dir, self._output_dir)


def _write_manifest(
    _,
    tally: Tally,
    sections: dict,
    _after: list,
    *shard_lists,
    names,
    output_dir,
    config,
    recipe_hash,
    stages,
    models,
    lock_token,
    cleanup,
) -> dict:
    manifest = build_manifest(
        tally,
        {name: list(shards) for name, shards in zip(names, shard_lists)},
        output_dir=output_dir,
        config=config,
        recipe_hash=recipe_hash,
        stages=stages,
        models=models,
    )
    clash = set(sections) & set(manifest)
    if clash:
        raise ValueError(f"manifest sections {sorted(clash)} would overwrite the manifest's own keys")
    manifest.update(sections)
    write_atomically(FileSystems.join(output_dir, MANIFEST_NAME), manifest_bytes(manifest), "application/json")
    gone = [folder for folder in cleanup if FileSystems.exists(folder)]  # the run's work folders (--resume, dedup spill)
    if gone:
        FileSystems.delete(gone)
    # The manifest is the run's last write: its claim on the directory (corpusforge.outputs.RunLock)
    # ends here; only this run's own lock file is removed, never another (live) run's.
    lock = FileSystems.join(output_dir, LOCK_NAME)
    if lock_token is not None and FileSystems.exists(lock):
        with FileSystems.open(lock, compression_type=CompressionTypes.UNCOMPRESSED) as f:
            holder = lock_holder(f.read())
        if holder is not None and holder.get("token") == lock_token:
            FileSystems.delete([lock])
    return manifest


class WriteManifest(beam.PTransform):
    """Write ``<output_dir>/_manifest.json`` once, after every output's shards are final (they
    arrive as side inputs); returns a PCollection of the one manifest dict. Apply to the
    pipeline: ``p | WriteManifest(...)``. ``outputs`` maps output names to WriteShards results;
    the one named ``rejected`` must hold every rejected row of ``tally`` (a PCollection of one
    Tally, e.g. from ``SumTallies``). ``sections`` adds named top-level entries, each from a
    PCollection of one JSON-serialisable value (language statistics, a sampling report).
    ``after``: PCollections whose steps end before the manifest is written; ``cleanup``: the
    run's work folders (for ``--resume``, deduplication's spill), removed once it is written."""

    def __init__(
        self,
        output_dir: str,
        *,
        config: dict,
        recipe_hash: str,
        outputs: dict[str, beam.PCollection],
        tally: beam.PCollection,
        stages: list[dict] | None = None,
        models: dict | None = None,
        sections: dict[str, beam.PCollection] | None = None,
        lock_token: str | None = None,
        after: list[beam.PCollection] | None = None,
        cleanup: list[str] | None = None,
    ):
        super().__init__()
        self._after = list(after or [])  # steps that must end first (completion records)
        self._cleanup = list(cleanup or [])  # folders removed once the manifest is written
        json.dumps([config, stages, models])  # not JSON-serialisable: fail before the run
        self._lock_token = lock_token  # the run's claim on output_dir (RunLock.token), released with the manifest
        self._output_dir = output_dir
        self._config = config
        self._recipe_hash = recipe_hash
        self._outputs = dict(outputs)
        self._tally = tally
        self._stages = list(stages or [])
        self._models = dict(models or {})
        self._sections = dict(sections or {})

    def expand(self, pbegin):
        names = list(self._outputs)
        named = [pcoll | f"Section[{name}]" >> beam.Map(lambda value, name=name: (name, value)) for name, pcoll in self._sections.items()]
        sections = named | "Sections" >> beam.Flatten() if named else pbegin | "NoSections" >> beam.Create([])
        after = self._after | "After" >> beam.Flatten() if self._after else pbegin | "NothingBefore" >> beam.Create([])
        return (
            pbegin
            | "Once" >> beam.Create([None])
            | "Write"
            >> beam.Map(
                _write_manifest,
                AsSingleton(self._tally),
                AsDict(sections),
                AsList(after),
                *(AsList(self._outputs[name]) for name in names),
                names=names,
                output_dir=self._output_dir,
                config=self._config,
                recipe_hash=self._recipe_hash,
                stages=self._stages,
                models=self._models,
                lock_token=self._lock_token,
                cleanup=self._cleanup,
            )
        )
