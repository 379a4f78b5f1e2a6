"""Recipes that use the capability stages, run through the corpus job on the DirectRunner:
language ID and filters, byte premiums and temperature sampling, transliteration pairs and
translation. Every run must balance; derived records are counted as created."""

import json
import random
from collections import Counter
from pathlib import Path

import apache_beam as beam
import pyarrow.dataset as ds
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from corpusforge.config import ConfigError, recipe_from_dict
from corpusforge.pipelines.corpus import build

pytestmark = pytest.mark.slow

DEMO = "corpusforge:data/demo/"


def run(tmp_path: Path, stages: list, inputs: list, name: str = "out", dedup: str = "global", **output) -> tuple[Path, dict]:
    out = tmp_path / name
    recipe = recipe_from_dict(
        {"name": "t", "seed": 3, "inputs": inputs, "stages": stages, "dedup": {"scope": dedup}, "output": {"path": str(out), **output}},
        base_dir=str(tmp_path),
    )
    with beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner"])) as p:
        build(p, recipe)
    manifest = json.loads((out / "_manifest.json").read_text(encoding="utf-8"))
    assert manifest["balanced"], manifest["sources"]
    return out, manifest


def rows(path: Path) -> list[dict]:
    files = sorted(str(f) for f in path.rglob("*.parquet"))
    return ds.dataset(files, format="parquet").to_table().to_pylist() if files else []


MONO = [
    {"name": "news_hi", "format": "text", "paths": [DEMO + "news_hi.txt"], "options": {"lang": "hin_Deva"}},
    {"name": "web", "format": "jsonl", "paths": [DEMO + "web_mixed.jsonl"], "options": {"id_field": "id", "lang_field": "lang"}},
]
PAIRS = [
    {
        "name": "pairs",
        "format": "moses",
        "kind": "bitext",
        "paths": [DEMO + "parallel.en"],
        "options": {"src_lang": "eng_Latn", "tgt_lang": "hin_Deva"},
    }
]


def test_language_id_and_filters(tmp_path):
    stages = [
        {"normalize": {"fix_mojibake": True}},
        {"lid": {"lang_policy": "replace"}},
        {"lang_filter": {"allowed": ["hin_Deva", "urd_Arab", "ben_Beng", "tam_Taml", "zho_Hans", "rus_Cyrl"], "default_threshold": 0.3}},
        {"bitext_score": {}},
        {"bitext_filter": {"src_languages": ["eng_Latn"], "tgt_languages": ["hin_Deva"]}},
    ]
    out, manifest = run(tmp_path, stages, MONO + PAIRS)
    segments = rows(out / "segment")
    assert segments and {r["lang"] for r in segments} <= {"hin_Deva", "urd_Arab", "ben_Beng", "tam_Taml", "zho_Hans", "rus_Cyrl"}
    assert all(r["lang_score"] >= 0.3 and r["script"] for r in segments)
    rejected = rows(out / "rejected")
    lid_rejected = {r["preview"] for r in rejected if r["stage"] == "lang_filter"}
    assert "Heute ist das Wetter sehr schön." in lid_rejected  # German is not allowed
    bitext = rows(out / "bitext")
    assert len(bitext) == 12 and all(r["src_lang"] == "eng_Latn" and r["tgt_script"] == "Deva" for r in bitext)


def test_misordered_stages_fail_before_the_run(tmp_path):
    with pytest.raises(ConfigError, match=r"stages\.0\.lang_filter: reads lang_score"):
        run(tmp_path, [{"lang_filter": {}}, {"lid": {}}], MONO)
    with pytest.raises(ConfigError, match=r"stages\.0\.sample: reads norm_bytes"):
        run(tmp_path, [{"sample": {"temperature": 0.3}}], MONO)
    with pytest.raises(ConfigError, match=r"bitext_filter: applies to bitext records, but no input"):
        run(tmp_path, [{"bitext_filter": {}}], MONO)


