"""The normalize stage: Unicode forms, invisible characters, whitespace, mojibake, Moses rules
per language (always equal to sacremoses itself), rejections, both record kinds."""

from __future__ import annotations

import csv
import re
import unicodedata
from pathlib import Path

import pyarrow as pa
import pytest
from sacremoses import MosesPunctNormalizer

from corpusforge.languages import alpha2
from corpusforge.schemas import load_schema
from corpusforge.transforms.normalize import Normalizer, _Rule

LID_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "lid_dev.tsv"

# Real punctuation, spacing and digit habits of several languages, plus the characters the
# Moses rules look for (NBSP around French quotes and units, curly quotes, full-width forms).
MULTILINGUAL = [
    "He said “hello” — and left…  (quickly) .",
    'He said "hi", then "bye".',
    "It’s Tom‘s car, isn't it? ``Yes''",
    "« Bonjour\u00a0! » dit-il, à 10\u00a0% du prix\u00a0; nº\u00a05, 20\u00a0ºC, 3\u00a0cm.",
    "\u00a0«\u00a0Oui\u00a0»\u00a0, a,\u00a0b\u00a0: c\u00a0?",
    "„Guten Tag“, sagte er, ‚und tschüss‘. Er zahlte 10\u00a0000 Euro.",
    'Él dijo ,"hola".. "y" adiós...".\n<fin>',
    "Cena je 1\u00a0250 Kč – tedy ´´levné´´.",
    "यह एक परीक्षण वाक्य है। क्या आप ठीक हैं? १०\u00a0%",
    "یہ ایک آزمائشی جملہ ہے۔ ٣\u00a0٤ (اردو)",
    "这是一个测试句子，对吗？（是的）１２３％",
    "これはテスト「です」。",
    "Это тестовое предложение – не более .  Правда ?",
    "এটি একটি পরীক্ষা বাক্য। ( বাংলা )",
    "line one\r\nline two ( x ) :\n  line three ;",
    "   ",
    "",
]
LANGS = ["eng_Latn", "fra_Latn", "deu_Latn", "spa_Latn", "ces_Latn", "hin_Deva", "urd_Arab", "zho_Hans", None]


def segments(texts, langs=None) -> pa.RecordBatch:
    langs = langs if langs is not None else [None] * len(texts)
    rows = [{"id": f"r{i}", "source": "test", "text": t, "lang": lang} for i, (t, lang) in enumerate(zip(texts, langs))]
    return pa.RecordBatch.from_pylist(rows, schema=load_schema("segment"))


def bitext(pairs) -> pa.RecordBatch:
    rows = [
        {"id": f"p{i}", "source": "test", "src_text": s, "tgt_text": t, "src_lang": "eng_Latn", "tgt_lang": "hin_Deva", "origin": "corpus"}
        for i, (s, t) in enumerate(pairs)
    ]
    return pa.RecordBatch.from_pylist(rows, schema=load_schema("bitext"))


def moses_only() -> Normalizer:
    return Normalizer(unicode_form=None, moses_punct=True, clean_whitespace=False)


def sacremoses(texts, langs) -> list[str]:
    normalizers = {}
    out = []
    for text, lang in zip(texts, langs):
        code = (alpha2(lang) or lang) if lang else "en"
        moses = normalizers.setdefault(code, MosesPunctNormalizer(lang=code))
        out.append(moses.normalize(text))
    return out


def test_moses_rules_equal_sacremoses_on_a_multilingual_sample():
    texts = [t for t in MULTILINGUAL for _ in LANGS]
    langs = LANGS * len(MULTILINGUAL)
    got = moses_only().normalize_column(pa.array(texts), pa.array(langs, pa.string()))
    assert got.to_pylist() == sacremoses(texts, langs)


