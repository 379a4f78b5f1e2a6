"""Every output kind, as the tools people train and analyse with read it: Hugging Face
``datasets`` (normal and streaming), pandas, ``pyarrow.parquet``, ``pyarrow.dataset``, DuckDB and
polars each read the whole of ``segment/``, ``bitext/``, ``codeswitch/`` and ``rejected/`` of the
demo, flat and partitioned by language (null language included), and get exactly the rows the
manifest counts, with the right languages.

HF datasets runs offline with its caches under the test's temporary directory."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from corpusforge.cli import main
from corpusforge.schemas import entries_dict

pytestmark = pytest.mark.slow

KINDS = ("segment", "bitext", "codeswitch", "rejected")
# Per kind, the columns compared row by row between each reader and the files themselves.
COLUMNS = {
    "segment": ("id", "lang"),
    "bitext": ("id", "src_lang", "tgt_lang"),
    "codeswitch": ("id", "matrix_lang", "m_index"),
    "rejected": ("id", "reason"),
}
PARTITIONED = ["--set", "output.partition_by=lang", "--set", "stages.1={script: {}}"]  # script instead of lid: some rows keep a null lang


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, Path]:
    """The demo run once flat and once partitioned by language."""
    root = tmp_path_factory.mktemp("consumers")
    runs = {"flat": [], "partitioned": PARTITIONED}
    for layout, options in runs.items():
        assert main(["demo", "--output", str(root / layout), *options]) == 0
    return {layout: root / layout for layout in runs}


@pytest.fixture(scope="module")
def hf(tmp_path_factory):
    """``datasets``, offline, every cache under a temporary directory (set before it is
    imported, and patched in too in case another test imported it first)."""
    cache = tmp_path_factory.mktemp("hf")
    env = {
        "HF_HOME": cache / "home",
        "HF_DATASETS_CACHE": cache / "datasets",
        "HF_MODULES_CACHE": cache / "modules",
        "XDG_CACHE_HOME": cache / "xdg",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, str(value))
        import datasets

        mp.setattr(datasets.config, "HF_HUB_OFFLINE", True)
        mp.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
        mp.setattr(datasets.config, "HF_CACHE_HOME", str(cache / "home"))
        mp.setattr(datasets.config, "HF_DATASETS_CACHE", cache / "datasets")
        mp.setattr(datasets.config, "HF_MODULES_CACHE", cache / "modules")
        yield datasets, cache


def manifest(output: Path) -> dict:
    return json.loads((output / "_manifest.json").read_text(encoding="utf-8"))


def normal(value):
    """One cell as Python: pandas' missing values as None."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def rows_of(values) -> Counter:
    return Counter(tuple(normal(v) for v in row) for row in values)


def truth(output: Path, kind: str) -> Counter:
    """The rows of ``kind``, file by file as the manifest lists them."""
    files = manifest(output)["outputs"][kind]["files"]
    tables = [pq.ParquetFile(output / f["path"]).read(columns=list(COLUMNS[kind])) for f in files]
    return rows_of(tuple(r.values()) for t in tables for r in t.to_pylist())


def read_hf(hf, path: Path, columns: tuple[str, ...], *, streaming: bool):
    datasets, cache = hf
    loaded = datasets.load_dataset(
        "parquet", data_files=str(path / "**" / "*.parquet"), split="train", streaming=streaming, cache_dir=str(cache / "datasets")
    )
    if not streaming:
        assert all(Path(f["filename"]).is_relative_to(cache) for f in loaded.cache_files)  # nothing written elsewhere
    return [tuple(row[c] for c in columns) for row in loaded]


def read_duckdb(path: Path, columns: tuple[str, ...], *, hive: bool):
    with duckdb.connect() as con:
        query = f"SELECT {', '.join(columns)} FROM read_parquet('{path}/**/*.parquet', hive_partitioning = {str(hive).lower()})"
        return con.execute(query).fetchall()


