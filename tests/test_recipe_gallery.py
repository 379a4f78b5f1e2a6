"""The recipe gallery (configs/recipes/): every recipe loads, every recipe is run by a test,
and each run here writes small realistic data next to a copy of the recipe (recipes name their
inputs relative to their own folder), runs it end to end on the DirectRunner and checks what the
recipe's header promises, with the manifest balancing."""

from __future__ import annotations

import gzip
import json
import lzma
import random
import shutil
from collections import Counter
from importlib import resources
from pathlib import Path

import apache_beam as beam
import pyarrow.dataset as ds
import pytest
import yaml

from corpusforge.cli import packaged
from corpusforge.codeswitch.lexicon import cldr_lexicon
from corpusforge.codeswitch.metrics import code_mixing_metrics
from corpusforge.codeswitch.tokens import OTHER, tokenize
from corpusforge.config import load_recipe
from corpusforge.pipelines import translate_test
from corpusforge.pipelines.corpus import build, prepare_output
from corpusforge.schemas import load_schema

RECIPES = Path(packaged("recipes"))
TRANSLATE_TEST_CONFIGS = {"xnli_translate_test.yaml"}  # run by corpusforge/pipelines/translate_test.py, not `corpusforge run`
# Every file in configs/recipes/ and the test that runs it (a function here, or another test file).
RUN_BY = {
    "demo.yaml": "test_pipeline_corpus.py",
    "cc100_language_shard.yaml": "test_cc100_language_shard_keeps_its_language_and_says_why_it_drops_the_rest",
    "opus_bitext_cleaning.yaml": "test_opus_bitext_cleaning_rejects_identical_misaligned_and_wrong_language_pairs",
    "entitycs_codeswitch.yaml": "test_entitycs_switches_entities_into_the_target_languages",
    "xnli_translate_test.yaml": "test_xnli_translate_test_writes_a_row_per_row_and_target",
    "balanced_mixture.yaml": "test_balanced_mixture_moves_shares_towards_the_temperature_targets",
    "conditional_translit.yaml": "test_translit_scripts.py",
}
DEMO = resources.files("corpusforge") / "data" / "demo"


# --- the gallery as a whole ------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in RECIPES.glob("*.yaml")))
def test_every_recipe_loads(name):
    path = RECIPES / name
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#"), f"{name} starts with a comment block saying what it is for and how to run it"
    if name in TRANSLATE_TEST_CONFIGS:
        cfg = translate_test.load_config(str(path))
        assert cfg.fields and cfg.translate["targets"]
    else:
        recipe = load_recipe(path, check_files=False)
        assert recipe.inputs and recipe.stages


def test_every_recipe_is_run_by_a_test():
    assert sorted(p.name for p in RECIPES.glob("*.yaml")) == sorted(RUN_BY)
    for name, where in RUN_BY.items():
        if where.endswith(".py"):
            assert f"recipes/{name}" in (Path(__file__).parent / where).read_text(encoding="utf-8"), (name, where)
        else:
            assert callable(globals().get(where)), (name, where)


# --- helpers ---------------------------------------------------------------------------------


def place(name: str, folder: Path) -> Path:
    """A copy of the gallery recipe ``name`` in ``folder``, where the test writes its data."""
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(RECIPES / name, folder / name))


def run_recipe(path: Path, output: Path, *overrides: str) -> dict:
    """What `corpusforge run PATH --set output.path=OUTPUT` does, on the DirectRunner."""
    recipe = load_recipe(path, [f"output.path={output}", *overrides])
    prepare_output(recipe)
    with beam.Pipeline(runner="DirectRunner") as p:
        build(p, recipe)
    manifest = json.loads((output / "_manifest.json").read_text(encoding="utf-8"))
    assert manifest["balanced"] is True
    for source, counts in manifest["sources"].items():
        assert counts["read"] + counts["created"] == counts["written"] + counts["rejected"] + counts["duplicates"], source
    return manifest


