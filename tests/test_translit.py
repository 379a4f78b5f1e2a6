"""Transliteration: exact round trips, selective conversion that keeps every other byte, informal
romanisation rules, language-aware sources, pairs as bitext, and refusal of unsupported pairs."""

from __future__ import annotations

import csv
import inspect
import pickle
import unicodedata
from pathlib import Path

import pyarrow as pa
import pytest
import regex

from corpusforge.config import ConfigError, construct
from corpusforge.schemas import load_schema
from corpusforge.transforms.translit import TransliterateStage, TransliterationPairs
from corpusforge.translit import BRAHMIC, ROMAN, TransliterationError, Transliterator, run_pattern
from corpusforge.translit.romanize import InformalRomanizer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEVA_RUN = regex.compile(r"[\p{sc=Deva}\u200c\u200d]+")

# Hindi words written for these tests: nukta letters (precomposed in the source where NFC keeps
# them decomposed), conjuncts, ऋ, ज्ञ/क्ष, the English-loan vowel ऑ, and the letter sequences
# ISO 15919 must separate with ":" (कई/कइ, भाइयों, क्ह in पुक्हा).
WORDS = (
    "यह फिल्म बहुत अच्छी थी वक़्त ज़िंदगी फ़िल्म क़ीमत लड़का पढ़ना ग़लती ख़ुश कृष्ण ज्ञान क्षमा संयुक्त "
    "हिन्दी हिंदी हाँ नहीं मैं गई कई कइ भाइयों आइए बउआ पुक्हा सम्बन्ध उपलब्ध ऑफ़िस कॉलेज दोनों "
    "विकास वह बदलना स्वास्थ्य"
).split()


def segments(rows: list[dict]) -> pa.RecordBatch:
    base = [{"id": str(i), "source": "test", **row} for i, row in enumerate(rows)]
    return pa.RecordBatch.from_pylist(base)


def lid_dev(langs: tuple[str, ...]) -> list[tuple[str, str]]:
    path = DATA / "lid_dev.tsv"
    if not path.exists():
        pytest.skip(f"{path} absent")
    with path.open(encoding="utf-8", newline="") as f:
        return [(r["lang"], r["sentence"]) for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if r["lang"] in langs]


def hindi_vocabulary() -> list[str]:
    return sorted({w for _, s in lid_dev(("hi",)) for w in DEVA_RUN.findall(s)})


def round_trip_failures(words, via: str) -> list[tuple[str, str, str]]:
    """Words that do not come back exactly; romanisations drop ZWJ/ZWNJ (invisible joiners
    that only shape Brahmic conjuncts), so those are compared without them."""
    there, back = Transliterator(source="Deva", target=via), Transliterator(source=via, target="Deva")
    joiners = str.maketrans("", "", "\u200c\u200d") if there.target.roman else {}
    failures = []
    for word in words:
        middle = there.word(word)
        if back.word(middle) != unicodedata.normalize("NFC", word).translate(joiners):
            failures.append((word, middle, back.word(middle)))
    return failures


def test_iso_round_trip_is_exact_on_written_words():
    assert round_trip_failures(WORDS, "iso") == []
    iso = Transliterator(source="Deva", target="iso")
    assert iso.word("कई") == "kaī" and iso.word("कइ") == "ka:i" and iso.word("पुक्हा") == "puk:hā"


def test_iso_round_trip_is_exact_on_lid_dev_hindi():
    vocabulary = hindi_vocabulary()
    assert len(vocabulary) > 200
    assert round_trip_failures(vocabulary, "iso") == []


def bengali_round_trip(words) -> tuple[list, list]:
    """(failures among words Bengali can write, words set aside because it cannot)."""
    set_aside = [w for w in words if set(w) & set("ऑॉॅऍ")]
    return round_trip_failures([w for w in words if w not in set_aside], "bengali"), set_aside


def test_bengali_round_trip_is_exact_where_bengali_has_the_letters():
    failures, set_aside = bengali_round_trip(WORDS)
    assert failures == []
    assert set_aside == ["ऑफ़िस", "कॉलेज"]
    bengali = Transliterator(source="Deva", target="Beng")
    assert bengali.text("बहुत वह") == "বহুত ৱহ"  # ब and व stay apart (sanscript writes ব for both)


def test_bengali_round_trip_is_exact_on_lid_dev_hindi():
    failures, set_aside = bengali_round_trip(hindi_vocabulary())
    assert failures == []
    assert len(set_aside) < 10