@pytest.mark.shared_data
@pytest.mark.skipif(not LID_DEV.exists(), reason="../shared/data/lid_dev.tsv is absent")
def test_moses_rules_equal_sacremoses_on_lid_dev():
    with LID_DEV.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    texts, langs = [r["sentence"] for r in rows], [r["lang"] for r in rows]
    got = moses_only().normalize_column(pa.array(texts), pa.array(langs))
    expected = sacremoses(texts, langs)
    mismatches = [(t, e, g) for t, e, g in zip(texts, expected, got.to_pylist()) if e != g]
    assert not mismatches, mismatches[:5]
    # and the NFC step equals unicodedata on the same real text
    nfc = Normalizer(unicode_form="NFC", moses_punct=False, clean_whitespace=False).normalize_column(pa.array(texts))
    assert nfc.to_pylist() == [unicodedata.normalize("NFC", t) for t in texts]


def test_moses_rules_follow_the_row_language():
    text = 'He paid 10\u00a0000 "euros", then left.'
    got = moses_only().process(segments([text] * 4, ["eng_Latn", "deu_Latn", "hin_Deva", None])).kept
    en, de, hi, unknown = got.column("text").to_pylist()
    assert en == 'He paid 10.000 "euros," then left.'  # English moves the comma inside the quotes
    assert de == 'He paid 10,000 "euros", then left.'  # German: decimal comma, comma stays outside
    assert hi == 'He paid 10.000 "euros", then left.'
    assert unknown == en  # rows without a language use en


def test_rules_re2_cannot_express_run_in_python_with_the_same_result():
    rule = _Rule.of(r"(?<=\d)\s+(?=%)", "")  # lookbehind and lookahead: not RE2
    assert rule.how == "python"
    texts = ["10 %", "x %", "٣\u00a0%"]
    assert rule.apply(pa.array(texts)).to_pylist() == [re.sub(r"(?<=\d)\s+(?=%)", "", t) for t in texts]
    unicode_digit = _Rule.of(r"(\d) %", r"\g<1>%")
    assert unicode_digit.how == "re2"  # \d translated to Python's Unicode digits, not RE2's ASCII
    assert unicode_digit.apply(pa.array(["१ %", "1 %"])).to_pylist() == ["१%", "1%"]


def test_nfc_and_nfkc_on_real_examples():
    texts = [
        "ﬁnancial",  # Latin ligature: NFKC only
        "１２３ ＡＢＣ",  # full-width digits and letters: NFKC only
        "Cafe\u0301 Ångstro\u0308m",  # decomposed Latin accents compose in both
        "\u0928\u093c",  # NA + NUKTA composes to U+0929 NNNA
        "\u0958",  # QA is a composition exclusion: both forms decompose it
        "x\u00b2",  # superscript two: NFKC makes it a plain digit
    ]
    nfc = Normalizer(unicode_form="NFC", moses_punct=False).normalize_column(pa.array(texts)).to_pylist()
    nfkc = Normalizer(unicode_form="NFKC", moses_punct=False).normalize_column(pa.array(texts)).to_pylist()
    assert nfc == [unicodedata.normalize("NFC", t) for t in texts]
    assert nfkc == [unicodedata.normalize("NFKC", t) for t in texts]
    assert nfc[:3] == ["ﬁnancial", "１２３ ＡＢＣ", "Café Ångström"]
    assert nfkc[:2] == ["financial", "123 ABC"]
    assert nfc[3] == "\u0929" and nfc[4] == "\u0915\u093c" and nfkc[5] == "x2"
    untouched = Normalizer(unicode_form=None, moses_punct=False).normalize_text("Cafe\u0301")
    assert untouched == "Cafe\u0301"


def test_control_and_invisible_characters_removed_but_zwj_zwnj_kept():
    hindi = "क्\u200dष"  # ZWJ: half-form conjunct
    persian = "می\u200cخواهم"  # ZWNJ: the non-joining space of Persian
    noisy = f"\ufeff{hindi}\x07 \u200b{persian}\x00 a\u00adb \u200ex\u202c\x1b"
    assert Normalizer().normalize_text(noisy) == f"{hindi} {persian} ab x"
    assert Normalizer().normalize_text("👩\u200d💻") == "👩\u200d💻"


