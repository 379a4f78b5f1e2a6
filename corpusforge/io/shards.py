"""Sharded Parquet writers: one record kind per file, explicit schema, zstd, provenance metadata.

Runner-free: :class:`ShardWriter` writes one shard to any binary file object, :class:`ShardRoller`
spreads batches over shards (partition folders, size limit), and :func:`write_shards` is the
plain-Python path (temp files, then rename). The Beam sink in ``corpusforge.beam.write`` reuses
the first two and the naming rules here, with Beam's file systems doing the I/O.

Sizes (``row_group_bytes``, ``target_shard_bytes``) are uncompressed Arrow bytes: known before
compression, independent of the codec, and what a reader holds in memory for a row group.

Partitions: ``partition_by="lang"`` writes ``lang`` values into folders of their own,
``hin_Deva/part-00000-of-00002.parquet``, and keeps ``lang`` inside each file; null goes to
``null/`` (see :func:`partition_dir`). The folders are deliberately not Hive-style
(``lang=hin_Deva``): a column both in the files and in a Hive path breaks readers (pandas and
``pq.read_table`` fail to merge string with dictionary, Spark refuses it), and with the
column only in the path Hugging Face ``datasets`` loses it and pandas fails on the null
partition. Plain folders are what every reader takes whole, with ``lang`` from the files:
``datasets.load_dataset("parquet", data_files="segment/**/*.parquet")``, pandas,
``pq.read_table(dir)``, ``pyarrow.dataset``, DuckDB (``read_parquet('segment/*/*.parquet')``,
with or without ``hive_partitioning``), polars and Spark; one language is one folder's glob.
"""

from __future__ import annotations

import glob
import itertools
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import BinaryIO
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpusforge import __version__
from corpusforge.hashing import hash_buckets as hash_buckets  # the writer's shard buckets; defined with the other stable hashes
from corpusforge.io.base import MIB as MiB
from corpusforge.schemas import conform

NULL_PARTITION = "null"  # the folder of rows whose partition value is null
EMPTY_PARTITION = "empty"  # ... and of the empty string
SHARD_GLOBS = ("part-*-of-*.parquet", "*/part-*-of-*.parquet")  # a write's own shards (also the old lang=x/ ones)
DICTIONARY_COLUMNS = (
    "source", "lang", "src_lang", "tgt_lang", "origin", "matrix_lang", "script",
    "kind", "stage", "reason", "file",
)  # fmt: skip


@dataclass(frozen=True)
class ShardMetadata:
    """Provenance written into every shard's Parquet key-value metadata (never a timestamp, so
    the same input gives byte-identical shards)."""

    schema: str  # schema id, e.g. "segment.v1"
    recipe_hash: str
    stages: tuple[dict, ...] = ()
    models: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "stages", tuple(self.stages))
        self.key_values()  # not JSON-serialisable: fail when built, not at the end of a run

    def key_values(self) -> dict[str, str]:
        return {
            "corpusforge.version": __version__,
            "corpusforge.schema": self.schema,
            "corpusforge.recipe_hash": self.recipe_hash,
            "corpusforge.stages": json.dumps(list(self.stages), sort_keys=True, ensure_ascii=False),
            "corpusforge.models": json.dumps(self.models, sort_keys=True, ensure_ascii=False),
        }


@dataclass(frozen=True)
class ParquetOptions:
    """How shards are encoded and buffered. ``dictionary_columns`` names low-cardinality string
    columns to dictionary-encode (names the schema lacks are ignored). ``buffer_bytes`` bounds
    the rows buffered across all open shards of one writer (one per partition): past it, the
    fullest shard writes a smaller row group early, so many partitions cannot exhaust memory."""

    compression_level: int = 3
    row_group_bytes: int = 64 * MiB
    max_row_group_rows: int = 1024 * 1024
    buffer_bytes: int = 256 * MiB
    dictionary_columns: tuple[str, ...] = DICTIONARY_COLUMNS

    def __post_init__(self) -> None:
        if not 1 <= self.compression_level <= 22:
            raise ValueError(f"compression_level must be a zstd level in 1..22, got {self.compression_level}")
        if min(self.row_group_bytes, self.max_row_group_rows, self.buffer_bytes) <= 0:
            raise ValueError("row_group_bytes, max_row_group_rows and buffer_bytes must be positive")