@pytest.mark.parametrize("target", [*list(BRAHMIC.values())[1:], *ROMAN, "informal"])
def test_no_devanagari_letter_is_left_in_the_output(target):
    letters = [chr(cp) for cp in range(0x0900, 0x0980) if regex.match(r"\p{sc=Deva}", chr(cp)) and unicodedata.category(chr(cp))[0] in "LM"]
    words = [("क" + c) if unicodedata.category(c)[0] == "M" else c for c in letters]
    words += [unicodedata.normalize("NFD", w) for w in words]
    engine = Transliterator(source="Deva", target=target)
    left = [w for w in words if DEVA_RUN.search(engine.text(w).replace("\u200c", "").replace("\u200d", ""))]
    assert left == []


def test_other_brahmic_sources_leave_no_source_letters_on_real_text():
    rows = lid_dev(("bn", "pa", "ta", "te", "kn", "ml", "mr", "ne"))
    by_lang: dict[str, list[str]] = {}
    for lang, sentence in rows:
        by_lang.setdefault(lang, []).append(sentence)
    for lang, sentences in by_lang.items():
        engine = Transliterator(source=lang, target="iso")
        script = engine.source.script
        for out in engine.texts(sentences):
            assert not regex.search(rf"[\p{{sc={script}}}&&[\p{{L}}\p{{M}}]]", out, flags=regex.V1), (lang, out)


def test_plain_tamil_consonants_read_as_plain():
    assert Transliterator(source="Taml", target="Deva").text("தமிழ் பட்டம்") == "तमिऴ् पट्टम्"


def test_batch_conversion_matches_word_by_word():
    # Words go through sanscript joined by newlines; that must not change any word.
    for target in ("iso", "iast", "itrans", "velthuis", "wx", "bengali", "tamil", "malayalam", "informal"):
        engine = Transliterator(source="Deva", target=target)
        assert engine._convert(list(WORDS)) == [engine._convert([w])[0] for w in WORDS], target
    for source in ("iso", "itrans", "velthuis", "hk"):
        words = Transliterator(source="Deva", target=source).texts(list(WORDS))
        back = Transliterator(source=source, target="Deva")
        assert back._convert(words) == [back._convert([w])[0] for w in words], source


def test_a_small_cache_gives_the_same_output_and_stays_small():
    text = " ".join(WORDS * 3)
    small = Transliterator(source="Deva", target="iso", cache_size=4)
    assert small.text(text) == Transliterator(source="Deva", target="iso").text(text)
    assert len(small._cache) <= 4


def test_informal_romanisation_follows_the_documented_rules():
    hindi = Transliterator(source="hin_Deva", target="informal")
    assert hindi.text("यह फिल्म बहुत अच्छी थी।") == "yah film bahut acchi thi."
    cases = {
        "कमल": "kamal",
        "अपना": "apna",
        "सरकार": "sarkar",
        "समझना": "samajhna",
        "बदलना": "badalna",
        "ज़िंदगी": "zindagi",
        "मित्र": "mitra",
        "शब्द": "shabd",
        "न": "na",
        "लड़का": "ladka",
        "ज्ञान": "gyan",
        "संबंध": "sambandh",
        "नहीं": "nahin",
        "क़ीमत": "qimat",
        "बच्चा": "baccha",
    }
    assert {w: hindi.word(w) for w in cases} == cases
    assert InformalRomanizer(language="mar").word("ज्ञानेश्वर") == "dnyaneshvar"
    assert InformalRomanizer(language="npi").word("गर्छ") == "garchha"  # Nepali keeps it after clusters
    assert InformalRomanizer(language=None).word("कमल") == "kamala"  # no deletion outside SCHWA_LANGUAGES
    assert Transliterator(source="ben_Beng", target="informal").text("বাংলাদেশ") == "bangladesh"
    assert Transliterator(source="mal_Mlym", target="informal").text("മലയാളം") == "malayalam"


def test_informal_beats_stripped_iso_on_the_held_back_list():
    path = Path(__file__).resolve().parents[1] / "corpusforge" / "data" / "translit_eval.tsv"
    assert path.stat().st_size < 100_000
    with path.open(encoding="utf-8") as f:
        header = f.readline()
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert "CLDR" in header and "License" in header
    hindi = [r for r in rows if r["lang"] == "hin_Deva" and r["origin"] == "south_asian"]
    assert len(hindi) >= 30
    informal = Transliterator(source="hin_Deva", target="informal")
    iso = Transliterator(source="hin_Deva", target="iso")

    def plain(s: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c))

    hits = sum(informal.word(r["native"]) == r["romanized"].lower() for r in hindi)
    iso_hits = sum(plain(iso.word(r["native"])) == r["romanized"].lower() for r in hindi)
    assert hits > iso_hits