def skewed_corpus(root: Path) -> list:
    """Many English lines, fewer Hindi, few Chinese: a skewed mixture to sample from."""
    words = {
        "eng_Latn": ("the river city people water music school train year language".split(), " ", 3000),
        "hin_Deva": ("शहर नदी साल लोग भाषा स्कूल पानी संगीत रेल किताब".split(), " ", 600),
        "zho_Hans": ("城市 河流 年 人们 语言 学校 水 音乐 火车 书".split(), "", 250),
    }
    rng = random.Random(0)
    inputs = []
    for lang, (vocab, sep, lines) in words.items():
        path = root / f"{lang}.txt"
        path.write_text(
            "".join(f"{n} " + sep.join(rng.choices(vocab, k=rng.randint(4, 20))) + "\n" for n in range(lines)), encoding="utf-8"
        )
        inputs.append({"name": lang, "format": "text", "paths": [str(path)], "options": {"lang": lang}})
    return inputs


def test_temperature_sampling_matches_its_target_shares_reproducibly(tmp_path):
    inputs = skewed_corpus(tmp_path)
    stages = [{"premium": {}}, {"sample": {"temperature": 0.3, "seed": 7}}]
    out, manifest = run(tmp_path, stages, inputs, "a", shard_count=1)
    report = manifest["sampling"]["languages"]
    assert set(report) == {"eng_Latn", "hin_Deva", "zho_Hans"}
    for lang, entry in report.items():
        assert abs(entry["share_error_pp"]) < 2.0, (lang, entry)
    assert report["eng_Latn"]["target_share"] < report["eng_Latn"]["norm_bytes_in"] / sum(e["norm_bytes_in"] for e in report.values())
    assert manifest["sources"]["eng_Latn"]["rejected"] > 0  # sampled out, with a reason
    assert set(Counter(r["reason"] for r in rows(out / "rejected"))) == {"sampled_out"}
    assert set(manifest["languages"]) == set(report)
    written = Counter(r["lang"] for r in rows(out / "segment"))
    assert {lang: e["segments"] for lang, e in manifest["languages"].items()} == written  # what was written
    before = manifest["languages_before_sample"]
    lines = {i["name"]: len(Path(i["paths"][0]).read_text(encoding="utf-8").splitlines()) for i in inputs}
    assert {lang: e["segments"] for lang, e in before.items()} == lines  # what the sample was drawn from
    assert before["eng_Latn"]["segments"] > manifest["languages"]["eng_Latn"]["segments"]
    again, _ = run(tmp_path, stages, inputs, "b", shard_count=1)
    assert sorted(r["id"] for r in rows(out / "segment")) == sorted(r["id"] for r in rows(again / "segment"))


def test_transliteration_pairs_are_created_bitext(tmp_path):
    stages = [{"translit": {"target": "informal", "mode": "segment"}}, {"translit_pairs": {"target": "informal"}}]
    out, manifest = run(tmp_path, stages, MONO[:1], dedup="none")
    pairs = [r for r in rows(out / "bitext") if r["origin"] == "transliteration"]
    segments = rows(out / "segment")
    assert len(pairs) == len(segments) == manifest["sources"]["news_hi"]["created"]
    by_id = {r["id"]: r for r in segments}
    for pair in pairs:
        assert pair["src_text"] == by_id[pair["source_id"]]["text"] and pair["tgt_lang"] == "hin_Latn"
    assert "yah film bahut acchi thi." in {p["tgt_text"] for p in pairs}  # the example


def test_translation_derives_bitext_from_segments(tmp_path):
    pytest.importorskip("ctranslate2")
    from corpusforge.mt.testing import build_model

    texts = [
        r.strip()
        for r in (Path(__file__).parents[1] / "corpusforge" / "data" / "demo" / "news_hi.txt").read_text(encoding="utf-8").splitlines()
        if r.strip()
    ]
    model = build_model(tmp_path / "model", texts * 3, languages=("hin_Deva", "eng_Latn", "fra_Latn"))
    stages = [{"normalize": {}}, {"translate": {"model": str(model), "targets": ["eng_Latn", "fra_Latn"]}}]
    out, manifest = run(tmp_path, stages, MONO[:1])  # the copy model's pairs differ only in their target language
    segments = rows(out / "segment")
    mt = [r for r in rows(out / "bitext") if r["origin"] == "mt"]
    counts = manifest["sources"]["news_hi"]
    assert len(mt) == 2 * len(segments) and counts["created"] == 2 * counts["read"]
    repeated_segments = counts["read"] - counts["rejected"] - len(segments)
    assert repeated_segments > 0 and counts["created"] - len(mt) == 2 * repeated_segments  # a repeated segment's pairs go too
    assert counts["duplicates"] == repeated_segments + counts["created"] - len(mt)
    assert {r["tgt_lang"] for r in mt} == {"eng_Latn", "fra_Latn"}
    by_id = {r["id"]: r for r in segments}
    assert all(r["src_text"] == by_id[r["source_id"]]["text"] and r["mt_model"] for r in mt)
    assert all(r["tgt_text"] == r["src_text"] for r in mt)  # the copy model translates a sentence into itself


