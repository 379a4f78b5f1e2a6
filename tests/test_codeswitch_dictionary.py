"""Dictionary-level switching: MUSE and dictd (FreeDict) dictionaries, ratio, stopwords, stage."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pytest

from corpusforge.codeswitch.dictionary import BilingualDictionary, DictionarySwitcher
from corpusforge.io.dictionaries import read_dictd, read_muse
from corpusforge.schemas import conform, entries_dict, load_schema
from corpusforge.transforms.codeswitch import DictionarySwitchStage

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
FREEDICT_HIN = Path("/usr/share/dictd/freedict-eng-hin.index")


def b64(n: int) -> str:
    digits = ""
    while True:
        digits = B64[n % 64] + digits
        n //= 64
        if not n:
            return digits


def write_dictd(base: Path, entries: list[tuple[list[str], str]]) -> Path:
    """A dictd dictionary as dictfmt writes it: the body (gzip, as .dict.dz) and an index of
    ``key<TAB>offset<TAB>length`` in dictd's base64, one line per key (an entry may have several)."""
    body = b""
    index = ["00databaseshort\tA\tB"]
    body += b"\n"  # the database entry the index line above points at
    for keys, text in entries:
        data = text.encode("utf-8")
        for key in keys:
            index.append(f"{key}\t{b64(len(body))}\t{b64(len(data))}")
        body += data
    base.with_suffix(".index").write_text("\n".join(index) + "\n", encoding="utf-8")
    Path(str(base) + ".dict.dz").write_bytes(gzip.compress(body))
    return base.with_suffix(".index")


HIN_ENTRIES = [
    (["water"], 'water /wˈɔːtə/ <N>\n1. पानी\n      "Drink plenty of water to keep good health"\n'),
    (["country"], 'country /kˈʌntɹi/ <N>\n1. देश\n      "India is my country."\n2. प्रदेश~का~छोटा~खण्ड\n'),
    (["the"], 'the /ðˈə/ <Det>\n1. वह\n      "The girl is playing in the garden."\n'),
    (["a few"], "a few /ɐ fjˈuː/ <Det>\n1. कुछ\n2.  In the party only a few persons were known to me\n"),
    (["cold", "colder"], "cold /kˈəʊld/ <Adj>\n1. ठंडा\n"),
    (["is"], "is /ɪz/ <V>\n1. है\n"),
]


def test_dictd_entries_translations_and_function_words(tmp_path):
    index = write_dictd(tmp_path / "eng-hin", HIN_ENTRIES)
    d = read_dictd(str(index), src_lang="en", tgt_lang="hi")
    assert (d.src_lang, d.tgt_lang) == ("eng_Latn", "hin_Deva")
    assert d.entries == {
        "water": ["पानी"],
        "country": ["देश", "प्रदेश का छोटा खण्ड"],
        "the": ["वह"],
        "a few": ["कुछ"],  # the English example numbered like a sense is not Devanagari
        "cold": ["ठंडा"],  # read once although the index names it twice
        "is": ["है"],
    }
    assert d.function_words == {"the", "a few"}
    same = read_dictd(str(tmp_path / "eng-hin"), src_lang="en", tgt_lang="hi")
    assert same.entries == d.entries


def test_dictd_in_freedict_eng_deu_style(tmp_path):
    entries = [
        (["house"], 'house /hˈaʊs/\nHaus <neut>\n      "build a house"  - ein Haus bauen\n see: {houses}\n\n'),
        (["house"], "house /hˈaʊs/\nGeschlecht <neut>, Familie <fem> [geneal.]\n   Synonym: {family}\n"),
        (["in", "inch"], "inch /ˈɪntʃ/ (in /ˈɪn/)\nZoll <neut>\n         Note: unit of length\n"),
    ]
    d = read_dictd(str(write_dictd(tmp_path / "eng-deu", entries)), src_lang="en", tgt_lang="de")
    assert d.entries == {"house": ["Haus", "Geschlecht", "Familie"], "inch": ["Zoll"]}


def test_dictd_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="need"):
        read_dictd(str(tmp_path / "none"), src_lang="en", tgt_lang="hi")
    index = write_dictd(tmp_path / "bad", HIN_ENTRIES)
    index.write_text("water\tB!\tC\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.index:1: 'B!' is not a dictd base64 number"):
        read_dictd(str(index), src_lang="en", tgt_lang="hi")


