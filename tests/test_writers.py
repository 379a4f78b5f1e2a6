"""Runner-free Parquet writers and the run manifest."""

from __future__ import annotations

import io
import json
import logging
import os

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import corpusforge
from corpusforge.accounting import Tally
from corpusforge.io.shards import (
    NULL_PARTITION,
    ParquetOptions,
    ShardMetadata,
    ShardWriter,
    partition_dir,
    write_shards,
)
from corpusforge.manifest import build_manifest, load_manifest, summary_table, write_manifest
from corpusforge.schemas import SchemaError, extend, load_schema, schema_id

# a stage-declared column, as Stage.output_fields would return it
SCHEMA = extend(load_schema("segment"), [pa.field("lang_score", pa.float32())])
METADATA = ShardMetadata(
    schema=schema_id("segment"),
    recipe_hash="r3c1pe",
    stages=[{"name": "lid", "version": "1"}],
    models={"lid": "lid.176.ftz"},
)
LANGS = ["hin_Deva", "eng_Latn", None, "urd_Arab"]


def segments(n: int, start: int = 0) -> pa.RecordBatch:
    rows = [
        {
            "id": f"{i:08d}",
            "source": "wiki" if i % 3 else "news",
            "text": f"पंक्ति {i} " + "text " * (i % 11),
            "lang": LANGS[i % 4],
            "lang_score": 0.5,
        }
        for i in range(start, start + n)
    ]
    return pa.RecordBatch.from_pylist(rows)


def batches(total: int, size: int) -> list[pa.RecordBatch]:
    return [segments(min(size, total - start), start) for start in range(0, total, size)]


def files_under(root) -> list[str]:
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


def read_ids(directory) -> list[str]:
    return ds.dataset(directory, format="parquet", partitioning="hive").to_table()["id"].to_pylist()


def write(directory, data, **kwargs):
    return write_shards(data, directory, schema=SCHEMA, metadata=METADATA, **kwargs)


# --- schema -------------------------------------------------------------------------------


def test_undeclared_column_is_an_error_naming_it(tmp_path):
    bad = segments(3).append_column("score", pa.array([1, 2, 3]))
    with pytest.raises(SchemaError, match="score"):
        write(tmp_path, [segments(5), bad])
    assert files_under(tmp_path) == []  # nothing renamed into place, temp dir removed


def test_null_in_non_null_column_is_an_error_naming_it(tmp_path):
    batch = segments(3)
    bad = batch.set_column(batch.schema.get_field_index("text"), "text", pa.array(["a", None, "c"]))
    with pytest.raises(SchemaError, match="'text'"):
        ShardWriter(io.BytesIO(), path="x.parquet", schema=SCHEMA, metadata=METADATA).write(bad)


def test_metadata_naming_another_schema_is_refused():
    with pytest.raises(ValueError, match="bitext.v1"):
        ShardWriter(io.BytesIO(), path="x", schema=SCHEMA, metadata=ShardMetadata(schema="bitext.v1", recipe_hash="r"))
    with pytest.raises(TypeError):
        ShardMetadata(schema="segment.v1", recipe_hash="r", models={"m": object()})


def test_written_schema_equals_json_schema_plus_stage_columns_and_carries_provenance(tmp_path):
    [shard] = write(tmp_path, batches(100, 40))
    written = pq.read_schema(shard.path)
    assert written.names == SCHEMA.names
    for field in SCHEMA:
        got = written.field(field.name)
        # `==` on types: Parquet names a map's entries after its column, which strict equality sees
        assert (got.type, got.nullable, got.metadata) == (field.type, field.nullable, field.metadata)
    assert written.field("lang_score").type == pa.float32()
    meta = {k.decode(): v.decode() for k, v in written.metadata.items()}
    assert meta["corpusforge.version"] == corpusforge.__version__
    assert meta["corpusforge.schema"] == schema_id("segment") == "segment.v2"
    assert meta["corpusforge.recipe_hash"] == "r3c1pe"
    assert json.loads(meta["corpusforge.stages"]) == [{"name": "lid", "version": "1"}]
    assert json.loads(meta["corpusforge.models"]) == {"lid": "lid.176.ftz"}
    assert pq.read_table(shard.path).column("lang").to_pylist() == [LANGS[i % 4] for i in range(100)]