def rows(folder: Path, kind: str | None = None) -> list[dict]:
    if not folder.exists():
        return []
    schema = load_schema(kind) if kind else None
    table = ds.dataset(str(folder), format="parquet", partitioning="hive", schema=schema).to_table()
    return sorted(table.to_pylist(), key=lambda r: r["id"])


def assert_written_and_rejected_match(output: Path, manifest: dict) -> dict[str, list[dict]]:
    """The files hold what the manifest counts, per source; returns the rows by kind."""
    kinds = {
        kind: rows(output / kind, None if kind != "rejected" else "rejected") for kind in ("segment", "bitext", "codeswitch", "rejected")
    }
    written = Counter(r["source"] for kind in ("segment", "bitext", "codeswitch") for r in kinds[kind])
    rejected = Counter(r["source"] for r in kinds["rejected"])
    for source, counts in manifest["sources"].items():
        assert (written[source], rejected[source]) == (counts["written"], counts["rejected"]), source
    return kinds


def demo_lines(name: str) -> list[str]:
    """Distinct, already clean lines of an embedded demo file (messy ones are the demo's test)."""
    lines = (DEMO / name).read_text(encoding="utf-8").splitlines()
    return list(dict.fromkeys(line for line in lines if line and " ".join(line.split()) == line))


def demo_web(lang: str) -> list[str]:
    return [r["text"] for r in map(json.loads, (DEMO / "web_mixed.jsonl").read_text(encoding="utf-8").splitlines()) if r["lang"] == lang]


# --- 1. a CC-100 language shard --------------------------------------------------------------


