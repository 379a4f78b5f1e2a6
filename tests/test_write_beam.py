"""WriteShards and WriteManifest on the DirectRunner."""

from __future__ import annotations

import os

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from corpusforge.accounting import Tally
from corpusforge.beam.stages import ApplyStage, SumTallies
from corpusforge.beam.write import WriteManifest, WriteShards
from corpusforge.io.shards import ShardMetadata, write_shards
from corpusforge.manifest import load_manifest, summary_table
from corpusforge.records import Split, reject_where
from corpusforge.schemas import load_schema
from corpusforge.transforms.base import Stage

pytestmark = pytest.mark.slow

SCHEMA = load_schema("segment")
METADATA = ShardMetadata(schema="segment.v2", recipe_hash="r3c1pe")
LANGS = ["hin_Deva", "eng_Latn", None]
N = 2000


def batches(size: int, n: int = N) -> list[pa.RecordBatch]:
    rows = [
        {
            "id": f"{(i * 7919) % n:06d}",  # ids not in input order
            "source": "wiki" if i % 3 else "news",
            "text": "" if i % 50 == 0 else f"segment {i} " + "word " * (i % 13),
            "lang": LANGS[i % 3],
        }
        for i in range(n)
    ]
    return [pa.RecordBatch.from_pylist(rows[i : i + size], schema=SCHEMA) for i in range(0, n, size)]


def run(data, output_dir, **kwargs) -> None:
    with beam.Pipeline(runner="DirectRunner") as p:
        _ = p | beam.Create(data) | WriteShards(str(output_dir), schema=SCHEMA, metadata=METADATA, **kwargs)


def files_under(root) -> list[str]:
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


def read_ids(output_dir) -> list[str]:
    return sorted(ds.dataset(output_dir, format="parquet", partitioning="hive").to_table()["id"].to_pylist())


def test_streaming_mode_writes_every_row_once(tmp_path):
    run(batches(100), tmp_path, partition_by="lang", target_shard_bytes=20_000)
    assert read_ids(tmp_path) == sorted(f"{i:06d}" for i in range(N))
    files = files_under(tmp_path)
    assert all(not f.startswith(".tmp") for f in files) and not any(d.startswith(".tmp") for d in os.listdir(tmp_path))
    for folder in ("hin_Deva", "eng_Latn", "null"):  # one plain folder per value; null rows in null/
        names = [f for f in files if f.startswith(f"{folder}/")]
        assert len(names) > 1  # rolled at the target size
        assert names == [f"{folder}/part-{i:05d}-of-{len(names):05d}.parquet" for i in range(len(names))]
    table = pq.read_table(tmp_path)  # the whole tree, lang from the files
    assert table.num_rows == N and table.schema.field("lang").type == pa.string()
    assert table.filter(pc.is_null(table["lang"])).num_rows == sum(1 for i in range(N) if LANGS[i % len(LANGS)] is None)


def test_sharded_mode_gives_identical_files_for_reruns_and_other_batch_sizes(tmp_path):
    for name, data in (("a", batches(250)), ("b", batches(250)), ("c", batches(97)[::-1])):
        run(data, tmp_path / name, shard_count=3, partition_by="lang")
    files = files_under(tmp_path / "a")
    assert len(files) == 9
    assert files == files_under(tmp_path / "b") == files_under(tmp_path / "c")
    for f in files:
        data = (tmp_path / "a" / f).read_bytes()
        assert data == (tmp_path / "b" / f).read_bytes() == (tmp_path / "c" / f).read_bytes(), f
        ids = pq.read_table(tmp_path / "a" / f)["id"]
        assert pc.all(pc.less(ids[:-1], ids[1:])).as_py()  # sorted by id
    assert read_ids(tmp_path / "a") == sorted(f"{i:06d}" for i in range(N))


@pytest.mark.parametrize("mode", [{}, {"shard_count": 4}], ids=["streaming", "sharded"])
def test_empty_input_writes_no_shards_and_replaces_earlier_ones(tmp_path, mode):
    write_shards(batches(500), tmp_path, schema=SCHEMA, metadata=METADATA)
    assert files_under(tmp_path) == ["part-00000-of-00001.parquet"]
    run([], tmp_path, **mode)
    assert files_under(tmp_path) == [] and os.listdir(tmp_path) == []


class DropEmpty(Stage):
    """A real filter: rows with empty text are rejected."""

    name = "drop_empty"

    def process(self, batch: pa.RecordBatch) -> Split:
        return reject_where(batch, pc.equal(batch["text"], ""), stage=self.name, kind="segment", reason="empty_text")


def test_manifest_is_written_after_the_shards_and_balances(tmp_path):
    rejected_meta = ShardMetadata(schema="rejected.v1", recipe_hash="r3c1pe")
    with beam.Pipeline(runner="DirectRunner") as p:
        read = p | beam.Create(batches(300))
        read_counts = read | "ReadCounts" >> beam.Map(lambda b: Tally.of_read(Split.keep_all(b)))
        stage = read | ApplyStage(DropEmpty())
        segments = stage.kept | "WriteSegments" >> WriteShards(
            str(tmp_path / "segment"), schema=SCHEMA, metadata=METADATA, partition_by="lang"
        )
        rejected = stage.rejected | "WriteRejected" >> WriteShards(
            str(tmp_path / "rejected"), schema=load_schema("rejected"), metadata=rejected_meta, shard_count=2
        )
        tally = (read_counts, stage.counts) | beam.Flatten() | SumTallies()
        _ = p | WriteManifest(
            str(tmp_path),
            config={"inputs": ["demo"]},
            recipe_hash="r3c1pe",
            outputs={"segment": segments, "rejected": rejected},
            tally=tally,
            stages=[DropEmpty().describe()],
        )

    manifest = load_manifest(tmp_path)
    assert manifest["balanced"] is True
    totals = manifest["totals"]
    assert (totals["read"], totals["written"], totals["rejected"], totals["rejected_stored"]) == (
        N, N - N // 50, N // 50, N // 50
    )  # fmt: skip
    assert totals["rejected_by_stage"] == {"drop_empty": {"empty_text": N // 50}}
    assert manifest["stages"] == [{"name": "drop_empty", "version": "1"}]
    listed = sorted(f["path"] for output in manifest["outputs"].values() for f in output["files"])
    assert listed == [f for f in files_under(tmp_path) if f != "_manifest.json"]  # final names, all present
    assert manifest["outputs"]["rejected"]["schema"] == "rejected.v1"
    assert summary_table(manifest).splitlines()[-1].split() == ["total", "2,000", "0", "1,960", "40", "0", "yes"]
