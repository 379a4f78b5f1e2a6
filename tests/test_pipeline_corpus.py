"""The corpus job end to end on the embedded demo: every input line is written, rejected with
its reason, or counted as a duplicate; output is deterministic and portable across runners."""

import json
from collections import Counter
from importlib import resources
from pathlib import Path

import apache_beam as beam
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from corpusforge.cli import packaged
from corpusforge.codeswitch.lexicon import cldr_lexicon_id
from corpusforge.config import load_recipe
from corpusforge.pipelines.corpus import build, output_schema, prepare_output
from corpusforge.schemas import schema_id

pytestmark = pytest.mark.slow

DEMO = packaged("recipes/demo.yaml")


def run_demo(output: Path, *options: str, overrides=()) -> dict:
    recipe = load_recipe(DEMO, [f"output.path={output}", *overrides])
    prepare_output(recipe)
    with beam.Pipeline(options=PipelineOptions(list(options) or ["--runner=DirectRunner"])) as p:
        build(p, recipe)
    return json.loads((output / "_manifest.json").read_text(encoding="utf-8"))


def rows(path: Path) -> list[dict]:
    files = sorted(str(f) for f in path.rglob("*.parquet"))
    return sorted(ds.dataset(files, format="parquet").to_table().to_pylist(), key=lambda r: r["id"]) if files else []


def shard_bytes(output: Path) -> dict[str, bytes]:
    return {str(f.relative_to(output)): f.read_bytes() for f in sorted(output.rglob("*.parquet"))}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    output = tmp_path_factory.mktemp("demo") / "out"
    return output, run_demo(output)


def input_lines(name: str) -> int:
    return len((resources.files("corpusforge") / "data" / "demo" / name).read_bytes().splitlines())


def test_manifest_balances_per_source_and_overall(demo):
    output, manifest = demo
    assert manifest["balanced"] is True
    for source, counts in manifest["sources"].items():
        assert counts["read"] + counts.get("created", 0) == counts["written"] + counts["rejected"] + counts["duplicates"], source
    assert manifest["sources"]["news_hi"]["read"] == input_lines("news_hi.txt")
    assert manifest["sources"]["corrupted_txt"]["read"] == input_lines("corrupted.txt")
    assert manifest["sources"]["corrupted_jsonl"]["read"] == input_lines("corrupted.jsonl")
    assert manifest["sources"]["parallel_en_hi"]["read"] == input_lines("parallel.hi")  # the longer side


def test_written_and_rejected_rows_match_the_manifest(demo):
    output, manifest = demo
    segments, bitext, rejected = rows(output / "segment"), rows(output / "bitext"), rows(output / "rejected")
    switched = rows(output / "codeswitch")
    written = Counter(r["source"] for r in segments + bitext + switched)
    for source, counts in manifest["sources"].items():
        assert written[source] == counts["written"], source
    assert Counter(r["source"] for r in rejected) == Counter({s: c["rejected"] for s, c in manifest["sources"].items() if c["rejected"]})
    assert len({r["id"] for r in segments}) == len(segments)
    assert len(switched) == sum(c["created"] for c in manifest["sources"].values()) > 0
    assert all(r["source_text"] != r["text"] and r["spans"] for r in switched)


def test_every_corrupted_line_is_kept_or_rejected_with_its_reason(demo):
    output, _ = demo
    rejected = [r for r in rows(output / "rejected") if r["source"] == "corrupted_txt"]
    by_line = {r["offset"]: r["reason"] for r in rejected}
    assert by_line == {3: "invalid_utf8", 4: "nul_byte", 5: "empty_text", 6: "empty_text", 8: "line_too_long", 11: "invalid_utf8"}
    assert all(r["file"].endswith("corrupted.txt") and r["stage"] == "read" for r in rejected)
    assert all(len(r["preview"]) <= 241 for r in rejected)
    kept = {r["text"] for r in rows(output / "segment") if r["source"] == "corrupted_txt"}
    assert "This first line starts with a byte-order mark." in kept  # BOM removed
    assert "Windows line ending here." in kept  # CRLF removed
    assert "Control characters here are cleaned." in kept  # controls removed by normalize
    assert "Zero widthspaces and non-breaking spaces." in kept  # NBSP -> space, ZWSP removed
    assert "Last line without a newline." in kept
    reasons = Counter(r["reason"] for r in rows(output / "rejected") if r["source"] == "corrupted_jsonl")
    assert reasons == Counter({"invalid_json": 2, "missing_field": 2, "bad_field_type": 1, "bad_language_code": 1, "empty_text": 1})


