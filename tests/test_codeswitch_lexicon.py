"""Entity lexicons: CLDR from Babel, Wikidata dumps in the real format, user files, Parquet."""

from __future__ import annotations

import bz2
import gzip
import json
from pathlib import Path

import pyarrow as pa
import pytest
from babel import Locale
from babel.core import get_global

from corpusforge.codeswitch.lexicon import (
    LEXICON_SCHEMA,
    Entity,
    EntityLexicon,
    cldr_lexicon,
    normalize_title,
)
from corpusforge.io.lexicons import WikidataDumpReader, read_user_lexicon
from corpusforge.schemas import conform, load_schema


def _labels(**by_code: str) -> dict:
    return {code.replace("_", "-"): {"language": code.replace("_", "-"), "value": value} for code, value in by_code.items()}


def wikidata_entity(
    qid: str, labels: dict, *, aliases: dict | None = None, enwiki: str | None = None, sitelinks: int = 1, kind: str = "item"
) -> dict:
    """An entity as the Wikidata JSON dump writes it (claims and descriptions included)."""
    links = {f"x{i}wiki": {"site": f"x{i}wiki", "title": qid, "badges": []} for i in range(sitelinks)}
    if enwiki:
        links["enwiki"] = {"site": "enwiki", "title": enwiki, "badges": []}
    return {
        "type": kind,
        "id": qid,
        "labels": _labels(**labels),
        "descriptions": {"en": {"language": "en", "value": "test entity"}},
        "aliases": {code: [{"language": code, "value": v} for v in values] for code, values in (aliases or {}).items()},
        "claims": {
            "P31": [
                {
                    "mainsnak": {
                        "snaktype": "value",
                        "property": "P31",
                        "datavalue": {"value": {"entity-type": "item", "id": "Q6256"}, "type": "wikibase-entityid"},
                    },
                    "type": "statement",
                    "rank": "normal",
                }
            ]
        },
        "sitelinks": links,
        "lastrevid": 123,
    }


DUMP_ENTITIES = [
    wikidata_entity(
        "Q668",
        {"en": "India", "en_gb": "India (GB)", "hi": "भारत", "ur": "بھارت", "mul": "India"},
        aliases={"en": ["Republic of India", "Bharat"], "hi": ["भारतवर्ष"]},
        enwiki="India",
        sitelinks=300,
    ),
    wikidata_entity(
        "Q148",
        {"en": "People's Republic of China", "hi": "चीन", "zh": "中华人民共和国"},
        aliases={"en": ["China", "PRC"]},
        enwiki="China",
        sitelinks=280,
    ),
    wikidata_entity("Q843", {"en": "Pakistan", "hi": "पाकिस्तान", "ur": "پاکستان"}, enwiki="Pakistan", sitelinks=250),
    wikidata_entity("Q1568", {"en": "Hindi", "hi": "हिन्दी", "ur": "ہندی"}, enwiki="Hindi", sitelinks=200),
    wikidata_entity("Q90", {"en": "Paris", "hi": "पैरिस"}, enwiki="Paris", sitelinks=290),
    wikidata_entity("Q830149", {"en": "Paris", "de": "Paris (Texas)"}, enwiki="Paris, Texas", sitelinks=20),
    wikidata_entity("Q183", {"de": "Deutschland"}, enwiki="Germany", sitelinks=290),
    wikidata_entity("P31", {"en": "instance of", "hi": "का उदाहरण"}, kind="property"),
]


def write_dump(path: Path, entities: list[dict], *, broken_line: str | None = None) -> Path:
    """The real layout: ``[``, one entity per line ending in ``,`` (the last without), ``]``."""
    lines = [json.dumps(e, ensure_ascii=False) for e in entities]
    if broken_line is not None:
        lines.insert(2, broken_line)
    body = "[\n" + ",\n".join(lines) + "\n]\n"
    data = body.encode("utf-8")
    if path.suffix == ".bz2":
        data = bz2.compress(data)
    elif path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", ["latest-all.json.bz2", "latest-all.json.gz", "latest-all.json"])