class Cc100Shard:
    """A CC-100-style `hi.txt.xz`: paragraphs a line, documents separated by blank lines; mostly
    Hindi documents, with English and Urdu ones mixed in, boilerplate repeated, one damaged."""

    def __init__(self, seed: int = 0):
        rng = random.Random(seed)
        hindi = demo_lines("news_hi.txt") + [line for line in demo_lines("parallel.hi") if line not in demo_lines("news_hi.txt")]
        english = demo_lines("parallel.en") + demo_lines("news_en.txt")
        urdu = demo_web("urd_Arab") + ["صبح بخیر، آپ کیسے ہیں؟", "پانی زندگی ہے۔", "ریلوے اسٹیشن کہاں ہے؟"]
        self.hindi = [tuple(d) for d in self._distinct(rng, hindi, 3, 60)]
        self.foreign = {"eng_Latn": self._distinct(rng, english, 3, 15), "urd_Arab": self._distinct(rng, urdu, 2, 4)}
        self.repeated = rng.sample(self.hindi, 3)  # the same page crawled twice
        docs: list[tuple[str, ...] | bytes] = [*self.hindi, *self.repeated, *(tuple(d) for ds_ in self.foreign.values() for d in ds_)]
        rng.shuffle(docs)
        self.damaged = (hindi[0].encode(), b"\xff\xfe broken bytes", hindi[1].encode())  # rejected whole
        docs.insert(len(docs) // 2, self.damaged)
        self.documents = docs

    @staticmethod
    def _distinct(rng: random.Random, pool: list[str], size: int, count: int) -> list[tuple[str, ...]]:
        seen: dict[tuple[str, ...], None] = {}
        while len(seen) < count:
            seen.setdefault(tuple(rng.sample(pool, size)), None)
        return list(seen)

    def write(self, path: Path) -> int:
        """Write the .xz; returns the 1-based line of the damaged document's first line."""
        out, line, damaged_at = [], 1, 0
        for n, doc in enumerate(self.documents):
            if doc is self.damaged:
                damaged_at = line
            out.extend(part if isinstance(part, bytes) else part.encode() for part in doc)
            line += len(doc)
            gap = 2 if n % 17 == 5 else 1  # now and then two blank lines: still one separator
            out.extend([b""] * gap)
            line += gap
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(lzma.compress(b"\n".join(out)))
        return damaged_at

    @property
    def lines(self) -> int:
        return sum(len(doc) for doc in self.documents)


@pytest.mark.slow
def test_cc100_language_shard_keeps_its_language_and_says_why_it_drops_the_rest(tmp_path):
    recipe = place("cc100_language_shard.yaml", tmp_path)
    shard = Cc100Shard()
    damaged_at = shard.write(tmp_path / "data" / "hi.txt.xz")
    assert shard.lines > 200

    manifest = run_recipe(recipe, tmp_path / "out")
    kinds = assert_written_and_rejected_match(tmp_path / "out", manifest)
    counts = manifest["sources"]["cc100_hi"]
    assert counts["read"] == len(shard.documents)  # one record a document; blank lines only separate
    assert counts["duplicates"] == len(shard.repeated)

    segments = kinds["segment"]
    assert sorted(r["text"] for r in segments) == sorted("\n".join(doc) for doc in shard.hindi)
    assert {r["lang"] for r in segments} == {"hin_Deva"} and min(r["lang_score"] for r in segments) >= 0.5
    assert all(r["norm_bytes"] < r["n_bytes"] for r in segments)  # Hindi weighs less than its UTF-8 bytes

    rejected = kinds["rejected"]
    by_reason = Counter((r["stage"], r["reason"]) for r in rejected)
    foreign = sum(len(docs) for docs in shard.foreign.values())
    assert by_reason == {("lang_filter", "lang_mismatch"): foreign, ("read", "invalid_utf8"): 1}
    detected = Counter(next(code for code in shard.foreign if code in r["detail"]) for r in rejected if r["stage"] == "lang_filter")
    assert detected == {code: len(docs) for code, docs in shard.foreign.items()}  # the detail says what it was
    (damaged,) = [r for r in rejected if r["stage"] == "read"]
    assert damaged["offset"] == damaged_at and damaged["file"].endswith("hi.txt.xz")


# --- 2. OPUS bitext cleaning -----------------------------------------------------------------


class OpusEnHi:
    """OPUS-style English-Hindi data: a Moses pair (`CCAligned.en-hi.en` / `.hi`, the Hindi side
    one line longer) and a gzipped TMX, with the usual faults mixed into good pairs."""

    def __init__(self):
        en, hi = demo_lines("parallel.en"), (DEMO / "parallel.hi").read_text(encoding="utf-8").splitlines()
        self.good = list(zip(en, hi[: len(en)]))
        self.faults = {  # source side -> (target side, reason the recipe must give)
            "Click here to download the file.": ("Click here to download the file.", "identical_sides"),
            # misaligned: a long sentence against the translation of a short, different one
            "The committee met on Tuesday to discuss the budget for the next three years and approved it.": (hi[10], "length_ratio"),
            "Where is the station?": ("Où est la gare ? Elle est là-bas.", "tgt_lang_mismatch"),
            hi[2]: (en[2], "src_lang_mismatch"),  # sides swapped
        }
        self.unpaired = hi[len(en)]
        moses = self.good + [(s, t) for s, (t, _) in self.faults.items()] + [self.good[0]]  # a repeated pair
        self.moses = moses
        self.tmx_units = [
            ("tm-1", "Thank you very much.", "बहुत बहुत धन्यवाद।"),
            ("tm-2", "Please close the door.", "कृपया दरवाज़ा बंद करें।"),
            ("tm-3", *self.good[1]),  # also in the Moses corpus: one of them is a duplicate
            ("tm-4", "Google Chrome", "Google Chrome"),  # an untranslated product name
            ("tm-5", "This unit has no Hindi side.", None),
        ]

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "CCAligned.en-hi.en").write_text("\n".join(s for s, _ in self.moses) + "\n", encoding="utf-8")
        (folder / "CCAligned.en-hi.hi").write_text("\n".join([t for _, t in self.moses] + [self.unpaired]) + "\n", encoding="utf-8")
        units = []
        for tuid, src, tgt in self.tmx_units:
            hindi = f'<tuv xml:lang="hi"><seg>{tgt}</seg></tuv>' if tgt else ""
            units.append(f'    <tu tuid="{tuid}"><tuv xml:lang="en"><seg>{src}</seg></tuv>{hindi}</tu>')
        tmx = "\n".join([
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<tmx version="1.4">',
            '  <header creationtool="opus" creationtoolversion="1" datatype="plaintext" segtype="sentence" adminlang="en" srclang="en" o-tmf="none"/>',
            "  <body>", *units, "  </body>", "</tmx>", "",
        ])  # fmt: skip
        (folder / "en-hi.tmx.gz").write_bytes(gzip.compress(tmx.encode("utf-8")))