def test_script_mode_changes_only_runs_of_the_source_script():
    stage = TransliterateStage(target="informal", source="hin_Deva", mode="script")
    text = "मैं office जा रहा हूँ 😊 (2024) — বাংলা ok।  दो  spaces"
    out = stage.process(segments([{"text": text, "lang": "eng_Latn"}])).kept.column("text_translit")[0].as_py()
    assert out == "main office ja raha hun 😊 (2024) — বাংলা ok।  do  spaces"


def test_script_mode_keeps_every_other_byte_on_real_mixed_text():
    path = DATA / "mixed_script_dev.tsv"
    if not path.exists():
        pytest.skip(f"{path} absent")
    with path.open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if r[0] in ("hi", "mr", "ne", "bn", "ml", "ta", "kn")]
    assert rows
    for lang, text in rows:
        stage = TransliterateStage(target="iso", source=lang, mode="script")
        out = stage.process(segments([{"text": text, "lang": None}])).kept.column("text_translit")[0].as_py()
        pieces = run_pattern(stage.source.scheme).split(text)
        engine = Transliterator(source=lang, target="iso")
        pieces[1::2] = [engine.word(w) for w in pieces[1::2]]
        assert out == "".join(pieces)
        assert all(word in out for word in regex.findall(r"[A-Za-z0-9]+", text))


def test_tag_mode_changes_only_tokens_tagged_with_the_language():
    text = "मैं फ़ाइल जा जा रहा हूँ, ok?"
    tokens = [
        {"token": "मैं", "tag": "hin_Deva"},
        {"token": "फ़ाइल", "tag": "eng_Deva"},  # a loanword tagged English keeps its script
        {"token": "जा", "tag": "hi"},  # any code of the language matches
        {"token": "जा", "tag": "und"},  # same word, not tagged Hindi: stays
        {"token": "रहा", "tag": "hin_Deva"},
        {"token": "हूँ", "tag": "hin_Deva"},
        {"token": ",", "tag": "und"},
        {"token": "ok", "tag": "eng_Latn"},
    ]
    stage = TransliterateStage(target="informal", mode="tag", tag="hi")
    split = stage.process(segments([{"text": text, "tokens": tokens}]))
    assert split.kept.column("text_translit").to_pylist() == ["main फ़ाइल ja जा raha hun, ok?"]


def test_tag_mode_rejects_rows_whose_tokens_do_not_fit_the_text():
    rows = [
        {"text": "यह ठीक है", "tokens": [{"token": "यह", "tag": "hi"}, {"token": "है", "tag": "hi"}]},
        {"text": "यह ठीक है", "tokens": [{"token": "वह", "tag": "hi"}]},
        {"text": "कुछ नहीं", "tokens": None},
    ]
    split = TransliterateStage(target="iso", mode="tag", tag="hin_Deva").process(segments(rows))
    assert split.kept.column("text_translit").to_pylist() == ["yaha ठीक hai", "कुछ नहीं"]
    assert split.rejected.column("reason").to_pylist() == ["tokens_misaligned"]
    assert split.rejected.column("id").to_pylist() == ["1"]
    assert split.kept.num_rows + split.rejected.num_rows == len(rows)


def test_segment_mode_reads_the_source_from_lang_and_script_columns():
    rows = [
        {"text": "यह ठीक है।", "lang": "hin_Deva", "script": None},
        {"text": "একটি বৈধ IPv4 ঠিকানা দিন।", "lang": "ben_Beng", "script": "Beng"},
        {"text": "یہ ٹھیک ہے", "lang": "urd_Arab", "script": "Arab"},
        {"text": "yah theek hai", "lang": "hin_Deva", "script": "Latn"},  # the text decides
        {"text": "ঠিক আছে", "lang": None, "script": None},
    ]
    split = TransliterateStage(target="Deva").process(segments(rows))
    urdu = Transliterator(source="urd_Arab", target="Deva").text(rows[2]["text"])
    assert split.kept.column("text_translit").to_pylist() == ["यह ठीक है।", "एकटि बैध IPv4 ठिकाना दिन।", urdu, None, None]
    assert not regex.search(r"\p{sc=Arab}", urdu) and regex.search(r"\p{sc=Deva}", urdu)
    iso = TransliterateStage(target="iso", source="Beng").process(segments(rows)).kept.column("text_translit")
    assert iso.to_pylist()[1:] == ["ēkaṭi baidha IPv4 ṭhikānā dina।", None, None, "ṭhika āchē"]