def test_wikidata_dump_is_streamed_into_entities_with_labels_aliases_and_enwiki(tmp_path, name):
    dump = write_dump(tmp_path / name, DUMP_ENTITIES)
    reader = WikidataDumpReader(languages=["en", "hi", "ur"], chunk_bytes=1000)
    parts = list(reader.read(str(dump)))
    assert len(parts) > 1  # chunked, not read whole
    table = pa.Table.from_batches([split.kept for split, _ in parts], schema=LEXICON_SCHEMA)
    lexicon = EntityLexicon.from_table(table)
    assert sorted(e.id for e in lexicon) == ["Q148", "Q1568", "Q668", "Q830149", "Q843", "Q90"]
    india = lexicon.get("Q668")
    # en wins over en-gb for eng_Latn; mul names no language and is left out
    assert india.labels == {"eng_Latn": "India", "hin_Deva": "भारत", "urd_Arab": "بھارت"}
    assert india.aliases == {"eng_Latn": ("Republic of India", "Bharat"), "hin_Deva": ("भारतवर्ष",)}
    assert india.enwiki == "India" and india.popularity == 301
    assert lexicon.by_title("india") is india and lexicon.by_title("People's_Republic_of_China") is None
    assert lexicon.by_title("China").id == "Q148"
    # the property and the entity without a label in the languages asked for are counted as filtered
    assert sum(filtered for _, filtered in parts) == 2
    assert all(split.rejected.num_rows == 0 for split, _ in parts)


def test_bad_dump_lines_become_rejected_rows_and_the_rest_is_read(tmp_path):
    dump = write_dump(tmp_path / "dump.json.gz", DUMP_ENTITIES, broken_line='{"type": "item", "id": "Q1", "labels": {')
    splits = [split for split, _ in WikidataDumpReader(languages=["en"]).read(str(dump), source="wd")]
    rejected = pa.Table.from_batches([s.rejected for s in splits]).to_pylist()
    assert [(r["reason"], r["offset"], r["kind"], r["source"]) for r in rejected] == [("invalid_json", 4, "lexicon", "wd")]
    conform(pa.Table.from_batches([s.rejected for s in splits]), load_schema("rejected"))
    assert sum(s.kept.num_rows for s in splits) == 6


def test_dump_filters_enwiki_and_items(tmp_path):
    dump = write_dump(tmp_path / "d.json", DUMP_ENTITIES)
    lexicon = WikidataDumpReader(languages=["de"], require_enwiki=True).lexicon(str(dump))
    assert sorted(e.id for e in lexicon) == ["Q183", "Q830149"]
    everything = WikidataDumpReader(items_only=False, aliases=False).lexicon(str(dump))
    assert "P31" in everything and everything.get("Q668").aliases == {}
    with pytest.raises(ValueError, match="languages"):
        WikidataDumpReader(languages=["not a language code"])


def test_cldr_lexicon_holds_babel_names_under_canonical_codes():
    lexicon = cldr_lexicon(languages=["en", "hi", "ur", "bn", "ta", "zh", "zh-Hant", "hi-Latn"])
    assert lexicon.languages() == {"eng_Latn", "hin_Deva", "urd_Arab", "ben_Beng", "tam_Taml", "zho_Hans", "zho_Hant", "hin_Latn"}
    india = lexicon.get("territory:IN")
    assert india.kind == "territory"
    assert india.labels["hin_Deva"] == Locale.parse("hi").territories["IN"]
    assert india.labels["zho_Hant"] == Locale.parse("zh_Hant").territories["IN"]
    assert india.labels["hin_Latn"] == Locale.parse("hi_Latn").territories["IN"]
    assert lexicon.label("language:ta", "urd_Arab") == Locale.parse("ur").languages["ta"]
    assert lexicon.label("script:Deva", "ben_Beng") == Locale.parse("bn").scripts["Deva"]
    assert lexicon.label("currency:INR", "tam_Taml") == Locale.parse("ta").currencies["INR"]
    # Time-zone ids are CLDR's and change between releases (Asia/Calcutta became Asia/Kolkata in
    # Babel 2.19): take India's zone and its names from the installed Babel, never a fixed id.
    (india_zone,) = get_global("territory_zones")["IN"]
    assert lexicon.label(f"city:{india_zone}", "hin_Deva") == Locale.parse("hi").time_zones[india_zone]["city"]
    english_city = Locale.parse("en").time_zones.get(india_zone, {}).get("city")
    assert lexicon.label(f"city:{india_zone}", "eng_Latn") == (english_city or india_zone.rsplit("/", 1)[-1].replace("_", " "))
    assert "territory:ZZ" not in lexicon and "language:und" not in lexicon and "currency:XXX" not in lexicon