@dataclass(frozen=True)
class ShardInfo:
    """What one closed shard holds. ``partition`` is its partition folder (``hin_Deva``, see
    :func:`partition_dir`), None when unpartitioned; ``bytes_uncompressed`` is Arrow bytes, ``bytes_on_disk`` the file size."""

    path: str
    schema: str  # schema id, e.g. "segment.v1"
    rows: int
    bytes_uncompressed: int
    bytes_on_disk: int | None
    partition: str | None
    rows_by_source: dict[str, int]
    min_id: str
    max_id: str

    def sort_key(self) -> tuple:
        """Order in which final names are assigned: by partition, then by ids (path breaks exact ties)."""
        return (self.partition is not None, self.partition or "", self.min_id, self.max_id, self.rows, self.path)


class ShardWriter:
    """Writes batches of one record kind to ONE Parquet file object, conformed to ``schema``.

    Takes ownership of ``sink`` and closes it in :meth:`close`. Buffers at most about one row
    group (``row_group_bytes``) before encoding; each row group is copied into contiguous arrays
    first, so the file's bytes depend on the rows written, not on how upstream chunked them.
    """

    def __init__(
        self,
        sink: BinaryIO,
        *,
        path: str,
        schema: pa.Schema,
        metadata: ShardMetadata,
        partition: str | None = None,
        options: ParquetOptions = ParquetOptions(),
    ):
        check_shard_args(schema, metadata)
        self.path = path
        self.partition = partition
        self._schema = schema
        self._metadata = metadata
        self._options = options
        self._sink = sink
        self._stream = pa.PythonFile(sink, mode="w")
        provenance = {k.encode(): v.encode() for k, v in metadata.key_values().items()}
        file_schema = schema.with_metadata({**(schema.metadata or {}), **provenance})
        self._writer = pq.ParquetWriter(
            self._stream,
            file_schema,
            compression="zstd",
            compression_level=options.compression_level,
            use_dictionary=[c for c in options.dictionary_columns if c in schema.names],
        )
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self.pending_bytes = 0
        self.rows = 0
        self.bytes = 0  # uncompressed Arrow bytes written or buffered
        self._by_source: dict[str, int] = {}
        self._min_id: str | None = None
        self._max_id: str | None = None

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Conform ``batch`` to the schema (SchemaError naming the column if it does not fit) and buffer it."""
        table = conform(batch, self._schema)
        if not table.num_rows:
            return
        self._pending.append(table)
        self._pending_rows += table.num_rows
        self.pending_bytes += table.nbytes
        self.rows += table.num_rows
        self.bytes += table.nbytes
        for entry in table.column("source").value_counts():
            source = entry["values"].as_py()
            self._by_source[source] = self._by_source.get(source, 0) + entry["counts"].as_py()
        low, high = (v.as_py() for v in pc.min_max(table.column("id")).values())
        self._min_id = low if self._min_id is None else min(self._min_id, low)
        self._max_id = high if self._max_id is None else max(self._max_id, high)
        while self._pending_rows >= self._group_rows():
            self._flush(self._group_rows())

    def _group_rows(self) -> int:
        """Rows per row group, from the mean row size seen so far."""
        per_row = max(1.0, self.bytes / self.rows)
        return max(1, min(self._options.max_row_group_rows, int(self._options.row_group_bytes / per_row)))

    def _flush(self, rows: int) -> None:
        table = pa.concat_tables(self._pending)
        group = table.slice(0, rows).combine_chunks()
        self._writer.write_table(group, row_group_size=group.num_rows)
        rest = table.slice(group.num_rows)
        self._pending = [rest] if rest.num_rows else []
        self._pending_rows = rest.num_rows
        self.pending_bytes = rest.nbytes

    def flush(self) -> None:
        """Write the buffered rows as a row group now (to bound memory)."""
        if self._pending_rows:
            self._flush(self._pending_rows)

    def close(self) -> ShardInfo:
        """Write the last row group and the footer, close the sink, and describe the shard."""
        self.flush()
        self._writer.close()
        size = self._stream.tell()
        self._stream.close()
        self._sink.close()
        return ShardInfo(
            path=self.path,
            schema=self._metadata.schema,
            rows=self.rows,
            bytes_uncompressed=self.bytes,
            bytes_on_disk=size,
            partition=self.partition,
            rows_by_source=dict(sorted(self._by_source.items())),
            min_id=self._min_id or "",
            max_id=self._max_id or "",
        )


def group_rows(table: pa.Table, keys: pa.Array) -> list[tuple[object, pa.Table]]:
    """Split ``table`` into runs of equal ``keys`` (one per row; nulls form their own group),
    keeping row order inside each group. One stable sort, then slices."""
    if table.num_rows == 0:
        return []
    if pc.count_distinct(keys, mode="all").as_py() == 1:
        return [(keys[0].as_py(), table)]
    order = pc.sort_indices(keys)  # stable
    runs = pc.run_end_encode(keys.take(order))
    table = table.take(order)
    out, start = [], 0
    for end, value in zip(runs.run_ends.to_pylist(), runs.values.to_pylist()):
        out.append((value, table.slice(start, end - start)))
        start = end
    return out


def partition_dir(value: str | None) -> str:
    """Folder for one partition value: the value percent-encoded (``hin_Deva``); null as
    ``null`` and ``""`` as ``empty``. A value that would read as one of those, or that starts
    with ``.`` or ``_`` (folders readers skip as hidden), has its first character
    percent-encoded (``%6Eull``, ``%5Fx``). Never ``key=value``: see the module docstring."""
    if value is None:
        return NULL_PARTITION
    if value == "":
        return EMPTY_PARTITION
    name = quote(value, safe="")
    if name in (NULL_PARTITION, EMPTY_PARTITION) or name[0] in "._":
        name = f"%{ord(name[0]):02X}{name[1:]}"
    return name


def check_shard_args(schema: pa.Schema, metadata: ShardMetadata, *, partition_by: str | None = None, target_shard_bytes: int = 1) -> None:
    """Fail before writing anything when the metadata names another schema, ``partition_by`` is
    not a string column of the schema or the target size is not positive."""
    if target_shard_bytes <= 0:
        raise ValueError(f"target_shard_bytes must be positive, got {target_shard_bytes}")
    declared = (schema.metadata or {}).get(b"corpusforge.schema")
    if declared is not None and declared.decode() != metadata.schema:
        raise ValueError(f"schema is {declared.decode()} but the shard metadata says {metadata.schema}")
    if partition_by is not None and (partition_by not in schema.names or schema.field(partition_by).type != pa.string()):
        raise ValueError(f"partition_by={partition_by!r} must name a string column of the schema; columns: {schema.names}")


def split_partitions(table: pa.Table, column: str | None) -> list[tuple[str | None, pa.Table]]:
    """(partition folder or None, rows) for each partition value present in ``table``."""
    if column is None:
        return [(None, table)] if table.num_rows else []
    out: list[tuple[str | None, pa.Table]] = []
    for value, part in group_rows(table, table.column(column).combine_chunks()):
        assert value is None or isinstance(value, str)  # check_shard_args: partition_by is a string column
        out.append((partition_dir(value), part))
    return out


class ShardRoller:
    """Spreads batches over shards: one open :class:`ShardWriter` per partition, a new shard once
    one holds ``target_shard_bytes`` (a batch that would overshoot is split by mean row size).

    ``open_temp()`` returns ``(path, binary file object)`` for a new temporary shard; the caller
    renames closed shards to their final names (:func:`final_names`).
    """

    def __init__(
        self,
        open_temp: Callable[[], tuple[str, BinaryIO]],
        *,
        schema: pa.Schema,
        metadata: ShardMetadata,
        target_shard_bytes: int = 256 * MiB,
        partition_by: str | None = None,
        options: ParquetOptions = ParquetOptions(),
    ):
        check_shard_args(schema, metadata, partition_by=partition_by, target_shard_bytes=target_shard_bytes)
        self._open_temp = open_temp
        self._schema = schema
        self._metadata = metadata
        self._target = target_shard_bytes
        self._partition_by = partition_by
        self._options = options
        self._writers: dict[str | None, ShardWriter] = {}

    def write(self, batch: pa.RecordBatch | pa.Table) -> list[ShardInfo]:
        """Write one batch; returns the shards it completed."""
        closed = []
        for partition, part in split_partitions(conform(batch, self._schema), self._partition_by):
            while part.num_rows:
                writer = self._writers.get(partition) or self._open(partition)
                room = self._target - writer.bytes
                rows = part.num_rows if part.nbytes <= room else max(1, int(room * part.num_rows / part.nbytes))
                writer.write(part.slice(0, rows))
                part = part.slice(rows)
                if writer.bytes >= self._target or part.num_rows:
                    closed.append(self._writers.pop(partition).close())
        while self._writers and sum(w.pending_bytes for w in self._writers.values()) > self._options.buffer_bytes:
            max(self._writers.values(), key=lambda w: w.pending_bytes).flush()
        return closed

    def _open(self, partition: str | None) -> ShardWriter:
        path, sink = self._open_temp()
        writer = ShardWriter(sink, path=path, schema=self._schema, metadata=self._metadata, partition=partition, options=self._options)
        self._writers[partition] = writer
        return writer

    def close(self) -> list[ShardInfo]:
        """Close every open shard; returns them."""
        closed = [writer.close() for writer in self._writers.values()]
        self._writers.clear()
        return closed


def final_names(shards: Iterable[ShardInfo], directory: str, join: Callable[..., str] = os.path.join) -> list[tuple[str, ShardInfo]]:
    """Pair each closed shard's temporary path with the shard at its final path,
    ``[<partition>/]part-00000-of-00004.parquet``, numbered within each partition in
    :meth:`ShardInfo.sort_key` order (deterministic for the same shards)."""
    out = []
    for partition, members in itertools.groupby(sorted(shards, key=ShardInfo.sort_key), key=lambda s: s.partition):
        group = list(members)
        folder = join(directory, partition) if partition else directory
        for i, shard in enumerate(group):
            out.append((shard.path, replace(shard, path=join(folder, f"part-{i:05d}-of-{len(group):05d}.parquet"))))
    return out


def write_shards(
    batches: Iterable[pa.RecordBatch | pa.Table],
    directory: str | os.PathLike,
    *,
    schema: pa.Schema,
    metadata: ShardMetadata,
    target_shard_bytes: int = 256 * MiB,
    partition_by: str | None = None,
    options: ParquetOptions = ParquetOptions(),
) -> list[ShardInfo]:
    """Write batches as Parquet shards under a local ``directory``; returns the final shards.

    Shards are written under ``directory/.tmp-<uuid>/`` and renamed into place once all are
    closed; shards a previous write left in ``directory`` are removed first, so the directory
    holds exactly this write's shards. On error the temp dir is removed and nothing is renamed.
    """
    directory = os.fspath(directory)
    temp = os.path.join(directory, f".tmp-{uuid.uuid4().hex}")

    def open_temp() -> tuple[str, BinaryIO]:
        path = os.path.join(temp, f"{uuid.uuid4().hex}.parquet")
        return path, open(path, "wb")

    roller = ShardRoller(
        open_temp,
        schema=schema,
        metadata=metadata,
        target_shard_bytes=target_shard_bytes,
        partition_by=partition_by,
        options=options,
    )
    os.makedirs(temp)
    try:
        closed = [shard for batch in batches for shard in roller.write(batch)]
        closed += roller.close()
        renames = final_names(closed, directory)
        for pattern in SHARD_GLOBS:
            for stale in glob.glob(os.path.join(glob.escape(directory), pattern)):
                os.remove(stale)
        for temp_path, shard in renames:
            os.makedirs(os.path.dirname(shard.path), exist_ok=True)
            os.replace(temp_path, shard.path)
        return [shard for _, shard in renames]
    finally:
        shutil.rmtree(temp, ignore_errors=True)