READERS = {
    "datasets": lambda hf, path, cols: read_hf(hf, path, cols, streaming=False),
    "datasets-streaming": lambda hf, path, cols: read_hf(hf, path, cols, streaming=True),
    "pandas": lambda hf, path, cols: pd.read_parquet(path, columns=list(cols)).itertuples(index=False),
    "pq.read_table": lambda hf, path, cols: (tuple(r.values()) for r in pq.read_table(path, columns=list(cols)).to_pylist()),
    "pyarrow.dataset": lambda hf, path, cols: (
        tuple(r.values()) for r in ds.dataset(path, format="parquet").to_table(columns=list(cols)).to_pylist()
    ),
    "pyarrow.dataset-hive": lambda hf, path, cols: (
        tuple(r.values()) for r in ds.dataset(path, format="parquet", partitioning="hive").to_table(columns=list(cols)).to_pylist()
    ),
    "duckdb-hive": lambda hf, path, cols: read_duckdb(path, cols, hive=True),
    "duckdb": lambda hf, path, cols: read_duckdb(path, cols, hive=False),
    "polars.read_parquet": lambda hf, path, cols: pl.read_parquet(str(path / "**" / "*.parquet"), columns=list(cols)).rows(),
    "polars.scan_parquet": lambda hf, path, cols: pl.scan_parquet(f"{path}/").select(cols).collect().rows(),
}


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("layout", ["flat", "partitioned"])
def test_every_reader_gets_every_row_of_every_output(outputs, hf, layout, kind, reader):
    output = outputs[layout]
    expected = truth(output, kind)
    counted = manifest(output)["outputs"][kind]["rows"]
    assert counted > 0 and sum(expected.values()) == counted
    got = rows_of(READERS[reader](hf, output / kind, COLUMNS[kind]))
    assert sum(got.values()) == counted
    assert got == expected  # ids with their languages (null included), nothing merged or lost


def test_partition_folders_hold_their_language_and_null_is_kept(outputs):
    output = outputs["partitioned"]
    files = manifest(output)["outputs"]["segment"]["files"]
    seen = set()
    for f in files:
        langs = set(pq.read_table(output / f["path"], columns=["lang"]).column("lang").to_pylist())
        assert langs == {None if f["partition"] == "null" else f["partition"]}, f["path"]
        assert Path(f["path"]).parent.name == f["partition"] and "=" not in f["path"]
        seen |= langs
    assert None in seen and {"hin_Deva", "urd_Arab", "zho_Hans"} <= seen
    # one language is one folder's files, in every reader
    one = pl.read_parquet(str(output / "segment" / "hin_Deva" / "*.parquet"))
    assert set(one["lang"].to_list()) == {"hin_Deva"} and one.height == sum(f["rows"] for f in files if f["partition"] == "hin_Deva")


def test_meta_entries_and_metrics_read_as_data(outputs, hf):
    """``meta`` comes back as (key, value) entries everywhere (DuckDB makes a MAP of them), and
    codeswitch records carry computed code-mixing metrics, not nulls."""
    datasets, cache = hf
    segment = outputs["flat"] / "segment"
    loaded = datasets.load_dataset("parquet", data_files=str(segment / "*.parquet"), split="train", cache_dir=str(cache / "datasets"))
    web = next(row for row in loaded if row["id"] == "web-001")
    assert entries_dict(web["meta"]) == {"url": "https://example.org/ur/1", "crawl": "2026"}
    assert entries_dict(web["script_props"]) == {"Arab": pytest.approx(1.0)}
    with duckdb.connect() as con:
        url = con.execute(f"SELECT map_from_entries(meta)['url'] FROM read_parquet('{segment}/*.parquet') WHERE id = 'web-001'").fetchall()
    assert url == [("https://example.org/ur/1",)]
    codeswitch = pq.read_table(outputs["flat"] / "codeswitch")
    for name in ("cmi", "m_index", "i_index", "switch_points", "switch_fraction"):
        assert codeswitch.column(name).null_count == 0, name
    assert codeswitch.schema.field("meta").type == pa.list_(
        pa.struct([pa.field("key", pa.string(), nullable=False), pa.field("value", pa.string())])
    )


def test_inspect_reads_the_partitioned_tree_and_shows_entries_as_objects(outputs):
    from corpusforge.inspection import describe_output

    text = describe_output(str(outputs["partitioned"]), rows=50)
    counted = manifest(outputs["partitioned"])["outputs"]["segment"]["rows"]
    assert f"== segment: {counted:,} rows" in text
    assert '"meta": {"url": "https://example.org/ur/1", "crawl": "2026"}' in text
