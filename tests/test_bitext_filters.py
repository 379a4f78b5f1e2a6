"""Parallel-data filters on a small English-Hindi corpus built with one faulty pair per check:
each bad pair is rejected with its reason, the good pairs are kept."""

import pyarrow as pa
import pytest

from corpusforge.schemas import conform, extend, load_schema
from corpusforge.transforms.bitext_filters import BitextFilter, BitextScorer
from corpusforge.transforms.lid import LanguageIdentifier

HI = "hin_Deva"
CORPUS = [
    # id, source side, target side, expected reason (None: kept)
    ("good-1", "Please enter a valid email address.", "कृपया एक मान्य ईमेल पता दर्ज करें।", None),
    ("good-2", "This field is required and cannot be left empty.", "यह फ़ील्ड आवश्यक है और इसे खाली नहीं छोड़ा जा सकता।", None),
    (
        "good-3",
        "The password is too short. It must contain at least eight characters.",
        "पासवर्ड बहुत छोटा है। इसमें कम से कम आठ अक्षर होने चाहिए।",
        None,
    ),
    ("good-4", "Your session has expired, please log in again.", "आपका सत्र समाप्त हो गया है, कृपया फिर से लॉग इन करें।", None),
    ("german", "Please enter a valid email address.", "Bitte geben Sie eine gültige E-Mail-Adresse ein.", "tgt_lang_mismatch"),
    ("urdu", "Select a valid choice.", "چنانچہ ایک درست انتخاب منتخب کریں۔", "tgt_lang_mismatch"),
    ("empty", "Your session has expired, please log in again.", "   ", "empty_side"),
    (
        "identical",
        "Are you sure you want to delete the selected items?",
        "Are you sure you want to delete  the selected items? ",
        "identical_sides",
    ),
    ("too-long", "Delete", "आज वेबसाइट के साथ कुछ अच्छा समय बिताने के लिए धन्यवाद।", "length_ratio"),
    ("swapped", "आपका सत्र समाप्त हो गया है, कृपया फिर से लॉग इन करें।", "Your session has expired, please log in again.", "src_lang_mismatch"),
]


def bitext(rows, src_lang="eng_Latn", tgt_lang=HI):
    return pa.RecordBatch.from_pydict(
        {
            "id": [r[0] for r in rows],
            "source": ["test"] * len(rows),
            "src_text": [r[1] for r in rows],
            "tgt_text": [r[2] for r in rows],
            "src_lang": [src_lang] * len(rows),
            "tgt_lang": [tgt_lang] * len(rows),
            "origin": ["corpus"] * len(rows),
        }
    )


@pytest.fixture(scope="module")
def scored():
    """The corpus after language ID (declared languages replaced by detected ones) and scoring."""
    lid, scorer = LanguageIdentifier(), BitextScorer()
    batch = scorer.process(lid.process(bitext(CORPUS)).kept).kept
    conform(batch, extend(load_schema("bitext"), lid.output_fields("bitext") + scorer.output_fields("bitext")))
    return batch


def test_each_faulty_pair_is_rejected_with_its_reason_and_the_rest_kept(scored):
    split = BitextFilter(src_languages=["eng_Latn"], tgt_languages=[HI]).process(scored)
    expected = {pair_id: reason for pair_id, _, _, reason in CORPUS}
    assert split.kept.column("id").to_pylist() == [i for i, r in expected.items() if r is None]
    got = {r["id"]: r["reason"] for r in split.rejected.to_pylist()}
    assert got == {i: r for i, r in expected.items() if r is not None}
    assert split.kept.num_rows + split.rejected.num_rows == len(CORPUS)
    details = {r["id"]: r["detail"] for r in split.rejected.to_pylist()}
    assert "deu_Latn is not one of" in details["german"]
    assert "no language detected" in details["empty"]  # detail lists every failed check, not only the first
    assert set(split.rejected.column("stage").to_pylist()) == {"bitext_filter"}


def test_script_mismatch_when_the_language_is_right_but_the_script_is_not():
    pairs = [("1", "This field is required.", "這個欄位是必填的。請輸入一個有效的電子郵件地址。", None)]
    batch = BitextScorer().process(LanguageIdentifier().process(bitext(pairs, tgt_lang="zho_Hans")).kept).kept
    assert batch.column("tgt_lang").to_pylist() == ["zho_Hant"]
    split = BitextFilter(tgt_languages=["zho_Hans"]).process(batch)
    assert split.rejected.column("reason").to_pylist() == ["script_mismatch"]
    assert BitextFilter(tgt_languages=["zho_Hans", "zho_Hant"]).process(batch).rejected.num_rows == 0


def test_declared_languages_kept_by_fill_are_checked_against_the_detection():
    pairs = [CORPUS[0], CORPUS[4]]
    lid = LanguageIdentifier(lang_policy="fill")
    batch = BitextScorer().process(lid.process(bitext(pairs)).kept).kept
    assert batch.column("tgt_lang").to_pylist() == [HI, HI]  # the declared value stays
    split = BitextFilter().process(batch)  # no allowed lists: the declared languages are the reference
    assert split.kept.column("id").to_pylist() == ["good-1"]
    assert split.rejected.column("reason").to_pylist() == ["tgt_lang_mismatch"]


def test_thresholds_per_language(scored):
    good = scored.filter(pa.array([r[3] is None for r in CORPUS]))
    en_scores = good.column("src_lang_score").to_pylist()
    cut = sorted(en_scores)[1]  # above the weakest English side, at the next one
    split = BitextFilter(thresholds={"en": cut}).process(good)
    assert split.rejected.column("reason").to_pylist() == ["src_lang_low_score"]
    assert split.rejected.column("id").to_pylist() == [good.column("id")[en_scores.index(min(en_scores))].as_py()]


def test_scorer_ratios_in_characters_and_bytes():
    batch = pa.RecordBatch.from_pydict(
        {
            "id": ["a", "b", "c"],
            "source": ["t"] * 3,
            "src_text": ["abc", "éé", "x"],
            "tgt_text": ["abcdef", "ee", ""],
            "origin": ["corpus"] * 3,
        }
    )
    out = BitextScorer().process(batch).kept
    assert out.column("char_ratio").to_pylist() == [0.5, 1.0, None]
    assert out.column("byte_ratio").to_pylist() == [0.5, 2.0, None]  # é is two bytes
    split = BitextFilter(check_languages=False, check_scripts=False, min_char_ratio=None, max_char_ratio=None, max_byte_ratio=1.5).process(
        out
    )
    assert dict(zip(split.rejected.column("id").to_pylist(), split.rejected.column("reason").to_pylist())) == {
        "b": "length_ratio",
        "c": "empty_side",
    }


def test_configuration_errors():
    with pytest.raises(ValueError, match="min_char_ratio"):
        BitextFilter(min_char_ratio=3.0, max_char_ratio=2.0)
    with pytest.raises(ValueError, match="src_languages"):
        BitextFilter(src_languages=[])
    with pytest.raises(ValueError, match="BitextScorer"):
        BitextFilter(check_languages=False).process(bitext(CORPUS[:1]))
    scored_only = BitextScorer().process(bitext(CORPUS[:1])).kept
    with pytest.raises(ValueError, match="LanguageIdentifier"):
        BitextFilter().process(scored_only)