def test_zstd_dictionary_encoding_and_row_groups(tmp_path):
    options = ParquetOptions(compression_level=9, row_group_bytes=4_000, max_row_group_rows=30)
    [shard] = write(tmp_path, batches(400, 64), options=options)
    meta = pq.ParquetFile(shard.path).metadata
    assert meta.num_row_groups > 400 // 30
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert sum(sizes) == 400 and max(sizes) <= 30
    names = SCHEMA.names
    column = meta.row_group(0).column
    assert column(names.index("text")).compression == "ZSTD"
    assert "RLE_DICTIONARY" in column(names.index("source")).encodings
    assert "RLE_DICTIONARY" in column(names.index("lang")).encodings
    assert "RLE_DICTIONARY" not in column(names.index("text")).encodings
    # big rows: row groups follow row_group_bytes, not the row limit
    [shard] = write(tmp_path / "big", batches(400, 64), options=ParquetOptions(row_group_bytes=8_000))
    meta = pq.ParquetFile(shard.path).metadata
    assert 3 <= meta.num_row_groups <= 12


# --- shards -------------------------------------------------------------------------------


def test_shards_roll_by_size_and_hold_every_row_once(tmp_path):
    data = batches(3000, 500)
    shards = write(tmp_path, data, target_shard_bytes=40_000)
    assert len(shards) >= 4
    assert all(s.bytes_uncompressed <= 40_000 * 1.05 for s in shards)
    assert all(s.bytes_uncompressed >= 40_000 * 0.9 for s in shards[:-1])
    n = len(shards)
    assert [os.path.basename(s.path) for s in shards] == [f"part-{i:05d}-of-{n:05d}.parquet" for i in range(n)]
    ids = [i for s in shards for i in pq.read_table(s.path).column("id").to_pylist()]
    assert sorted(ids) == [f"{i:08d}" for i in range(3000)]
    for s in shards:
        table = pq.read_table(s.path)
        assert s.rows == table.num_rows and s.bytes_on_disk == os.path.getsize(s.path)
        assert (s.min_id, s.max_id) == (min(table["id"].to_pylist()), max(table["id"].to_pylist()))
        assert s.rows_by_source == {k: table["source"].to_pylist().count(k) for k in sorted(set(table["source"].to_pylist()))}
    assert [s.min_id for s in shards] == sorted(s.min_id for s in shards)  # named in id order
    assert files_under(tmp_path) == sorted(os.path.basename(s.path) for s in shards)  # no temp files


def test_partitions_are_plain_folders_that_readers_take_whole(tmp_path):
    shards = write(tmp_path, batches(1000, 300), partition_by="lang", target_shard_bytes=30_000)
    assert {s.partition for s in shards} == {"hin_Deva", "eng_Latn", "urd_Arab", NULL_PARTITION}
    for s in shards:
        assert os.path.basename(os.path.dirname(s.path)) == s.partition
        in_file = set(pq.read_table(s.path).column("lang").to_pylist())  # self-contained file
        assert in_file == {None if s.partition == NULL_PARTITION else s.partition}
    for lang in ("hin_Deva", "urd_Arab"):
        in_dir = [os.path.basename(s.path) for s in shards if s.partition == lang]
        assert in_dir == [f"part-{i:05d}-of-{len(in_dir):05d}.parquet" for i in range(len(in_dir))]

    expected = {f"{i:08d}": LANGS[i % 4] for i in range(1000)}  # the null partition reads back as null
    for how, table in {
        "pq.read_table": pq.read_table(tmp_path),  # no key=value folders: nothing to merge with
        "dataset": ds.dataset(tmp_path, format="parquet").to_table(),
        "dataset, hive": ds.dataset(tmp_path, format="parquet", partitioning="hive").to_table(),
    }.items():
        assert table.schema.field("lang").type == pa.string(), how
        assert dict(zip(table["id"].to_pylist(), table["lang"].to_pylist())) == expected, how
    dataset = ds.dataset(tmp_path, format="parquet")
    hindi = dataset.to_table(filter=ds.field("lang") == "hin_Deva")
    assert hindi.num_rows == 250 and set(hindi["lang"].to_pylist()) == {"hin_Deva"}
    assert dataset.to_table(filter=ds.field("lang").is_null()).num_rows == 250
    with pytest.raises(ValueError, match="partition_by"):
        write(tmp_path, [segments(3)], partition_by="nope")