def test_exotic_spaces_and_whitespace_runs():
    n = Normalizer(moses_punct=False)
    assert n.normalize_text("a\u00a0b\u2003c\u3000d\u202fe\u2009f") == "a b c d e f"
    assert n.normalize_text("  many \t\t spaces\u00a0\u00a0here  ") == "many spaces here"
    assert n.normalize_text("para one  \r\n  para two\rthree\u2028four\n") == "para one\npara two\nthree\nfour"
    assert n.normalize_text("tab\tseparated") == "tab separated"
    with_moses = Normalizer()  # a lone \r is a line break here too, although Moses deletes \r
    assert with_moses.normalize_text("one\rtwo") == "one\ntwo"


def test_mojibake_repaired_only_when_enabled_and_nothing_else_changes():
    assert Normalizer().normalize_text("CafÃ©") == "CafÃ©"
    fixer = Normalizer(fix_mojibake=True, unicode_form=None, moses_punct=False, clean_whitespace=False)
    assert fixer.normalize_text("CafÃ©") == "Café"
    assert fixer.normalize_text("â€œquotedâ€\x9d") == "“quoted”"
    # no quote uncurling, ligature or width folding, HTML unescaping or normal form from ftfy
    untouched = "“ﬁne” ＡＢ &amp; e\u0301"
    assert fixer.normalize_text(untouched) == untouched


def test_empty_after_normalize_is_rejected_with_the_reason():
    batch = segments(["Good text.", "\u200b \x07\u00a0", "", "  \t  "])
    split = Normalizer().process(batch)
    assert split.kept.column("text").to_pylist() == ["Good text."]
    assert split.kept.schema == batch.schema  # adds no columns
    rejected = split.rejected.to_pylist()
    assert [r["id"] for r in rejected] == ["r1", "r2", "r3"]
    assert {r["reason"] for r in rejected} == {"empty_after_normalize"}
    assert {r["stage"] for r in rejected} == {"normalize"} and {r["kind"] for r in rejected} == {"segment"}
    assert rejected[0]["preview"] == "\u200b \x07\u00a0"  # the input as it came, not the emptied text


def test_too_long_is_rejected_after_normalisation():
    split = Normalizer(max_chars=5).process(segments(["12345", "  12345  ", "123456"]))
    assert split.kept.column("text").to_pylist() == ["12345", "12345"]
    (row,) = split.rejected.to_pylist()
    assert row["id"] == "r2" and row["reason"] == "too_long" and "max_chars=5" in row["detail"]


def test_bitext_normalises_both_sides_and_rejects_a_pair_with_one_side_emptied():
    batch = bitext([("“Hello”  world", "नमस्ते\u00a0दुनिया"), ("Only source", "\u200b\u200b"), ("\x07", "केवल लक्ष्य")])
    split = Normalizer().process(batch)
    assert split.kept.to_pylist()[0] == {
        **batch.to_pylist()[0],
        "src_text": '"Hello" world',
        "tgt_text": "नमस्ते दुनिया",
    }
    rejected = split.rejected.to_pylist()
    assert [(r["id"], r["reason"], r["kind"]) for r in rejected] == [
        ("p1", "empty_after_normalize", "bitext"),
        ("p2", "empty_after_normalize", "bitext"),
    ]
    assert "tgt_text" in rejected[0]["detail"] and "src_text" in rejected[1]["detail"]


@pytest.mark.parametrize("batch", [segments([]), bitext([])], ids=["segment", "bitext"])
def test_empty_batch(batch):
    split = Normalizer(fix_mojibake=True, max_chars=10).process(batch)
    assert split.kept.num_rows == 0 and split.rejected.num_rows == 0
    assert split.kept.schema == batch.schema


def test_constructor_validates_and_describe_names_the_options():
    with pytest.raises(ValueError, match="max_chars"):
        Normalizer(max_chars=0)
    with pytest.raises(ValueError, match="unicode_form"):
        Normalizer(unicode_form="NFD")
    described = Normalizer(unicode_form="NFKC", max_chars=100).describe()
    assert described["name"] == "normalize" and described["version"]
    assert described["unicode_form"] == "NFKC" and described["max_chars"] == 100 and "sacremoses" in described