@pytest.mark.slow
def test_opus_bitext_cleaning_rejects_identical_misaligned_and_wrong_language_pairs(tmp_path):
    recipe = place("opus_bitext_cleaning.yaml", tmp_path)
    opus = OpusEnHi()
    opus.write(tmp_path / "data")

    manifest = run_recipe(recipe, tmp_path / "out")
    kinds = assert_written_and_rejected_match(tmp_path / "out", manifest)
    sources = manifest["sources"]
    assert sources["opus_moses"]["read"] == len(opus.moses) + 1  # the longer side's lines
    assert sources["opus_tmx"]["read"] == len(opus.tmx_units)
    assert sources["opus_moses"]["duplicates"] + sources["opus_tmx"]["duplicates"] == 2  # across the two corpora

    rejected = {(r["source"], r["preview"]): r for r in kinds["rejected"]}
    for src, (_, reason) in opus.faults.items():
        assert rejected[("opus_moses", src)]["reason"] == reason, src
    assert rejected[("opus_tmx", "Google Chrome")]["reason"] == "identical_sides"
    unpaired = [r for r in kinds["rejected"] if r["reason"] == "unpaired_line"]
    assert [(r["source"], r["offset"]) for r in unpaired] == [("opus_moses", len(opus.moses) + 1)]
    bad_unit = [r for r in kinds["rejected"] if r["reason"] == "tmx_bad_unit"]
    assert [(r["source"], r["offset"]) for r in bad_unit] == [("opus_tmx", 5)]
    assert len(kinds["rejected"]) == len(opus.faults) + 3

    bitext = kinds["bitext"]
    good = set(opus.good) | {(s, t) for _, s, t in opus.tmx_units if t and s != t}
    assert sorted((r["src_text"], r["tgt_text"]) for r in bitext) == sorted(good)  # each good pair once
    assert {(r["src_lang"], r["tgt_lang"]) for r in bitext} == {("eng_Latn", "hin_Deva")}
    assert not any(r["sides_identical"] for r in bitext) and all(0.4 <= r["char_ratio"] <= 2.5 for r in bitext)
    assert {r["tgt_script"] for r in bitext} == {"Deva"}


# --- 3. an EntityCS code-switched corpus -----------------------------------------------------

COUNTRIES = ["IN", "PK", "JP", "CN", "EG", "BR", "DE", "FR", "KE", "MX", "BD", "RU"]
TEMPLATES = [
    "{a} and {b} signed a new trade agreement on Monday.",
    "Tourists from {a} visited {b} in record numbers this year.",
    "The football team of {a} beat {b} in the final.",
    "Prices of rice rose sharply in {a} last month, traders said.",
]
NO_ENTITY = ["The weather was pleasant all week.", "She reads the newspaper every morning before work."]
NOT_ENGLISH = "आज मौसम बहुत अच्छा है।"


def entitycs_sentences() -> list[str]:
    """English news sentences naming countries, by their English names as Babel's CLDR gives them."""
    from babel import Locale

    names = [Locale("en").territories[code] for code in COUNTRIES]
    sentences = [t.format(a=names[j], b=names[(j + i + 1) % len(names)]) for i, t in enumerate(TEMPLATES) for j in range(len(names))]
    return sentences + NO_ENTITY + [NOT_ENGLISH]