def test_cldr_lexicon_categories_are_checked_and_selectable():
    lexicon = cldr_lexicon(languages=["en"], categories=["currency"])
    assert {e.kind for e in lexicon} == {"currency"}
    with pytest.raises(ValueError, match="unknown CLDR categories"):
        cldr_lexicon(languages=["en"], categories=["planets"])


def test_parquet_round_trip_keeps_everything_and_can_select_languages(tmp_path):
    lexicon = EntityLexicon(
        [
            Entity("Q1", {"eng_Latn": "One", "hin_Deva": "एक"}, {"eng_Latn": ("1", "Uno")}, "item", "One (number)", 7),
            Entity("territory:IN", {"eng_Latn": "India"}, kind="territory"),
        ],
        name="test",
    )
    path = tmp_path / "lexicon.parquet"
    lexicon.write_parquet(path)
    back = EntityLexicon.read_parquet(path)
    assert back.get("Q1") == lexicon.get("Q1")
    assert back.get("territory:IN").popularity == 1  # the labelled-language count, stored
    only_hindi = EntityLexicon.read_parquet(path, languages=["hin_Deva"])
    assert only_hindi.get("Q1").labels == {"hin_Deva": "एक"} and only_hindi.get("Q1").aliases == {}
    assert only_hindi.get("Q1").popularity == 7
    with pytest.raises(FileNotFoundError, match="missing.parquet"):
        EntityLexicon.read_parquet(tmp_path / "missing.parquet")


def test_repeated_ids_merge_first_label_wins():
    lexicon = EntityLexicon(
        [Entity("Q1", {"eng_Latn": "A"}, {"eng_Latn": ("x",)}), Entity("Q1", {"eng_Latn": "B", "hin_Deva": "ब"}, {"eng_Latn": ("y",)})]
    )
    entity = lexicon.get("Q1")
    assert entity.labels == {"eng_Latn": "A", "hin_Deva": "ब"} and entity.aliases == {"eng_Latn": ("x", "y")}


def test_user_tsv_and_jsonl_lexicons(tmp_path):
    tsv = tmp_path / "names.tsv.gz"
    tsv.write_bytes(gzip.compress("id\tlang\tlabel\taliases\tenwiki\nE1\ten\tDelhi\tNew Delhi|NCT\tDelhi\nE1\thi\tदिल्ली\t\t\n".encode()))
    lexicon = read_user_lexicon(str(tsv))
    assert lexicon.name == "names"
    assert lexicon.get("E1").labels == {"eng_Latn": "Delhi", "hin_Deva": "दिल्ली"}
    assert lexicon.get("E1").aliases == {"eng_Latn": ("New Delhi", "NCT")}
    assert lexicon.by_title("Delhi").id == "E1"
    jsonl = tmp_path / "names.jsonl"
    jsonl.write_text(
        json.dumps({"id": "E2", "labels": {"en": "Mumbai", "mr": "मुंबई"}, "aliases": {"en": ["Bombay"]}}) + "\n\n", encoding="utf-8"
    )
    assert read_user_lexicon(str(jsonl)).get("E2").names("eng_Latn") == ["Mumbai", "Bombay"]


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("bad.tsv", "id\tlabel\nE1\tDelhi\n", r"bad.tsv:1: the header must name columns id, lang, label"),
        ("bad.tsv", "id\tlang\tlabel\nE1\tzz-not-a-code-at-all\tDelhi\n", r"bad.tsv:2:"),
        ("bad.tsv", "id\tlang\tlabel\nE1\ten\n", r"bad.tsv:2: 2 fields, the header has 3"),
        ("bad.jsonl", '{"id": "E1", "labels": {"en": "A"}}\n{"id": "E2"}\n', r"bad.jsonl:2: expected an object"),
        ("bad.jsonl", "{oops\n", r"bad.jsonl:1: malformed JSON"),
        ("bad.csv", "id,lang\n", r"expected a .tsv or .jsonl"),
    ],
)
def test_user_lexicon_errors_name_the_file_and_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_user_lexicon(str(path))


def test_normalize_title_follows_mediawiki():
    assert normalize_title(" india_gate#History ") == "India gate"
    assert normalize_title("New  York_City") == "New York City"