def test_partition_folders_are_unambiguous_and_never_hidden():
    assert partition_dir("hin_Deva") == "hin_Deva"
    assert (partition_dir(None), partition_dir(""), partition_dir("null"), partition_dir("empty")) == ("null", "empty", "%6Eull", "%65mpty")
    assert partition_dir("_x") == "%5Fx" and partition_dir(".") == "%2E" and partition_dir("..") == "%2E."
    assert partition_dir("a/b=c") == "a%2Fb%3Dc"  # no separators, no key=value


def test_many_open_partitions_share_one_buffer_bound(tmp_path):
    roomy = write(tmp_path / "roomy", batches(2000, 100), partition_by="lang")
    bounded = write(tmp_path / "bounded", batches(2000, 100), partition_by="lang", options=ParquetOptions(buffer_bytes=30_000))
    groups = {s.partition: pq.ParquetFile(s.path).metadata.num_row_groups for s in roomy}
    assert set(groups.values()) == {1}
    for shard in bounded:  # the fullest partition wrote early, smaller row groups; no row lost
        assert pq.ParquetFile(shard.path).metadata.num_row_groups > 1
    assert sorted(read_ids(tmp_path / "bounded")) == sorted(read_ids(tmp_path / "roomy"))


def test_same_batches_give_byte_identical_files(tmp_path):
    first = write(tmp_path / "a", batches(2000, 333), partition_by="lang", target_shard_bytes=50_000)
    second = write(tmp_path / "b", batches(2000, 333), partition_by="lang", target_shard_bytes=50_000)
    assert files_under(tmp_path / "a") == files_under(tmp_path / "b")
    for a, b in zip(first, second):
        with open(a.path, "rb") as fa, open(b.path, "rb") as fb:
            assert fa.read() == fb.read()


def test_rewrite_replaces_earlier_shards_and_empty_input_writes_none(tmp_path):
    assert len(write(tmp_path, batches(2000, 500), target_shard_bytes=20_000, partition_by="lang")) > 4
    [shard] = write(tmp_path, batches(2000, 500))
    assert files_under(tmp_path) == ["part-00000-of-00001.parquet"] == [os.path.basename(shard.path)]
    assert write(tmp_path, []) == []
    assert files_under(tmp_path) == []


# --- manifest -----------------------------------------------------------------------------