def test_entity_switching_writes_codeswitch_records(tmp_path):
    from babel import Locale

    english = tmp_path / "en.txt"
    english.write_text(
        "I travelled from India to Japan last year.\nShe speaks French and German.\nNo entity here at all.\n", encoding="utf-8"
    )
    inputs = [{"name": "en", "format": "text", "paths": [str(english)], "options": {"lang": "eng_Latn"}}]
    stages = [{"entity_switch": {"targets": ["hin_Deva"], "seed": 1}}]
    out, manifest = run(tmp_path, stages, inputs)
    switched = rows(out / "codeswitch")
    assert len(switched) == 2 == manifest["sources"]["en"]["created"]
    assert len(rows(out / "segment")) == 3  # the segments are written too
    hindi = Locale("hi")
    by_source = {r["source_text"]: r for r in switched}
    trip = by_source["I travelled from India to Japan last year."]
    assert trip["text"] == f"I travelled from {hindi.territories['IN']} to {hindi.territories['JP']} last year."
    for span in trip["spans"]:
        assert trip["text"][span["start"] : span["end"]] in (hindi.territories["IN"], hindi.territories["JP"])
    assert trip["matrix_lang"] == "eng_Latn" and trip["embedded_langs"] == ["hin_Deva"]


def test_up_sampled_copies_are_written_and_the_report_matches_the_output(tmp_path):
    inputs = skewed_corpus(tmp_path)
    stages = [{"premium": {}}, {"sample": {"temperature": 0.3, "max_repeat": 3}}]
    out, manifest = run(tmp_path, stages, inputs, shard_count=1)
    segments = rows(out / "segment")
    copies = [r for r in segments if r["copy_of"]]
    assert copies and manifest["sources"]["zho_Hans"]["created"] == len([r for r in copies if r["lang"] == "zho_Hans"])
    written = Counter(r["lang"] for r in segments)
    for lang, entry in manifest["sampling"]["languages"].items():
        assert entry["segments_out"] == written[lang], lang  # dedup ran before sampling, not after


def test_a_stage_may_appear_twice(tmp_path):
    stages = [
        {"translit": {"target": "informal"}},
        {"translit": {"target": "Beng", "source": "Deva", "mode": "script", "output_column": "text_beng"}},
    ]
    out, _ = run(tmp_path, stages, MONO[:1])
    row = next(r for r in rows(out / "segment") if r["text"] == "यह फ़िल्म बहुत अच्छी थी।")
    assert row["text_translit"] == "yah film bahut acchi thi." and row["text_beng"].startswith("যহ")


def test_recipe_seed_reaches_stages_and_missing_columns_fail_early(tmp_path):
    base = {"name": "t", "seed": 11, "inputs": MONO[:1], "output": {"path": str(tmp_path / "o")}}
    recipe = recipe_from_dict({**base, "stages": [{"premium": {}}, {"sample": {"temperature": 0.5}}]}, base_dir=str(tmp_path))
    assert recipe.stages[1].seed == 11
    recipe = recipe_from_dict({**base, "stages": [{"premium": {}}, {"sample": {"temperature": 0.5, "seed": 2}}]}, base_dir=str(tmp_path))
    assert recipe.stages[1].seed == 2
    with pytest.raises(ConfigError, match="translit_pairs: reads text_translit"):
        recipe_from_dict({**base, "stages": [{"translit_pairs": {"target": "informal"}}]}, base_dir=str(tmp_path))
    with pytest.raises(ConfigError, match="codemix_metrics: reads tokens"):
        recipe_from_dict({**base, "stages": [{"codemix_metrics": {}}]}, base_dir=str(tmp_path))
