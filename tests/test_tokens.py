"""Token-level language tags on Devanagari+Latin, Arabic+Latin and Latin+Latin code-mixed text:
script decides where it can, small lexicons and context decide where it cannot, and
language-independent tokens are ``other``."""

import pyarrow as pa
import pytest

from corpusforge.codeswitch.tokens import tokenize
from corpusforge.lid.lexicons import load_lexicon
from corpusforge.schemas import conform, extend, load_schema
from corpusforge.transforms.lid import LanguageIdentifier
from corpusforge.transforms.tokens import TokenTagger

ENGLISH = {
    "i": 500,
    "want": 80,
    "to": 900,
    "go": 120,
    "the": 1500,
    "beach": 15,
    "with": 400,
    "my": 300,
    "friends": 40,
    "a": 1200,
    "is": 800,
}
SPANISH = {"quiero": 60, "ir": 90, "a": 700, "la": 1300, "playa": 20, "con": 500, "mis": 150, "amigos": 45, "y": 900, "de": 1600, "es": 700}


@pytest.fixture(scope="module")
def lexicons(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lexicons")
    paths = {}
    for code, words in (("eng_Latn", ENGLISH), ("spa_Latn", SPANISH)):
        path = folder / f"{code}.txt"
        path.write_text("".join(f"{w}\t{c}\n" for w, c in words.items()), encoding="utf-8")
        paths[code] = str(path)
    return paths


def tags(tagger, text, languages=None):
    return [tag for _, tag in tagger.tag(text, languages or tagger.languages)]


def test_language_independent_tokens_are_other():
    text = (
        "Mail user@example.com or @raj about #launch at https://x.org/a?b=1 on 12/05, 10:30 for 50% {name} %s %(count)d <ENT> 😀 👍🏽 🇮🇳!"
    )
    tagged = TokenTagger(languages=["eng_Latn"]).tag(text, ["eng_Latn"])
    words = [token for token, tag in tagged if tag != "other"]
    assert words == ["Mail", "or", "about", "at", "on", "for"]
    others = [token for token, tag in tagged if tag == "other"]
    assert others == [
        "user@example.com", "@raj", "#launch", "https://x.org/a?b=1", "12/05", ",", "10:30", "50%",
        "{name}", "%s", "%(count)d", "<ENT>", "😀", "👍🏽", "🇮🇳", "!",
    ]  # fmt: skip


def test_devanagari_and_latin_by_script():
    tagger = TokenTagger(languages=["hin_Deva", "eng_Latn"])
    text = "मुझे यह movie बहुत अच्छी लगी, 10/10!"
    assert tagger.tag(text, tagger.languages) == [
        ("मुझे", "hin_Deva"), ("यह", "hin_Deva"), ("movie", "eng_Latn"), ("बहुत", "hin_Deva"),
        ("अच्छी", "hin_Deva"), ("लगी", "hin_Deva"), (",", "other"), ("10/10", "other"), ("!", "other"),
    ]  # fmt: skip


def test_arabic_script_and_latin_by_script():
    tagger = TokenTagger(languages=["urd_Arab", "eng_Latn"])
    assert tags(tagger, "میں نے آج meeting attend کی۔") == ["urd_Arab"] * 3 + ["eng_Latn"] * 2 + ["urd_Arab", "other"]


def test_latin_and_latin_by_lexicon_with_context_smoothing(lexicons):
    tagger = TokenTagger(languages=["eng_Latn", "spa_Latn"], lexicons=lexicons)
    # every word but "a" is in one lexicon only; "a" is in both and English rates it higher
    assert tags(tagger, "I want to go a la playa con my friends") == ["eng_Latn"] * 5 + ["spa_Latn"] * 3 + ["eng_Latn"] * 2
    # "María" and "Pedro" are in neither lexicon: they take the language around them
    assert tags(tagger, "quiero ir con María y Pedro a la playa") == ["spa_Latn"] * 9
    # one lexicon word does not switch a run when the switch penalty outweighs its evidence
    assert (
        tags(TokenTagger(languages=["eng_Latn", "spa_Latn"], lexicons=lexicons, switch_prob=1e-9), "quiero ir a the playa")
        == ["spa_Latn"] * 5
    )


def test_row_languages_from_language_id_and_script_fallback():
    batch = pa.RecordBatch.from_pydict({"id": ["1"], "source": ["t"], "text": ["कल मेरा interview है और मैं बहुत nervous हूँ, Привет"]})
    scored = LanguageIdentifier().process(batch).kept
    assert scored.column("lang").to_pylist() == ["hin_Deva"]
    tagger = TokenTagger(script_languages={"Latn": "eng_Latn"})
    out = tagger.process(scored).kept
    conform(out, extend(extend(load_schema("segment"), LanguageIdentifier().output_fields("segment")), tagger.output_fields("segment")))
    tagged = [(t["token"], t["tag"]) for t in out.column("tokens").to_pylist()[0]]
    assert ("interview", "eng_Latn") in tagged and ("nervous", "eng_Latn") in tagged
    assert ("Привет", "und") in tagged  # Cyrillic: no candidate and no fallback
    assert [tag for token, tag in tagged if token not in ("interview", "nervous", "Привет", ",")] == ["hin_Deva"] * 7


def test_codeswitch_records_name_their_languages():
    batch = pa.RecordBatch.from_pydict(
        {
            "id": ["1"],
            "source": ["synth"],
            "source_id": ["0"],
            "text": ["मैं Paris जा रहा हूँ"],
            "source_text": ["मैं पेरिस जा रहा हूँ"],
            "matrix_lang": ["hin_Deva"],
            "embedded_langs": [["fra_Latn"]],
            "spans": [[]],
            "cmi": [None],
            "m_index": [None],
            "i_index": [None],
            "burstiness": [None],
            "switch_points": [None],
            "switch_fraction": [None],
            "meta": [None],
        },
        schema=load_schema("codeswitch"),
    )
    out = TokenTagger().process(batch).kept
    assert [t["tag"] for t in out.column("tokens").to_pylist()[0]] == ["hin_Deva", "fra_Latn", "hin_Deva", "hin_Deva", "hin_Deva"]


def test_japanese_words_in_kana_and_han():
    tagger = TokenTagger(languages=["jpn_Jpan", "eng_Latn"])
    assert tags(tagger, "日本語 を 話します and English") == ["jpn_Jpan"] * 3 + ["eng_Latn"] * 2


def test_lexicon_files_and_configuration_errors(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("The 3\nthe 1\ncat\n\n", encoding="utf-8")
    assert load_lexicon(good) == {"the": 0.8, "cat": 0.2}  # case-folded, count 1 when absent
    bad = tmp_path / "bad.txt"
    bad.write_text("the many\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.txt:1"):
        load_lexicon(bad)
    with pytest.raises(ValueError, match="missing.txt"):
        TokenTagger(languages=["eng_Latn"], lexicons={"eng_Latn": str(tmp_path / "missing.txt")})
    with pytest.raises(ValueError, match="not written in"):
        TokenTagger(script_languages={"Deva": "eng_Latn"})
    with pytest.raises(ValueError, match="lang column"):
        TokenTagger().process(pa.RecordBatch.from_pydict({"id": ["1"], "source": ["t"], "text": ["x"]}))
    assert [token for token, _ in tokenize("don't stop-it")] == ["don't", "stop-it"]


def test_codeswitch_records_are_tagged_from_their_spans():
    """A same-script insertion (German into English) is the span's language, not a guess from
    the word: tags, and the metrics computed from them, agree with the switcher's own."""
    from corpusforge.codeswitch.lexicon import cldr_lexicon
    from corpusforge.codeswitch.switcher import EntitySwitcher
    from corpusforge.transforms.codemix import CodeMixingMetrics

    switcher = EntitySwitcher(lexicon=cldr_lexicon(languages=["en", "de"]), targets=["deu_Latn"])
    switched = switcher.switch("Russia and India signed a new trade agreement on Monday.")
    assert switched.spans and switched.cmi > 0
    batch = pa.RecordBatch.from_pylist(
        [{"id": "a", "text": switched.text, "matrix_lang": "eng_Latn", "embedded_langs": ["deu_Latn"],
          "spans": [{"start": s.start, "end": s.end, "lang": s.lang} for s in switched.spans]}]
    )  # fmt: skip
    tagged = TokenTagger().process(batch).kept
    tokens = tagged.column("tokens").to_pylist()[0]
    for span in switched.spans:
        inserted = switched.text[span.start : span.end]
        assert {t["tag"] for t in tokens if t["token"] in inserted.split()} == {"deu_Latn"}
    assert {t["tag"] for t in tokens if t["token"] in ("and", "signed")} == {"eng_Latn"}
    metrics = CodeMixingMetrics().process(tagged).kept.to_pylist()[0]
    assert metrics["cmi"] == pytest.approx(switched.cmi) and metrics["switch_points"] == switched.switch_points