def test_in_place_keeps_the_original():
    rows = [{"text": "यह ठीक है", "lang": "hin_Deva"}, {"text": "fine", "lang": "eng_Latn"}]
    stage = TransliterateStage(target="informal", in_place=True)
    kept = stage.process(segments(rows)).kept
    assert kept.column("text").to_pylist() == ["yah thik hai", "fine"]
    assert kept.column("text_original").to_pylist() == ["यह ठीक है", "fine"]
    assert [f.name for f in stage.output_fields("segment")] == ["text_original"]


def test_pairs_are_bitext_records_counted_as_created():
    rows = [
        {"text": "यह ठीक है", "lang": "hin_Deva"},
        {"text": "fine", "lang": "eng_Latn"},
        {"text": "१२३", "lang": "hin_Deva"},
    ]
    translit = TransliterateStage(target="informal").process(segments(rows)).kept
    pairs_stage = TransliterationPairs(target="informal")
    split = pairs_stage.process(translit)
    assert split.kept.schema.equals(load_schema("bitext"), check_metadata=False)
    pair = split.kept.to_pylist()
    assert [(p["src_text"], p["tgt_text"]) for p in pair] == [("यह ठीक है", "yah thik hai"), ("१२३", "123")]
    assert {p["origin"] for p in pair} == {"transliteration"}
    assert [p["source_id"] for p in pair] == ["0", "2"]
    assert pair[0]["src_lang"] == "hin_Deva" and pair[0]["tgt_lang"] == "hin_Latn"
    assert split.kept.column("id").to_pylist() == pairs_stage.process(translit).kept.column("id").to_pylist()
    assert pairs_stage.tally(split).total("created") == 2


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"target": "Cyrl"}, "nothing here writes"),
        ({"target": "iso", "source": "rus_Cyrl"}, "only be romanised with target 'uroman'"),
        ({"target": "Deva", "source": "fas_Arab"}, "only be romanised with target 'uroman'"),
        ({"target": "uroman", "source": "iast"}, "already Latin"),
        ({"target": "iso", "source": "uroman"}, "target only"),
        ({"target": "iso", "mode": "words", "source": "Deva"}, "needs words_file"),
        ({"target": "iso", "mode": "words", "word_class": "x"}, "give source"),
        ({"target": "iso", "source": "Deva", "mode": "words", "words_file": "/nonexistent/words.txt"}, "not a file"),
        ({"target": "Latn"}, "romanisation"),
        ({"target": "iso", "source": "informal"}, "target only"),
        ({"target": "iso", "source": "iso"}, "both"),
        ({"target": "iso", "mode": "script"}, "give source"),
        ({"target": "iso", "mode": "tag"}, "needs tag"),
        ({"target": "xx-nonsense"}, "cannot read"),
        ({"target": "informal", "source": "iast"}, "Brahmic source"),
    ],
)
def test_unsupported_pairs_fail_when_the_stage_is_built(kwargs, message):
    with pytest.raises(TransliterationError, match=message):
        TransliterateStage(**kwargs)


def test_constructor_is_typed_for_recipe_validation_and_picklable():
    for name, parameter in inspect.signature(TransliterateStage.__init__).parameters.items():
        if name != "self":
            assert parameter.kind is parameter.KEYWORD_ONLY and parameter.annotation is not inspect.Parameter.empty, name
    assert construct(TransliterateStage, {"target": "iso", "mode": "script", "source": "Deva"}, "stages.translit").mode == "script"
    with pytest.raises(ConfigError, match="mode"):
        construct(TransliterateStage, {"target": "iso", "mode": "sentence"}, "stages.translit")
    with pytest.raises(ConfigError, match="nothing here writes"):
        construct(TransliterateStage, {"target": "Thai"}, "stages.translit")
    stage = TransliterateStage(target="iso", source="Deva", mode="script")
    batch = segments([{"text": "यह ठीक है", "lang": "hin_Deva"}])
    clone = pickle.loads(pickle.dumps(stage))
    clone.setup()
    assert clone.process(batch).kept.equals(stage.process(batch).kept)
    assert stage.describe()["indic_transliteration"]