def test_muse_pairs(tmp_path):
    path = tmp_path / "en-hi.txt"
    path.write_text("water पानी\nwater जल\ncountry\tदेश\n\n", encoding="utf-8")
    d = read_muse(str(path), src_lang="eng_Latn", tgt_lang="hin_Deva")
    assert d.entries == {"water": ["पानी", "जल"], "country": ["देश"]}
    path.write_text("water पानी जल\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"en-hi.txt:1: expected 'source target'"):
        read_muse(str(path), src_lang="en", tgt_lang="hi")


@pytest.fixture
def dictionary(tmp_path) -> BilingualDictionary:
    return read_dictd(str(write_dictd(tmp_path / "eng-hin", HIN_ENTRIES)), src_lang="en", tgt_lang="hi")


SENTENCE = "The water in the country is cold, and a few say the water is colder."


def test_ratio_and_stopword_policy(dictionary):
    everything = DictionarySwitcher(dictionary=dictionary, ratio=1.0).switch(SENTENCE)
    assert everything.text == "The पानी in the देश है ठंडा, and a few say the पानी है colder."
    assert [(s.original, s.entity_id, s.method) for s in everything.spans][:2] == [
        ("water", "water", "dictionary"),
        ("country", "country", "dictionary"),
    ]
    for span in everything.spans:
        assert everything.text[span.start : span.end] == dictionary.entries[span.entity_id][0]
    with_stopwords = DictionarySwitcher(dictionary=dictionary, ratio=1.0, stopword_policy="switch").switch(SENTENCE)
    assert with_stopwords.text.startswith("वह पानी in वह देश") and "कुछ say" in with_stopwords.text
    listed = DictionarySwitcher(dictionary=dictionary, ratio=1.0, stopwords=["water"], dictionary_stopwords=False).switch(SENTENCE)
    assert listed.text.startswith("वह water in वह देश")
    half = DictionarySwitcher(dictionary=dictionary, ratio=0.5, seed=3)
    assert [len(half.switch(SENTENCE, record_id=str(i)).spans) for i in range(5)] == [3] * 5  # round(0.5 * 6)
    assert len({half.switch(SENTENCE, record_id=str(i)).text for i in range(10)}) > 1


def test_random_translation_choice(dictionary):
    switcher = DictionarySwitcher(dictionary=dictionary, ratio=1.0, translation="random")
    chosen = {switcher.switch("country", record_id=str(i)).text for i in range(20)}
    assert chosen == {"देश", "प्रदेश का छोटा खण्ड"}


def test_stage_emits_codeswitch_records(tmp_path):
    write_dictd(tmp_path / "eng-hin", HIN_ENTRIES)
    with pytest.raises(ValueError, match="nothing"):
        DictionarySwitchStage(dictionary_path=str(tmp_path / "nothing"), format="dictd", src_lang="en", tgt_lang="hi")
    with pytest.raises(ValueError, match="ratio"):
        DictionarySwitchStage(dictionary_path=str(tmp_path / "eng-hin"), format="dictd", src_lang="en", tgt_lang="hi", ratio=2.0)
    stage = DictionarySwitchStage(dictionary_path=str(tmp_path / "eng-hin"), format="dictd", src_lang="en", tgt_lang="hi", ratio=1.0)
    batch = pa.RecordBatch.from_pylist(
        [
            {"id": "1", "source": "web", "text": "cold water", "lang": "eng_Latn"},
            {"id": "2", "source": "web", "text": "nothing known", "lang": "eng_Latn"},
        ],
        schema=load_schema("segment"),
    )
    rows = conform(stage.process(batch).kept, load_schema("codeswitch")).to_pylist()
    assert [(r["source_id"], r["text"], r["embedded_langs"]) for r in rows] == [("1", "ठंडा पानी", ["hin_Deva"])]
    assert rows[0]["cmi"] == 0.0  # every word switched: one language left
    assert entries_dict(rows[0]["meta"])["cs.dictionary"] == "eng-hin"


@pytest.mark.skipif(not FREEDICT_HIN.exists(), reason="dict-freedict-eng-hin is not installed")
def test_real_freedict_eng_hin():
    d = read_dictd(str(FREEDICT_HIN), src_lang="en", tgt_lang="hi")
    assert len(d) > 20_000
    assert d.entries["water"][0] == "पानी" and d.entries["country"][0] == "देश"
    assert {"the", "a", "and", "in"} <= d.function_words
    switched = DictionarySwitcher(dictionary=d, ratio=1.0).switch("The water in this country is cold.")
    assert "पानी" in switched.text and "देश" in switched.text and switched.text.startswith("The ")
