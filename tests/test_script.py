"""Script detection: the code point table agrees with Unicode (through ``regex``), and the
per-row dominant script, shares and mixed flag are what a reader of the text would say."""

import csv
from pathlib import Path

import pyarrow as pa
import pytest
import regex

from corpusforge.languages import code_for_label, script_compatible
from corpusforge.schemas import conform, entries_dict, extend, load_schema
from corpusforge.scripts import script_profile, script_table
from corpusforge.transforms.script import ScriptDetector

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def profile(texts, **options):
    p = script_profile(pa.array(texts, pa.string()), **options)
    return p.script.to_pylist(), [entries_dict(x) for x in p.props.to_pylist()], p.mixed.to_pylist()


def test_table_agrees_with_unicode_script_property():
    table = script_table()
    checked, unknown = 0, 0
    for cp in list(range(0, 0x30000, 53)) + [0x0915, 0x0627, 0x4E00, 0x3042, 0x30A2, 0xAC00, 0x1F600, 0xE0041]:
        if 0xD800 <= cp < 0xE000:
            continue
        code = table.codes[table.lookup[cp]]
        checked += 1
        if code == "Zzzz" and not regex.match(r"\p{sc=Zzzz}", chr(cp)):
            unknown += 1  # a script newer than the IANA registry langcodes ships: not counted
            continue
        assert regex.match(rf"\p{{sc={code}}}", chr(cp)), (hex(cp), code)
    assert checked > 3000 and unknown < 0.01 * checked


@pytest.mark.parametrize(
    "text, script",
    [
        ("नमस्ते दुनिया", "Deva"),
        ("hello world", "Latn"),
        ("مرحبا بالعالم", "Arab"),
        ("Привет, мир", "Cyrl"),
        ("வணக்கம் உலகம்", "Taml"),
        ("这是一个简单的测试", "Hans"),
        ("這是一個簡單的測試", "Hant"),
        ("日本語を話します", "Jpan"),  # Han + Hiragana is one writing system
        ("한국어 漢字 공부", "Hang"),  # Hangul with Hanja
        ("123, 456!", "Zyyy"),  # digits and punctuation count for no script
        ("", "Zyyy"),
    ],
)
def test_dominant_script(text, script):
    assert profile([text])[0] == [script]


def test_props_are_shares_of_letters_largest_first_and_mixed_flag_uses_the_threshold():
    scripts, props, mixed = profile(["একটি বৈধ IPv4 ঠিকানা দিন।", "日本語を話します", "Total: 42 €"])
    # 16 Bengali letters and marks, 3 Latin letters (IPv4: the digit and । are Common)
    assert scripts[0] == "Beng"
    assert list(props[0]) == ["Beng", "Latn"]
    assert props[0]["Latn"] == pytest.approx(3 / 19)
    assert mixed == [True, False, False]  # Han + kana is not mixed; Latin + Common is not
    assert props[1] == {"Hani": pytest.approx(0.5), "Hira": pytest.approx(0.5)}
    # one Latin word of 3 letters in 60 letters of Devanagari: 5 % flags it, 10 % does not
    text = "क" * 57 + " abc"
    assert profile([text])[2] == [True]
    assert profile([text], mixed_threshold=0.1)[2] == [False]


def test_nulls_slices_and_large_strings():
    arr = pa.array(["x", None, "नमस्ते", "abc"], pa.large_string()).slice(1)
    p = script_profile(arr)
    assert p.script.to_pylist() == ["Zyyy", "Deva", "Latn"]
    assert p.props.to_pylist()[0] == []
    assert script_profile(pa.array([], pa.string())).script.to_pylist() == []


def test_stage_adds_declared_columns_to_segments_and_both_sides_of_bitext():
    stage = ScriptDetector()
    seg = pa.RecordBatch.from_pydict({"id": ["1"], "source": ["s"], "text": ["नमस्ते world"]})
    out = stage.process(seg).kept
    schema = extend(load_schema("segment"), stage.output_fields("segment"))
    assert conform(out, schema).column("script").to_pylist() == ["Deva"]
    bitext = pa.RecordBatch.from_pydict({"id": ["1"], "source": ["s"], "src_text": ["hello"], "tgt_text": ["नमस्ते"], "origin": ["corpus"]})
    out = stage.process(bitext).kept
    conform(out, extend(load_schema("bitext"), stage.output_fields("bitext")))
    assert out.column("src_script").to_pylist() == ["Latn"]
    assert out.column("tgt_script").to_pylist() == ["Deva"]
    with pytest.raises(ValueError, match="mixed_threshold"):
        ScriptDetector(mixed_threshold=0.0)


def read_tsv(name, fieldnames=None):
    with (SHARED / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, fieldnames=fieldnames, delimiter="\t", quoting=csv.QUOTE_NONE))


@pytest.mark.shared_data
@pytest.mark.skipif(not (SHARED / "mixed_script_dev.tsv").is_file(), reason="../shared/data is absent")
def test_real_mixed_script_messages_are_flagged():
    rows = read_tsv("mixed_script_dev.tsv", fieldnames=["lang", "sentence"])  # no header line
    scripts, props, mixed = profile([r["sentence"] for r in rows])
    assert sum(mixed) / len(rows) >= 0.9
    # both writing systems are seen: the translation's own script and the embedded Latin
    for row, shares in zip(rows, props):
        code = code_for_label(row["lang"])  # zh -> zho_Hans, ja -> jpn_Jpan, ko -> kor_Hang
        assert any(script_compatible(code, script) for script in shares) and "Latn" in shares, row


@pytest.mark.shared_data
@pytest.mark.skipif(not (SHARED / "lid_dev.tsv").is_file(), reason="../shared/data is absent")
def test_simplified_and_traditional_chinese_are_told_apart():
    rows = [r for r in read_tsv("lid_dev.tsv") if r["source"] in ("django:zh_Hans", "django:zh_Hant")]
    scripts = profile([r["sentence"] for r in rows])[0]
    decided = [(s, r["source"][-4:]) for s, r in zip(scripts, rows) if s in ("Hans", "Hant")]
    assert len(decided) >= 0.9 * len(rows)
    assert sum(s == gold for s, gold in decided) >= 0.97 * len(decided)
