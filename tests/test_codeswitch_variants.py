"""The benchmark-variants pipeline on the DirectRunner: N switched copies per eval row, ids and
labels kept, provenance recorded, bad rows rejected, a manifest that balances."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from babel import Locale

from corpusforge.config import ConfigError
from corpusforge.inspection import describe_output
from corpusforge.pipelines import codeswitch_variants
from corpusforge.schemas import entries_dict, load_schema

pytestmark = pytest.mark.slow

ROWS = [
    {"id": "n1", "premise": "India and China signed a treaty.", "hypothesis": "Pakistan signed nothing.", "label": 2},
    {"id": "n2", "premise": "Japan exports cars.", "hypothesis": "Cars come from Japan.", "label": 0},
    {"id": "n3", "premise": "No entity here.", "hypothesis": "None at all.", "label": 1},
]


def _run(tmp_path: Path, cfg: dict) -> Path:
    with beam.Pipeline(options=PipelineOptions(runner="DirectRunner")) as p:
        codeswitch_variants.build(p, cfg)
    return Path(cfg["output"])


def _variants(out: Path) -> list[dict]:
    rows = [
        json.loads(line)
        for path in sorted((out / "variants").glob("part-*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    return sorted(rows, key=lambda r: (r["cs_row_id"], r["cs_variant"]))


def _config(tmp_path: Path, inputs: list[str], fmt: str) -> dict:
    return {
        "name": "xnli",
        "inputs": inputs,
        "format": fmt,
        "fields": ["premise", "hypothesis"],
        "variants": 3,
        "options": {"targets": ["hin_Deva", "tam_Taml", "zho_Hans"], "target_mode": "sentence", "seed": 11},
        "output": str(tmp_path / "out"),
    }


def test_jsonl_eval_set_gets_n_variants_per_row(tmp_path):
    data = tmp_path / "xnli.jsonl"
    lines = [json.dumps(r, ensure_ascii=False) for r in ROWS] + ["{broken", json.dumps({"id": "n9", "premise": "India", "label": 1})]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = _run(tmp_path, _config(tmp_path, [str(data)], "jsonl"))
    rows = _variants(out)
    assert [(r["cs_row_id"], r["cs_variant"]) for r in rows] == [(i, v) for i in ("n1", "n2", "n3") for v in range(3)]
    originals = {r["id"]: r for r in ROWS}
    for row in rows:
        source = originals[row["id"]]
        assert row["label"] == source["label"]  # labels and ids kept as they were (an int stays an int)
        assert row["cs_provenance"]["method"] == "entity" and row["cs_provenance"]["stage"]["seed"] == 11
        for field in ("premise", "hypothesis"):
            rebuilt, at = [], 0
            for span in row["cs_spans"][field]:
                rebuilt += [row[field][at : span["start"]], span["original"]]
                at = span["end"]
            assert "".join(rebuilt) + row[field][at:] == source[field]
    locales = {"hin_Deva": "hi", "tam_Taml": "ta", "zho_Hans": "zh"}
    for row in (r for r in rows if r["id"] == "n1"):
        (lang,) = {span["lang"] for span in row["cs_spans"]["premise"]}  # one target per sentence
        names = Locale.parse(locales[lang]).territories
        assert row["premise"] == f"{names['IN']} and {names['CN']} signed a treaty."
    assert all(r["premise"] == ROWS[2]["premise"] and r["cs_spans"]["premise"] == [] for r in rows if r["id"] == "n3")

    records = ds.dataset(out / "codeswitch", format="parquet", schema=load_schema("codeswitch")).to_table().to_pylist()
    assert {(r["source_id"], entries_dict(r["meta"])["cs.variant"]) for r in records} == {
        (f"{i}:{f}", str(v)) for i in ("n1", "n2") for f in ("premise", "hypothesis") for v in range(3)
    }
    assert all(entries_dict(r["meta"])["row.label"] in ("0", "2") for r in records)
    rejected = ds.dataset(out / "rejected", format="parquet", schema=load_schema("rejected")).to_table().to_pylist()
    assert sorted((r["reason"], r["offset"]) for r in rejected) == [("invalid_json", 4), ("missing_field", 5)]


def test_parquet_eval_set_and_the_same_output_twice(tmp_path):
    data = tmp_path / "xnli.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS), data)
    cfg = _config(tmp_path, [str(data)], "parquet")
    first = _variants(_run(tmp_path, cfg))
    cfg["output"] = str(tmp_path / "again")
    assert _variants(_run(tmp_path, cfg)) == first
    assert len(first) == 9


def test_config_errors_name_the_option(tmp_path):
    cfg = _config(tmp_path, [str(tmp_path / "x.jsonl")], "jsonl")
    cfg["options"]["target_mode"] = "everywhere"
    with pytest.raises(ConfigError, match="target_mode"):
        codeswitch_variants.build(beam.Pipeline(), cfg)
    with pytest.raises(ConfigError, match="fields"):
        codeswitch_variants.build(beam.Pipeline(), {**cfg, "fields": []})


def test_main_reads_a_yaml_config_with_paths_relative_to_it(tmp_path):
    (tmp_path / "eval.jsonl").write_text(json.dumps(ROWS[0]) + "\n", encoding="utf-8")
    config = tmp_path / "variants.yaml"
    config.write_text(
        "inputs: [eval.jsonl]\nfields: [premise]\nvariants: 2\noptions: {targets: [hin_Deva]}\noutput: out\n", encoding="utf-8"
    )
    assert codeswitch_variants.main([str(config), "--set", "variants=1", "--set", "options.target_mode=fixed"]) == 0
    (row,) = _variants(tmp_path / "out")
    hi = Locale.parse("hi").territories
    assert row["premise"] == f"{hi['IN']} and {hi['CN']} signed a treaty." and row["hypothesis"] == ROWS[0]["hypothesis"]
    shown = describe_output(str(tmp_path / "out"))  # `corpusforge inspect` shows the JSON lines too
    assert "== variants: 1 rows in 1 file(s) (codeswitch_variants.v1)" in shown and hi["IN"] in shown
    config.write_text(
        "inputs: [eval.jsonl]\nfields: [premise]\noptions: {targets: [hin_Deva], variants: 2}\noutput: out\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="top level"):
        codeswitch_variants.main([str(config)])


def test_manifest_balances_and_matches_the_files_written(tmp_path):
    data = tmp_path / "xnli.jsonl"
    lines = [
        json.dumps(ROWS[0]),
        "   ",
        "{broken",
        json.dumps(ROWS[1]),
        json.dumps({"id": "n9", "premise": "India", "label": 1}),
        json.dumps(ROWS[2]),
    ]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # ~600 kB, so that the cut falls well after the first rows
    more = "".join(json.dumps({**ROWS[i % 3], "id": f"g{i}", "note": f"filler {i} " * 200}) + "\n" for i in range(300)).encode()
    packed = gzip.compress(more)
    (tmp_path / "more.jsonl.gz").write_bytes(packed[: len(packed) // 2])  # a download cut short
    cfg = _config(tmp_path, [str(data), str(tmp_path / "more.jsonl.gz")], "jsonl")
    stale = Path(cfg["output"]) / "variants" / "part-00007-of-00009.jsonl"  # an earlier run's, other shard count
    stale.parent.mkdir(parents=True)
    stale.write_text('{"cs_row_id": "old"}\n', encoding="utf-8")
    out = _run(tmp_path, cfg)

    manifest = json.loads((out / "_manifest.json").read_text(encoding="utf-8"))
    variant_files = sorted((out / "variants").glob("part-*.jsonl"))
    variant_lines = [line for path in variant_files for line in path.read_text(encoding="utf-8").splitlines()]
    usable = {json.loads(line)["cs_row_id"] for line in variant_lines}
    records = ds.dataset(out / "codeswitch", format="parquet").count_rows()
    rejected = ds.dataset(out / "rejected", format="parquet", schema=load_schema("rejected")).to_table().to_pylist()
    cut = next(r for r in rejected if r["reason"] == "corrupt_file")
    assert cut["file"].endswith("more.jsonl.gz") and cut["offset"] > 1  # the rows before the cut were read
    assert sorted((r["reason"], r["offset"]) for r in rejected if r is not cut) == [
        ("empty_text", 2),
        ("invalid_json", 3),
        ("missing_field", 5),
    ]
    assert len(variant_lines) == 3 * len(usable) and usable >= {"n1", "n2", "n3", "g0"}

    totals = manifest["totals"]
    assert manifest["balanced"] and totals["unaccounted"] == 0
    assert totals["read"] == len(lines) + cut["offset"]  # every line of the first file; the second's up to its cut row
    assert totals["read"] == len(usable) + len(rejected)
    assert totals["written"] == len(variant_lines) + records
    assert totals["rejected"] == totals["rejected_stored"] == len(rejected)
    assert totals["created"] == (3 - 1) * len(usable) + records
    outputs = manifest["outputs"]
    assert (outputs["variants"]["rows"], outputs["codeswitch"]["rows"], outputs["rejected"]["rows"]) == (
        len(variant_lines),
        records,
        len(rejected),
    )
    assert [f["path"] for f in outputs["variants"]["files"]] == [str(p.relative_to(out)) for p in variant_files]
    assert outputs["variants"]["bytes"] == sum(p.stat().st_size for p in variant_files)
    assert not stale.exists() and sorted(p.name for p in (out / "variants").iterdir()) == [
        p.name for p in variant_files
    ]  # no temp dir left