def test_pairs_languages_duplicates_and_repairs(demo):
    output, manifest = demo
    bitext = rows(output / "bitext")
    moses = [r for r in bitext if r["source"] == "parallel_en_hi"]
    assert len(moses) == 12 and {(r["src_lang"], r["tgt_lang"]) for r in moses} == {("eng_Latn", "hin_Deva")}
    tmx = {r["id"]: r for r in bitext if r["source"] == "glossary_en_ur"}
    assert sorted(tmx) == ["gl-1", "gl-2", "gl-3", "gl-4", "gl-6"]
    assert tmx["gl-3"]["src_text"] == "Where is the <b>railway station</b>?"
    rejected = Counter((r["source"], r["reason"]) for r in rows(output / "rejected"))
    assert rejected[("parallel_en_hi", "unpaired_line")] == 1 and rejected[("glossary_en_ur", "tmx_bad_unit")] == 1
    segments = rows(output / "segment")
    texts = Counter(r["text"] for r in segments)
    assert texts["आज मौसम बहुत अच्छा है।"] == 1  # three copies in two sources, one kept
    assert manifest["sources"]["news_hi"]["duplicates"] + manifest["sources"]["web_mixed"]["duplicates"] == 3
    assert "Le café est prêt." in texts  # mojibake repaired
    assert {r["lang"] for r in segments} >= {"hin_Deva", "urd_Arab", "ben_Beng", "tam_Taml", "zho_Hans", "rus_Cyrl"}
    web = {r["id"]: r for r in segments if r["source"] == "web_mixed"}
    assert web["web-001"]["meta"] == [{"key": "url", "value": "https://example.org/ur/1"}, {"key": "crawl", "value": "2026"}]


def test_files_carry_the_declared_schema_and_provenance(demo):
    output, manifest = demo
    recipe = load_recipe(DEMO, [f"output.path={output}"])
    for kind in ("segment", "bitext"):
        for path in (output / kind).rglob("*.parquet"):
            schema = pq.read_schema(path)
            assert schema.remove_metadata().equals(output_schema(recipe, kind).remove_metadata(), check_metadata=False)
            meta = {k.decode(): v.decode() for k, v in schema.metadata.items() if k.startswith(b"corpusforge.")}
            assert meta["corpusforge.schema"] == schema_id(kind) == f"{kind}.v2"
            assert meta["corpusforge.recipe_hash"] == manifest["recipe_hash"] == recipe.recipe_hash
            assert json.loads(meta["corpusforge.stages"])[0]["name"] == "normalize"
            assert json.loads(meta["corpusforge.models"]) == {
                "lid": {"model": "lid.176.ftz"},
                "entity_switch": {"lexicon": cldr_lexicon_id()},
            }
    assert not list(output.rglob("*.tmp*")) and not [p for p in output.rglob(".tmp*")]


def test_two_runs_give_identical_shards(demo, tmp_path):
    output, _ = demo
    again = tmp_path / "again"
    run_demo(again)
    assert shard_bytes(again) == shard_bytes(output)


def test_multiprocessing_and_portable_runners_agree(demo, tmp_path):
    output, _ = demo
    multi, portable = tmp_path / "multi", tmp_path / "portable"
    # rebalance: records reshuffled after reading, over two worker processes; nothing changes,
    # the recipe hash in every shard included
    multi_manifest = run_demo(
        multi, "--runner=DirectRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=2", overrides=["rebalance=true"]
    )
    run_demo(portable, "--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=LOOPBACK")
    assert shard_bytes(multi) == shard_bytes(output) == shard_bytes(portable)
    assert multi_manifest["balanced"] and multi_manifest["config"]["rebalance"] is True


def test_partitions_by_language(tmp_path):
    output = tmp_path / "parts"
    manifest = run_demo(output, overrides=["output.partition_by=lang", "output.shard_count=1"])
    assert manifest["balanced"]
    langs = {p.name for p in (output / "segment").iterdir() if p.is_dir()}
    assert {"hin_Deva", "urd_Arab", "zho_Hans"} <= langs
    table = pq.read_table(output / "segment")  # the whole tree, lang from the files
    assert table.num_rows == manifest["outputs"]["segment"]["rows"]
    assert {f["partition"] for f in manifest["outputs"]["segment"]["files"]} == langs