def run_with_tally(tmp_path, drop_written: int = 0, drop_rejected: int = 0):
    """A hand-made run: 1000 rows read, 40 rejected by normalize, 10 duplicates, 20 created."""
    tally = Tally()
    data = batches(1000, 250)
    read = Tally.of_rows("read", "read", pa.Table.from_batches(data))
    tally += read
    kept, rejected, duplicates = data[0].slice(50), data[0].slice(0, 40), data[0].slice(40, 10)
    tally += Tally.of_rows("normalize", "rejected", rejected) + Tally.of_rows("normalize", "rejected:empty_text", rejected)
    tally += Tally.of_rows("dedup", "duplicate", duplicates)
    created = segments(20, 5000)
    tally += Tally.of_rows("codeswitch", "created", created)
    written = [kept, *data[1:], created]
    if drop_written:
        written[-1] = created.slice(drop_written)
    rejected_rows = pa.RecordBatch.from_pylist(
        [{"id": i, "source": s, "kind": "segment", "stage": "normalize", "reason": "empty_text"}
         for i, s in zip(rejected["id"].to_pylist(), rejected["source"].to_pylist())][drop_rejected:],
        schema=load_schema("rejected"),
    )  # fmt: skip
    meta_rejected = ShardMetadata(schema="rejected.v1", recipe_hash="r3c1pe")
    shards = {
        "segment": write(tmp_path / "segment", written, partition_by="lang"),
        "rejected": write_shards([rejected_rows], tmp_path / "rejected", schema=load_schema("rejected"), metadata=meta_rejected),
    }  # fmt: skip
    return build_manifest(
        tally,
        shards,
        output_dir=str(tmp_path),
        config={"name": "हिन्दी run"},
        recipe_hash="r3c1pe",
        stages=[{"name": "normalize", "version": "1"}],
        models={},
    )


def test_manifest_balances_and_lists_the_files(tmp_path):
    manifest = run_with_tally(tmp_path)
    assert manifest["balanced"] is True and manifest["unbalanced_sources"] == []
    totals = manifest["totals"]
    assert (totals["read"], totals["created"], totals["written"], totals["duplicates"]) == (1000, 20, 970, 10)
    assert (totals["rejected"], totals["rejected_stored"]) == (40, 40)
    assert totals["rejected_by_stage"] == {"normalize": {"empty_text": 40}}
    news = manifest["sources"]["news"]
    assert news["read"] + news["created"] == news["written"] + news["rejected"] + news["duplicates"]
    assert manifest["stage_counts"]["normalize"] == {"rejected": 40, "rejected_by_reason": {"empty_text": 40}}
    assert manifest["stage_counts"]["write"] == {"written": 970, "stored": 40}
    segment = manifest["outputs"]["segment"]
    assert segment["schema"] == "segment.v2" and segment["rows"] == 970
    assert sorted(f["path"] for f in segment["files"]) == sorted(os.path.join("segment", f) for f in files_under(tmp_path / "segment"))
    assert manifest["outputs"]["rejected"]["rows"] == 40
    assert manifest["corpusforge_version"] == corpusforge.__version__
    assert manifest["created_at"].endswith("Z")

    write_manifest(tmp_path / "_manifest.json", manifest)
    assert "हिन्दी run" in (tmp_path / "_manifest.json").read_text(encoding="utf-8")
    assert load_manifest(tmp_path) == manifest
    stream = io.BytesIO()
    write_manifest(stream, manifest)
    assert json.loads(stream.getvalue()) == manifest

    table = summary_table(manifest).splitlines()
    assert table[0].split() == ["source", "read", "created", "written", "rejected", "duplicates", "balanced"]
    assert table[-1].split() == ["total", "1,000", "20", "970", "40", "10", "yes"]
    assert len({len(line) for line in table if "-" not in line[:1]}) == 1  # aligned columns


def test_missing_row_is_flagged_unbalanced_and_logged(tmp_path, caplog):
    with caplog.at_level(logging.ERROR, logger="corpusforge.manifest"):
        manifest = run_with_tally(tmp_path / "lost", drop_written=1)
    assert manifest["balanced"] is False
    [source] = manifest["unbalanced_sources"]
    assert manifest["sources"][source]["unaccounted"] == 1 and manifest["totals"]["unaccounted"] == 1
    assert "does not balance" in caplog.text and source in caplog.text
    assert summary_table(manifest).splitlines()[-1].endswith("NO")

    manifest = run_with_tally(tmp_path / "unstored", drop_rejected=1)
    assert manifest["balanced"] is False
    totals = manifest["totals"]
    assert (totals["unaccounted"], totals["rejected"], totals["rejected_stored"]) == (0, 40, 39)
