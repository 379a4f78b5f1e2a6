"""End to end on the DirectRunner: a Wikidata-format dump and a wikitext sample go through
lexicon building (Parquet) and entity switching (codeswitch Parquet)."""

from __future__ import annotations

import json
from pathlib import Path

import apache_beam as beam
import pyarrow.dataset as ds
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from test_codeswitch_lexicon import DUMP_ENTITIES, write_dump

from corpusforge.beam.codeswitch import BuildEntityLexicon, SwitchSegments
from corpusforge.beam.read import ReadRecords
from corpusforge.beam.stages import SumTallies
from corpusforge.beam.write import WriteShards
from corpusforge.codeswitch.lexicon import LEXICON_SCHEMA, EntityLexicon
from corpusforge.io.lexicons import WikidataDumpReader
from corpusforge.io.readers import TextReader
from corpusforge.io.shards import ShardMetadata
from corpusforge.schemas import load_schema, schema_id
from corpusforge.transforms.codeswitch import EntitySwitchStage

pytestmark = pytest.mark.slow

WIKITEXT = [
    "[[India]] shares borders with [[China|the People's Republic]] and [[Pakistan]].",
    "[[Hindi]] is spoken across [[India]]n cities such as [[Paris|nowhere]].[[Category:Languages]]",
    "No links in this line.",
    "[[Germany]] has no label in these languages.",
]


def test_dump_and_wikitext_end_to_end(tmp_path: Path):
    dump = write_dump(tmp_path / "latest-all.json.bz2", DUMP_ENTITIES, broken_line="{not json")
    wiki = tmp_path / "wiki.txt"
    wiki.write_text("\n".join(WIKITEXT) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    stage = EntitySwitchStage(mentions="wikilinks", targets=["hin_Deva", "urd_Arab"], target_mode="sentence", seed=5, markers=False)
    with beam.Pipeline(options=PipelineOptions(runner="DirectRunner")) as p:
        build = p | BuildEntityLexicon(
            WikidataDumpReader(languages=["en", "hi", "ur"], chunk_bytes=2000), [str(dump)], str(out / "lexicon"), shard_count=2
        )
        segments = p | ReadRecords(TextReader(lang="eng_Latn"), [str(wiki)], source="wiki")
        switched = segments.kept | SwitchSegments(stage, lexicon=build.lexicon)
        _ = switched.records | "WriteCS" >> WriteShards(
            str(out / "codeswitch"),
            schema=load_schema("codeswitch"),
            metadata=ShardMetadata(schema=schema_id("codeswitch"), recipe_hash="test"),
        )
        tally = (build.counts, switched.counts) | beam.Flatten() | SumTallies()
        _ = tally | beam.Map(lambda t: (out / "tally.json").write_text(json.dumps({f"{k[0]}|{k[2]}": v for k, v in t.counts.items()})))

    lexicon = EntityLexicon.read_parquet(out / "lexicon")
    assert sorted(e.id for e in lexicon) == ["Q148", "Q1568", "Q668", "Q830149", "Q843", "Q90"]
    assert lexicon.get("Q668").labels["hin_Deva"] == "भारत" and lexicon.by_title("Paris, Texas").id == "Q830149"
    assert len(list((out / "lexicon").glob("part-*-of-00002.parquet"))) == 2

    records = sorted(
        ds.dataset(out / "codeswitch", format="parquet", schema=load_schema("codeswitch")).to_table().to_pylist(),
        key=lambda r: r["source_text"],
    )
    assert len(records) == 2  # lines without resolvable links make no record
    by_text = {r["source_text"]: r for r in records}
    first = by_text["India shares borders with the People's Republic and Pakistan."]
    assert first["embedded_langs"] in (["hin_Deva"], ["urd_Arab"])
    lang = first["embedded_langs"][0]
    assert [s["entity_id"] for s in first["spans"]] == (
        ["Q668", "Q148", "Q843"] if lang == "hin_Deva" else ["Q668", "Q843"]
    )  # China has no Urdu label
    for record in records:
        rebuilt, at = [], 0
        for span in record["spans"]:
            assert record["text"][span["start"] : span["end"]] == lexicon.label(span["entity_id"], span["lang"])
            rebuilt += [record["text"][at : span["start"]], span["original"]]
            at = span["end"]
        assert "".join(rebuilt) + record["text"][at:] == record["source_text"]
    second = by_text["Hindi is spoken across Indian cities such as nowhere."]
    assert [(s["original"], s["entity_id"]) for s in second["spans"]][:2] == [("Hindi", "Q1568"), ("Indian", "Q668")]

    counts = json.loads((out / "tally.json").read_text())
    assert counts["read|rejected:invalid_json"] == 1 and counts["read|out"] == 6 and counts["read|filtered"] == 2
    assert counts["entity_switch|created"] == 2
    assert LEXICON_SCHEMA.metadata[b"corpusforge.schema"] == b"lexicon.v1"


def test_switching_without_a_lexicon_input_goes_through_the_one_adapter(tmp_path: Path):
    """Without a side input, SwitchSegments is ApplyStage: the same records as the stage makes
    alone, counted as created, and a row the switcher raises on becomes one stage_error row."""
    import pyarrow as pa
    from apache_beam.testing.util import assert_that, equal_to

    from corpusforge.beam.stages import STAGE_ERROR

    class Exploding(EntitySwitchStage):
        def switch_row(self, text, *, record_id, variant, extra):
            if "Germany" in text:
                raise RuntimeError("switcher bug")
            return super().switch_row(text, record_id=record_id, variant=variant, extra=extra)

    stage = Exploding(targets=["hin_Deva"], target_mode="fixed", seed=1)
    texts = ["They flew to India.", "Germany and India.", "Nothing here."]
    batch = pa.RecordBatch.from_pylist([{"id": f"r{i}", "source": "s", "text": t, "lang": "eng_Latn"} for i, t in enumerate(texts)])
    alone = stage.process(batch.slice(0, 1)).kept.to_pylist()
    with beam.Pipeline(options=PipelineOptions(runner="DirectRunner")) as p:
        switched = p | beam.Create([batch]) | SwitchSegments(stage)
        assert_that(switched.records | "Rows" >> beam.FlatMap(lambda b: b.to_pylist()), equal_to(alone), label="Records")
        reasons = switched.rejected | beam.FlatMap(lambda b: b.column("reason").to_pylist())
        assert_that(reasons, equal_to([STAGE_ERROR]), label="Rejected")
        created = switched.counts | SumTallies() | beam.Map(lambda t: t.total("created"))
        assert_that(created, equal_to([2]), label="Created")