@pytest.fixture(scope="module")
def entitycs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("entitycs")
    recipe = place("entitycs_codeswitch.yaml", folder)
    sentences = entitycs_sentences()
    (folder / "data").mkdir()
    (folder / "data" / "sentences.en.txt").write_text("\n".join(sentences) + "\n", encoding="utf-8")
    manifest = run_recipe(recipe, folder / "out")
    targets = yaml.safe_load(recipe.read_text(encoding="utf-8"))["stages"][3]["entity_switch"]["targets"]
    return sentences, targets, manifest, assert_written_and_rejected_match(folder / "out", manifest)


@pytest.mark.slow
def test_entitycs_switches_entities_into_the_target_languages(entitycs):
    sentences, targets, manifest, kinds = entitycs
    counts = manifest["sources"]["sentences_en"]
    assert counts["read"] == len(sentences)
    (refused,) = kinds["rejected"]
    assert (refused["reason"], refused["preview"]) == ("lang_mismatch", NOT_ENGLISH)

    segments = {r["id"]: r for r in kinds["segment"]}
    switched = kinds["codeswitch"]
    # each sentence gets up to 3 variants; two that drew the same language are one record
    assert counts["created"] == len(switched) + counts["duplicates"] and len(switched) > len(segments)
    lexicon = cldr_lexicon(languages=["eng_Latn", *targets])
    per_source = Counter(r["source_id"] for r in switched)
    assert max(per_source.values()) <= 3
    assert {segments[i]["text"] for i in per_source} == set(sentences) - set(NO_ENTITY) - {NOT_ENGLISH}
    for record in switched:
        source = segments[record["source_id"]]
        assert (record["source_text"], record["matrix_lang"]) == (source["text"], "eng_Latn")
        langs = {span["lang"] for span in record["spans"]}
        assert len(langs) == 1 and langs <= set(targets)  # one target per sentence
        assert record["embedded_langs"] == sorted(langs)
        rebuilt, at = [], 0
        for span in record["spans"]:
            assert record["text"][span["start"] : span["end"]] == lexicon.label(span["entity_id"], span["lang"])
            rebuilt += [record["text"][at : span["start"]], span["original"]]
            at = span["end"]
        assert "".join(rebuilt) + record["text"][at:] == record["source_text"]  # the rest kept byte for byte
        assert None not in (record["cmi"], record["m_index"], record["i_index"], record["switch_points"], record["switch_fraction"])
    assert len({r["spans"][0]["lang"] for r in switched}) >= 4  # the draws spread over the targets


@pytest.mark.slow
def test_entitycs_codemix_metrics_describe_the_switched_spans(entitycs):
    _, _, _, kinds = entitycs
    wrong = []
    for record in kinds["codeswitch"]:
        text, tags, at = record["text"], [], 0
        for span in record["spans"]:
            tags += [record["matrix_lang"] if word else OTHER for _, word in tokenize(text[at : span["start"]])]
            tags += [span["lang"] if word else OTHER for _, word in tokenize(text[span["start"] : span["end"]])]
            at = span["end"]
        tags += [record["matrix_lang"] if word else OTHER for _, word in tokenize(text[at:])]
        expected = code_mixing_metrics(tags)
        if (record["cmi"], record["switch_points"]) != pytest.approx((expected["cmi"], expected["switch_points"])):
            wrong.append((record["text"], record["cmi"], expected["cmi"]))
    assert not wrong, wrong[:5]


# --- 4. translate-test of an evaluation set --------------------------------------------------

