"""The translate-test pipeline on the DirectRunner with a tiny copy model (each sentence
translates into itself, so outputs are checkable): one row per (row, target), ids and labels
kept, only the chosen fields translated, bad rows rejected with reasons, counts that balance,
the same bytes twice."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

pytest.importorskip("ctranslate2")
pytest.importorskip("sentencepiece")

import apache_beam as beam  # noqa: E402

from corpusforge.config import ConfigError  # noqa: E402
from corpusforge.mt.testing import build_model  # noqa: E402
from corpusforge.pipelines import translate_test  # noqa: E402
from corpusforge.schemas import load_schema  # noqa: E402

pytestmark = pytest.mark.slow

RUNES = "ᚠᚢᚦ ᚨᚱᚲ"  # not in the model's vocabulary: the copy model turns it into "⁇" marks
LONG = (
    "the cat and the dog and the fox and the cat and the dog and the fox ran far away"  # one sentence of ~70 tokens, over max_input_length
)
ROWS = [
    {
        "id": "n1",
        "premise": "The cat sat on the mat. It was happy!",
        "hypothesis": "A cat sat.",
        "label": 0,
        "genre": RUNES,
        "lang": "eng_Latn",
    },
    {
        "id": "n2",
        "premise": "Où est la gare ? Elle est là.",
        "hypothesis": "La gare est là.",
        "label": 2,
        "genre": "fiction",
        "lang": "fra_Latn",
    },
    {"id": "n3", "premise": LONG, "hypothesis": RUNES, "label": 1, "genre": "fiction", "lang": None},
    {"premise": "A cat sat.", "hypothesis": "The cat sat on the mat.", "label": 1, "genre": "news"},  # no id, no lang
]
BAD = [  # (line, reason)
    ("{broken", "invalid_json"),
    (json.dumps({"id": "b1", "premise": "A cat sat."}), "missing_field"),
    (json.dumps({"id": "b2", "premise": "A cat sat.", "hypothesis": 7}), "bad_field_type"),
    (json.dumps({"id": "b3", "premise": "  ", "hypothesis": "A cat sat."}), "empty_text"),
    (json.dumps({"id": "b4", "premise": "A cat sat.", "hypothesis": "A cat sat.", "label": "two"}), "schema_mismatch"),
]
TARGETS = ["fra_Latn", "hin_Deva"]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    texts = [r[f] for r in ROWS for f in ("premise", "hypothesis") if r[f] != RUNES]
    return build_model(tmp_path_factory.mktemp("mt") / "nllb", texts * 3, languages=("eng_Latn", "fra_Latn", "hin_Deva"))


def config(model: Path, inputs: list[str], output: Path, **extra) -> dict:
    translate = {"model": str(model), "targets": TARGETS, "src_lang": "eng_Latn", "beam_size": 1, "max_input_length": 32}
    return {"name": "xnli", "inputs": inputs, "fields": ["premise", "hypothesis"], "translate": translate, "output": str(output), **extra}


def run(cfg: dict) -> Path:
    with beam.Pipeline(runner="DirectRunner") as p:
        translate_test.build(p, cfg)
    return Path(cfg["output"])


def translated(out: Path) -> list[dict]:
    table = ds.dataset(out / "translated", format="parquet", partitioning="hive").to_table()
    return sorted(table.to_pylist(), key=lambda r: (r["id"], r["mt_tgt_lang"]))


def rejected(out: Path) -> list[dict]:
    return ds.dataset(out / "rejected", format="parquet", schema=load_schema("rejected")).to_table().to_pylist()


def test_jsonl_eval_set_gives_a_row_per_row_and_target(model, tmp_path):
    data = tmp_path / "xnli.jsonl"
    data.write_text("\n".join([json.dumps(r, ensure_ascii=False) for r in ROWS] + [line for line, _ in BAD]) + "\n", encoding="utf-8")
    # b4's label "two" is among the rows the JSONL schema is inferred from: declare the column's type
    out = run(config(model, [str(data)], tmp_path / "out", lang_field="lang", columns={"label": "int64"}))
    rows = translated(out)

    derived = next(r["id"] for r in rows if r["id"] not in ("n1", "n2", "n3"))
    pairs = {(r["id"], r["mt_tgt_lang"]) for r in rows}
    # n2 is French: translating it into French is refused; every other row is there in both targets
    assert pairs == {(i, t) for i in ("n1", "n3", derived) for t in TARGETS} | {("n2", "hin_Deva")}
    assert len(rows) == len(pairs)
    originals = {r.get("id", derived): r for r in ROWS}
    for row in rows:
        source = originals[row["id"]]
        assert (row["label"], row["genre"], row["lang"]) == (source["label"], source["genre"], source.get("lang"))
        assert row["mt_src_lang"] == (source.get("lang") or "eng_Latn") and row["source"] == "xnli"
        assert set(row["mt_score"]) == set(row["mt_truncated"]) == {"premise", "hypothesis"}
        assert row["mt_model"].startswith("nllb@")
        for field in ("premise", "hypothesis"):
            if row["mt_truncated"][field]:
                assert source[field] == LONG and LONG.startswith(row[field]) and len(row[field]) < len(LONG) / 2
            elif source[field] == RUNES:
                assert row[field] != RUNES and "⁇" in row[field]  # the model changes what it cannot read...
            else:
                assert row[field] == source[field]  # ...and copies what it can
    assert all(r["genre"] == RUNES for r in rows if r["id"] == "n1")  # ...so an untranslated field stays as it was
    assert sum(r["mt_truncated"]["premise"] for r in rows) == 2 and not any(r["mt_truncated"]["hypothesis"] for r in rows)

    refused = rejected(out)
    assert {r["kind"] for r in refused} == {"eval"}
    assert sorted((r["reason"], r["offset"]) for r in refused) == sorted(
        [(reason, len(ROWS) + n + 1) for n, (_, reason) in enumerate(BAD)] + [("same_language", 2)]
    )
    same = next(r for r in refused if r["reason"] == "same_language")
    assert same["id"] == "n2" and "fra_Latn" in same["detail"]

    manifest = json.loads((out / "_manifest.json").read_text(encoding="utf-8"))
    totals = manifest["totals"]
    assert manifest["balanced"] and totals["read"] == len(ROWS) + len(BAD)
    assert (totals["written"], totals["rejected"], totals["created"]) == (len(rows), len(BAD) + 1, len(ROWS))


def test_parquet_eval_set_round_trips_and_writes_the_same_bytes_twice(model, tmp_path):
    rows = [{"id": n, "premise": r["premise"], "hypothesis": r["hypothesis"], "label": r["label"]} for n, r in enumerate(ROWS[:2])]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "a.parquet")
    pq.write_table(pa.Table.from_pylist([{**rows[0], "id": 9, "note": "extra column"}]), tmp_path / "b.parquet")
    cfg = config(model, [str(tmp_path / "*.parquet")], tmp_path / "out", format="parquet", columns={"id": "string"}, round_trip=True)
    cfg["translate"]["targets"] = ["hin_Deva"]
    out = run(cfg)
    got = translated(out)
    assert [(r["id"], r["label"]) for r in got] == [("0", 0), ("1", 2)]  # numeric ids read as strings, as declared
    for row, source in zip(got, rows):
        assert row["mt_round_trip_text"] == {"premise": source["premise"], "hypothesis": source["hypothesis"]}
        assert row["mt_round_trip_chrf"] == {"premise": 100.0, "hypothesis": 100.0}
    (extra,) = rejected(out)  # the schema is the first file's: a later file's extra column is refused, not dropped
    assert (extra["reason"], extra["file"], extra["offset"]) == ("schema_mismatch", "b.parquet", 1) and "note" in extra["detail"]

    again = run({**cfg, "output": str(tmp_path / "again")})
    files = sorted(p.relative_to(out) for p in (out / "translated").rglob("*.parquet"))
    assert files == [Path("translated/hin_Deva/part-00000-of-00001.parquet")]
    assert all((out / f).read_bytes() == (again / f).read_bytes() for f in files)


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_a_damaged_first_file_is_rejected_and_the_columns_come_from_the_next(model, tmp_path, fmt):
    good = tmp_path / f"b.{fmt}"
    if fmt == "jsonl":
        damaged = tmp_path / "a.jsonl.gz"
        damaged.write_bytes(gzip.compress((json.dumps(ROWS[1]) + "\n").encode())[:12])  # the gzip header, little more
        good.write_text(json.dumps(ROWS[0]) + "\n", encoding="utf-8")
    else:
        damaged = tmp_path / "a.parquet"
        pq.write_table(pa.Table.from_pylist([ROWS[0]]), good)
        damaged.write_bytes(good.read_bytes()[:40])
    cfg = config(model, [str(damaged), str(good)], tmp_path / "out", format=fmt)
    cfg["translate"]["targets"] = ["fra_Latn"]
    out = run(cfg)
    (cut,) = rejected(out)
    assert (cut["reason"], cut["file"]) == ("corrupt_file", str(damaged))
    (row,) = translated(out)
    assert (row["id"], row["label"], row["premise"]) == ("n1", 0, ROWS[0]["premise"])
    assert json.loads((out / "_manifest.json").read_text(encoding="utf-8"))["balanced"]


def test_columns_come_from_the_first_file_with_a_json_object(model, tmp_path):
    (tmp_path / "part-0.jsonl").write_text("", encoding="utf-8")  # an empty shard
    (tmp_path / "part-1.jsonl").write_text("not json\n" + json.dumps(ROWS[0]) + "\n", encoding="utf-8")
    cfg = config(model, [str(tmp_path / "part-*.jsonl")], tmp_path / "out")
    cfg["translate"]["targets"] = ["fra_Latn"]
    out = run(cfg)
    (row,) = translated(out)
    assert (row["id"], row["label"]) == ("n1", 0)
    assert [r["reason"] for r in rejected(out)] == ["invalid_json"]
    (tmp_path / "part-1.jsonl").write_text("[1, 2]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no file gives the columns"):
        translate_test.build(beam.Pipeline(), cfg)


def test_main_reads_a_yaml_config_with_paths_relative_to_it(model, tmp_path, capsys):
    (tmp_path / "eval.jsonl").write_text(json.dumps(ROWS[0]) + "\n", encoding="utf-8")
    config_file = tmp_path / "translate_test.yaml"
    config_file.write_text(
        f"inputs: [eval.jsonl]\nfields: [hypothesis]\ntranslate: {{model: {model}, targets: [hin_Deva], src_lang: en}}\noutput: out\n",
        encoding="utf-8",
    )
    assert translate_test.main([str(config_file), "--set", "translate.beam_size=1"]) == 0
    summary = capsys.readouterr().out  # the counts per source, as `corpusforge run` prints them
    assert re.search(r"^total +1 +0 +1 +0 +0 +yes$", summary, re.M), summary
    (row,) = translated(tmp_path / "out")
    assert (row["id"], row["hypothesis"], row["premise"], row["mt_src_lang"]) == ("n1", "A cat sat.", ROWS[0]["premise"], "eng_Latn")
    assert set(row["mt_score"]) == {"hypothesis"}


def test_config_errors_name_what_to_change(model, tmp_path):
    data = tmp_path / "xnli.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in ROWS) + "\n", encoding="utf-8")
    numbered = tmp_path / "numbered.parquet"
    pq.write_table(pa.Table.from_pylist([{"id": 1, "premise": "A.", "hypothesis": "B."}]), numbered)
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(json.dumps(ROWS[0]) + "\n" + json.dumps({**ROWS[1], "label": "two"}) + "\n", encoding="utf-8")
    sourced = tmp_path / "sourced.jsonl"
    sourced.write_text(json.dumps({**ROWS[0], "source": "web"}) + "\n", encoding="utf-8")
    good = config(model, [str(data)], tmp_path / "out")

    def fails(cfg: dict, match: str) -> None:
        with pytest.raises(ConfigError, match=match):
            translate_test.build(beam.Pipeline(), cfg)

    fails({**good, "translate": {**good["translate"], "src_lang": None}}, "src_lang")  # NLLB needs a source language
    fails({**good, "translate": {**good["translate"], "targets": ["deu_Latn"]}}, "deu")  # the model lacks German
    fails({**good, "translate": {**good["translate"], "round_trip": True}}, "top level")
    fails({**good, "fields": ["premise", "title"]}, "'title' is not a column")
    fails({**good, "columns": {"hypothesis": "int64"}}, "not text")
    fails({**good, "fields": ["premise", "premise"]}, "repeat")
    fails({**good, "inputs": [str(tmp_path / "missing*.jsonl")]}, "matches no file")
    fails({**good, "inputs": [str(numbered)], "format": "parquet"}, "id: string")
    fails({**good, "inputs": [str(mixed)]}, "'label' mixes types")
    fails({**good, "inputs": [str(sourced)]}, "'source'")


def test_blank_lines_and_a_truncated_file_are_rejected_and_counted(model, tmp_path):
    data = tmp_path / "a.jsonl"
    lines = [json.dumps(ROWS[0]), " ", json.dumps(ROWS[1])]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # ~400 kB, so that the cut falls well after the first rows
    more = "".join(json.dumps({**ROWS[0], "id": f"g{i}", "genre": f"filler {i} " * 200}) + "\n" for i in range(200)).encode()
    packed = gzip.compress(more)
    (tmp_path / "b.jsonl.gz").write_bytes(packed[: len(packed) // 2])
    cfg = config(model, [str(data), str(tmp_path / "b.jsonl.gz")], tmp_path / "out", lang_field="lang")
    cfg["translate"]["targets"] = ["hin_Deva"]
    out = run(cfg)

    refused = rejected(out)
    blank = next(r for r in refused if r["reason"] == "empty_text")
    cut = next(r for r in refused if r["reason"] == "corrupt_file")
    assert (blank["offset"], blank["detail"], blank["stage"]) == (2, "blank line", "read")
    assert cut["file"].endswith("b.jsonl.gz") and cut["offset"] > 1 and len(refused) == 2
    rows = translated(out)
    assert {r["id"] for r in rows} == {"n1", "n2"} | {f"g{i}" for i in range(cut["offset"] - 1)}  # the rows before the cut
    totals = json.loads((out / "_manifest.json").read_text(encoding="utf-8"))["totals"]
    assert totals["balanced"] and totals["read"] == len(lines) + cut["offset"]
    assert (totals["written"], totals["rejected"]) == (len(rows), len(refused))
