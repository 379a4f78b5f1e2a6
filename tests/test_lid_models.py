"""The identifiers behind the ``lid`` stage (corpusforge.lid), romanised-Hindi detection and
token tags on the romanised-Hindi dev set (tests/data/hinglish_dev.tsv), and a recipe run that
gives code-mixing metrics on Hinglish with no user files."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import pickle
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from corpusforge.languages import code_for_label, is_canonical, language_of
from corpusforge.lid import EnsembleIdentifier, EnsembleRule, FastTextIdentifier, hindi_spellings
from corpusforge.lid.lexicons import builtin_lexicon
from corpusforge.lid.models import HELIPORT_NONE, heliport_label
from corpusforge.transforms.lid import LanguageIdentifier
from corpusforge.transforms.tokens import TokenTagger, tokenize
from corpusforge.translit.romanize import InformalRomanizer

DEV = Path(__file__).parent / "data" / "hinglish_dev.tsv"
HAS_HELIPORT = importlib.util.find_spec("heliport") is not None
needs_heliport = pytest.mark.skipif(not HAS_HELIPORT, reason="heliport (the lid extra) is not installed")


def dev_rows() -> list[dict]:
    with DEV.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def segments(texts: list[str]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({"id": [str(i) for i in range(len(texts))], "source": ["t"] * len(texts), "text": texts})


# -- the dev set itself ---------------------------------------------------------------------------


def test_dev_set_has_a_tag_for_every_word():
    rows = dev_rows()
    assert len(rows) >= 100
    kinds = {r["kind"] for r in rows}
    assert {"deva", "hinglish", "mixed_en", "english"} <= kinds
    for r in rows:
        words = [token for token, is_word in tokenize(r["text"]) if is_word]
        tags = r["tags"].split()
        assert len(words) == len(tags), r["text"]
        assert set(tags) <= {"hin_Latn", "eng_Latn"}
    assert all(r["source"] for r in rows if r["kind"] == "deva")  # each romanised row keeps its Devanagari source


# -- romanised Hindi ------------------------------------------------------------------------------


def test_typed_spellings_of_common_words():
    word = InformalRomanizer(language="hin").word
    assert {"mein", "men"} <= set(hindi_spellings("में", word))
    assert {"nahi", "nahin"} <= set(hindi_spellings("नहीं", word))
    assert {"aap", "ap"} <= set(hindi_spellings("आप", word))
    assert {"hai", "he"} <= set(hindi_spellings("है", word))
    lexicon = builtin_lexicon("hin_Latn")
    assert lexicon is not None and math.isclose(sum(lexicon.values()), 1.0, rel_tol=1e-6)
    median = sorted(lexicon.values())[len(lexicon) // 2]
    assert all(lexicon.get(w, 0.0) > median for w in ("kya", "hai", "nahi", "mein", "aap", "bahut"))


@pytest.mark.parametrize("model", ["lid176", pytest.param("ensemble", marks=needs_heliport)])
def test_romanised_hindi_sentences_and_tokens_on_the_dev_set(model):
    rows = dev_rows()
    lid = LanguageIdentifier(model=model, romanized=["hin_Latn"])
    out = TokenTagger().process(lid.process(segments([r["text"] for r in rows])).kept).kept
    langs = out.column("lang").to_pylist()
    hindi = [lang == "hin_Latn" for lang, r in zip(langs, rows) if r["majority"] == "hin_Latn"]
    english = [lang == "eng_Latn" for lang, r in zip(langs, rows) if r["kind"] == "english"]
    assert sum(hindi) / len(hindi) >= 0.9  # measured 0.99
    assert sum(english) / len(english) >= 0.95  # measured 1.0
    right = total = 0
    for tokens, r in zip(out.column("tokens").to_pylist(), rows):
        tags = [t["tag"] for t in tokens if t["tag"] not in ("other", "und")]
        gold = r["tags"].split()
        assert len(tags) == len(gold)
        right += sum(a == b for a, b in zip(tags, gold))
        total += len(gold)
    assert right / total >= 0.9  # measured 0.98


def test_without_romanized_the_stage_never_says_hin_latn():
    rows = dev_rows()
    langs = LanguageIdentifier().process(segments([r["text"] for r in rows])).kept.column("lang").to_pylist()
    assert "hin_Latn" not in langs  # what the issue reports: lid.176 does not know romanised Hindi


def test_romanized_leaves_other_scripts_and_languages_alone():
    texts = ["यह एक वाक्य है", "Der Zug hat heute Verspätung.", "La casa es muy bonita y grande."]
    plain = LanguageIdentifier().identify(texts)
    romanized = LanguageIdentifier(romanized=["hin_Latn"]).identify(texts)
    assert [r.lang for r in romanized] == [r.lang for r in plain]
    assert [r.score for r in romanized] == [r.score for r in plain]


def test_romanized_options_are_checked():
    with pytest.raises(ValueError, match="romanized"):
        LanguageIdentifier(romanized=["ben_Latn"])
    with pytest.raises(ValueError, match="romanized"):
        LanguageIdentifier(romanized=["not a code"])


def test_token_tags_out_of_the_box_on_devanagari_and_hinglish():
    batch = LanguageIdentifier(romanized=["hin_Latn"]).process(segments(["मुझे यह movie बहुत अच्छी लगी", "kal meri flight late hai yaar"])).kept
    tagged = [[(t["token"], t["tag"]) for t in row] for row in TokenTagger().process(batch).kept.column("tokens").to_pylist()]
    assert ("movie", "eng_Latn") in tagged[0] and ("मुझे", "hin_Deva") in tagged[0]
    assert ("flight", "eng_Latn") in tagged[1] and ("meri", "hin_Latn") in tagged[1] and ("hai", "hin_Latn") in tagged[1]
    # turning the built-ins off gives the old behaviour: Latin words in Devanagari text are und
    plain = TokenTagger(script_languages={}, builtin_lexicons=False).process(batch.slice(0, 1)).kept.column("tokens").to_pylist()[0]
    assert {"token": "movie", "tag": "und"} in plain


# -- identifiers ----------------------------------------------------------------------------------


class FixedIdentifier:
    """A fake identifier answering the same pairs for every text (and counting what it is asked)."""

    def __init__(self, name: str, answers: dict[str, list[tuple[float, str]]]):
        self.name, self.answers, self.asked = name, answers, []

    def load(self) -> None:
        pass

    def predict(self, texts, k, threshold):
        self.asked.extend(texts)
        return [list(self.answers.get(t, [])) for t in texts]

    def describe(self) -> dict:
        return {"model": self.name}


def test_ensemble_asks_the_fallback_only_where_its_rule_says():
    primary = FixedIdentifier("p", {"sure": [(0.95, "fra")], "unsure": [(0.3, "spa")], "merged": [(0.9, "zsm")], "none": []})
    fallback = FixedIdentifier("f", {"unsure": [(0.6, "glg")], "merged": [(0.7, "ind")], "none": [(0.4, "eng")], "sure": [(1.0, "deu")]})
    ensemble = EnsembleIdentifier(primary=primary, fallback=fallback, rule=EnsembleRule(min_score=0.5, defer={"zsm": frozenset({"ind"})}))
    out = ensemble.predict(["sure", "unsure", "merged", "none"], 3, 0.0)
    assert [pairs[0][1] for pairs in out] == ["fra", "glg", "ind", "eng"]
    assert sorted(fallback.asked) == ["merged", "none", "unsure"]  # never the confident row
    # a member the rule does not name does not replace a deferred answer with a higher score
    fallback.answers["merged"] = [(0.7, "tgl")]
    assert ensemble.predict(["merged"], 3, 0.0)[0][0][1] == "zsm"


def test_fasttext_identifier_by_path_and_pickles_without_its_model(tmp_path):
    identifier = FastTextIdentifier()
    out = identifier.predict(["This is an English sentence.", "   "], 3, 0.0)
    assert out[1] == [] and len(out[0]) <= 3 and all(0.0 <= p <= 1.0 for p, _ in out[0])
    assert pickle.loads(pickle.dumps(identifier))._predict is None
    with pytest.raises(ValueError, match="not found"):
        LanguageIdentifier(model=str(tmp_path / "missing.ftz"))
    with pytest.raises(ValueError, match="model must be one of"):
        LanguageIdentifier(model="cld3")
    with pytest.raises(ValueError, match="ensemble"):
        LanguageIdentifier(ensemble=["heliport", "lid176"])


def test_heliport_labels_map_to_canonical_codes():
    assert code_for_label(heliport_label("cmn"), "Hant") == "zho_Hant"
    assert code_for_label(heliport_label("cmn"), "Hans") == "zho_Hans"
    assert language_of(code_for_label(heliport_label("arb"), "Arab")) == "arb"
    assert language_of(code_for_label(heliport_label("ara"), "Arab")) == "arb"
    assert language_of(code_for_label(heliport_label("msa"), "Latn")) == "zsm"
    assert language_of(code_for_label(heliport_label("msaind"), "Latn")) == "ind"
    if HAS_HELIPORT:
        import heliport

        for label in set(heliport.Identifier().get_confidence_all()) - HELIPORT_NONE:
            assert is_canonical(code_for_label(heliport_label(label), "Latn")), label


@needs_heliport
@pytest.mark.parametrize("model", ["heliport", "ensemble"])
def test_heliport_and_ensemble_scores_are_probabilities(model):
    texts = ["यह एक वाक्य है", "這是一個句子", "This is an English sentence.", "Das ist ein Satz.", ""]
    results = LanguageIdentifier(model=model, top_k=3).identify(texts)
    assert [r.lang for r in results][:3] == ["hin_Deva", "zho_Hant", "eng_Latn"]
    assert results[-1].lang is None and results[-1].topk == []
    for r in results[:-1]:
        scores = [s for _, s in r.topk]
        assert scores == sorted(scores, reverse=True) and 0.0 < sum(scores) <= 1.0 + 1e-5
    restored = pickle.loads(pickle.dumps(LanguageIdentifier(model=model)))
    assert restored.identify(texts[:1])[0].lang == "hin_Deva"


@pytest.mark.skipif(importlib.util.find_spec("lingua") is None, reason="lingua (the lid extra) is not installed")
def test_lingua_identifier():
    results = LanguageIdentifier(model="lingua").identify(["Das ist ein ganz normaler deutscher Satz.", "   "])
    assert results[0].lang == "deu_Latn" and 0.0 < results[0].score <= 1.0
    assert results[1].lang is None


# -- a recipe run ---------------------------------------------------------------------------------

MIXED = [
    "kya tum kal ki meeting attend karoge",
    "yaar mera laptop bahut slow chal raha hai",
    "main abhi busy hoon, baad mein call karta hoon",
]
MONOLINGUAL = ["The meeting has been moved to Thursday afternoon.", "Please turn off the lights when you leave.", "मुझे कल सुबह जल्दी उठना है।"]


@pytest.mark.slow
def test_corpusforge_run_gives_code_mixing_metrics_on_hinglish_with_no_user_files(tmp_path):
    from corpusforge.cli import main

    data = tmp_path / "chat.txt"
    data.write_text("\n".join(MIXED + MONOLINGUAL) + "\n", encoding="utf-8")
    recipe = {
        "name": "hinglish",
        "inputs": [{"name": "chat", "format": "text", "paths": [str(data)]}],
        "stages": [{"lid": {"romanized": ["hin_Latn"]}}, {"token_tags": {}}, {"codemix_metrics": {}}],
        "output": {"path": str(tmp_path / "out")},
    }
    path = tmp_path / "recipe.yaml"
    path.write_text(json.dumps(recipe), encoding="utf-8")
    assert main(["run", str(path), "--no-progress"]) == 0
    files = sorted(str(f) for f in (tmp_path / "out").rglob("*.parquet"))
    rows = {r["text"]: r for r in ds.dataset(files, format="parquet").to_table().to_pylist()}
    assert set(rows) == set(MIXED + MONOLINGUAL)
    for text in MIXED:
        assert rows[text]["lang"] == "hin_Latn" and rows[text]["cmi"] > 0 and rows[text]["switch_points"] > 0, rows[text]
    for text in MONOLINGUAL:
        assert rows[text]["cmi"] == 0 and rows[text]["switch_points"] == 0, rows[text]