XNLI = [
    {"pairID": "1", "promptID": "p1", "language": "en", "genre": "fiction", "gold_label": "entailment",
     "sentence1": "The cat sat on the mat. It was happy!", "sentence2": "A cat sat."},
    {"pairID": "2", "promptID": "p1", "language": "en", "genre": "fiction", "gold_label": "neutral",
     "sentence1": "The dog ran in the park.", "sentence2": "The dog was tired."},
    {"pairID": "3", "promptID": "p2", "language": "en", "genre": "travel", "gold_label": "contradiction",
     "sentence1": "The train is late by two hours.", "sentence2": "The train is on time."},
    {"pairID": "4", "promptID": "p3", "language": "hi", "genre": "travel", "gold_label": "entailment",
     "sentence1": "ट्रेन दो घंटे देर से चल रही है।", "sentence2": "ट्रेन देर से है।"},  # already Hindi
]  # fmt: skip
XNLI_BAD = [  # (line, reason)
    ('{"pairID": "5", "sentence1": "No closing brace."', "invalid_json"),
    (json.dumps({"pairID": "6", "language": "en", "gold_label": "neutral", "sentence1": "A cat.", "sentence2": "  "}), "empty_text"),
]


@pytest.mark.slow
def test_xnli_translate_test_writes_a_row_per_row_and_target(tmp_path):
    pytest.importorskip("ctranslate2")
    pytest.importorskip("sentencepiece")
    from corpusforge.mt.testing import build_model

    config = place("xnli_translate_test.yaml", tmp_path)
    targets = yaml.safe_load(config.read_text(encoding="utf-8"))["translate"]["targets"]
    (tmp_path / "data").mkdir()
    lines = [json.dumps(r, ensure_ascii=False) for r in XNLI] + [line for line, _ in XNLI_BAD]
    (tmp_path / "data" / "xnli.test.en.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # A tiny NLLB-convention copy model (translates each sentence into itself) where the config
    # expects the converted NLLB-200, so outputs are checkable.
    texts = [r[f] for r in XNLI for f in ("sentence1", "sentence2")]
    build_model(tmp_path / "models" / "nllb-200-distilled-600M-ct2", texts * 3, languages=("eng_Latn", *targets))

    # The copy model is made for greedy decoding (with beams its other hypotheses run to the
    # length limit); a real model keeps the config's beam_size.
    cfg = translate_test.load_config(str(config), ["translate.beam_size=1"])
    with beam.Pipeline(runner="DirectRunner") as p:
        translate_test.build(p, cfg)
    out = tmp_path / "out" / "indicxnli"
    assert sorted(p.name for p in (out / "translated").iterdir()) == sorted(targets)

    translated = rows(out / "translated")
    pairs = Counter((r["pairID"], r["mt_tgt_lang"]) for r in translated)
    expected = {(r["pairID"], t) for r in XNLI for t in targets} - {("4", "hin_Deva")}  # hi -> hin_Deva refused
    assert set(pairs) == expected and set(pairs.values()) == {1}
    by_id = {r["pairID"]: r for r in XNLI}
    for row in translated:
        source = by_id[row["pairID"]]
        assert {k: row[k] for k in ("promptID", "language", "genre", "gold_label")} == {
            k: source[k] for k in ("promptID", "language", "genre", "gold_label")
        }
        assert (row["sentence1"], row["sentence2"]) == (source["sentence1"], source["sentence2"])  # the copy model's translation
        assert row["id"] == row["pairID"] and row["mt_model"].startswith("nllb-200-distilled-600M-ct2@")
        assert row["mt_src_lang"] == ("hin_Deva" if source["language"] == "hi" else "eng_Latn")
        assert set(row["mt_score"]) == {"sentence1", "sentence2"} and not any(row["mt_truncated"].values())

    rejected = rows(out / "rejected", "rejected")
    assert sorted(r["reason"] for r in rejected) == sorted([reason for _, reason in XNLI_BAD] + ["same_language"])
    manifest = json.loads((out / "_manifest.json").read_text(encoding="utf-8"))
    totals = manifest["totals"]
    assert manifest["balanced"] and totals["read"] == len(lines) and totals["written"] == len(translated)


# --- 5. a balanced mixture -------------------------------------------------------------------

MIXTURE_ROWS = {"eng_Latn": 400, "rus_Cyrl": 60, "urd_Arab": 30, "ben_Beng": 12, "tam_Taml": 6}  # web rows per language
WIKI_HI_ROWS = 80


def write_mixture_data(folder: Path) -> None:
    """A language-tagged crawl in two gzipped JSONL parts (one row without a language) and a
    Hindi Wikipedia text file; skewed like real crawls."""
    texts = {lang: demo_web(lang) for lang in MIXTURE_ROWS}
    texts["eng_Latn"] = demo_lines("parallel.en") + demo_lines("news_en.txt")
    web = [
        {
            "id": f"{lang}-{i}",
            "text": f"{i + 1}. {texts[lang][i % len(texts[lang])]}",
            "lang": lang,
            "url": f"https://example.org/{lang}/{i}",
        }
        for lang, n in MIXTURE_ROWS.items()
        for i in range(n)
    ]
    web.append({"id": "untagged-1", "text": "Это предложение пришло без метки языка.", "url": "https://example.org/x"})
    random.Random(1).shuffle(web)
    (folder / "web").mkdir(parents=True)
    for part in range(2):
        lines = [json.dumps(r, ensure_ascii=False) for r in web[part::2]]
        (folder / "web" / f"part-{part}.jsonl.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode("utf-8")))
    hindi = demo_lines("news_hi.txt")
    (folder / "wiki").mkdir()
    (folder / "wiki" / "hi.txt").write_text(
        "\n".join(f"{i + 1}. {hindi[i % len(hindi)]}" for i in range(WIKI_HI_ROWS)) + "\n", encoding="utf-8"
    )


@pytest.mark.slow
def test_balanced_mixture_moves_shares_towards_the_temperature_targets(tmp_path):
    recipe = place("balanced_mixture.yaml", tmp_path)
    write_mixture_data(tmp_path / "data")
    temperature = yaml.safe_load(recipe.read_text(encoding="utf-8"))["stages"][3]["sample"]["temperature"]

    manifest = run_recipe(recipe, tmp_path / "out")
    kinds = assert_written_and_rejected_match(tmp_path / "out", manifest)
    assert {r["reason"] for r in kinds["rejected"]} == {"sampled_out"}
    report = manifest["sampling"]["languages"]
    segments_in = {lang: v["segments_in"] for lang, v in report.items()}
    assert segments_in == {
        **MIXTURE_ROWS,
        "rus_Cyrl": MIXTURE_ROWS["rus_Cyrl"] + 1,
        "hin_Deva": WIKI_HI_ROWS,
    }  # lid filled the untagged row

    raw = {lang: v["norm_bytes_in"] for lang, v in report.items()}
    raw = {lang: n / sum(raw.values()) for lang, n in raw.items()}
    weights = {lang: p**temperature for lang, p in raw.items()}
    target = {lang: w / sum(weights.values()) for lang, w in weights.items()}
    achieved = {lang: v["achieved_share"] for lang, v in report.items()}
    for lang in report:
        assert report[lang]["target_share"] == pytest.approx(target[lang], rel=1e-6), lang
        assert abs(achieved[lang] - target[lang]) < min(0.02, abs(raw[lang] - target[lang])), lang  # closer than raw
    largest, smallest = max(raw, key=raw.get), min(raw, key=raw.get)
    assert achieved[largest] < raw[largest] and achieved[smallest] > raw[smallest]

    segments = kinds["segment"]
    out_bytes = Counter()
    for r in segments:
        out_bytes[r["lang"]] += r["norm_bytes"]
    total = sum(out_bytes.values())
    assert {lang: out_bytes[lang] / total for lang in out_bytes} == pytest.approx(achieved, abs=1e-6)  # what was written
    copies = Counter(r["lang"] for r in segments if r["copy_of"] is not None)
    assert copies and all(report[lang]["rate"] > 1 for lang in copies)  # only scarce languages are up-sampled
    assert all(report[lang]["rate"] <= 2.0 for lang in report)  # max_repeat
    assert sorted(p.name for p in (tmp_path / "out" / "segment").iterdir()) == sorted(report)
