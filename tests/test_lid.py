"""Language identification with the shipped lid.176 model: canonical codes with the text's own
script, top-k, the expected_languages restriction, newlines and long documents, the lang
policies, bitext columns, and the filter that decides on them."""

import csv
import pickle
from pathlib import Path

import pyarrow as pa
import pytest

from corpusforge.languages import code_for_label, language_of, script_compatible
from corpusforge.schemas import conform, extend, load_schema
from corpusforge.transforms.lid import LanguageFilter, LanguageIdentifier, default_model_path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

SENTENCES = {
    "hin_Deva": "यह फ़ील्ड आवश्यक है। कृपया एक मान्य ईमेल पता दर्ज करें।",
    "urd_Arab": "یہ خانہ درکار ہے۔ براہ کرم درست ای میل ایڈریس درج کریں۔",
    "ben_Beng": "এই ঘরটি অবশ্যই পূরণ করতে হবে। একটি বৈধ ইমেইল ঠিকানা লিখুন।",
    "tam_Taml": "இந்த புலம் தேவைப்படுகிறது. சரியான மின்னஞ்சல் முகவரியை உள்ளிடவும்.",
    "arb_Arab": "هذا الحقل مطلوب. الرجاء إدخال عنوان بريد إلكتروني صحيح.",
    "zho_Hans": "这个字段是必填项。请输入一个有效的电子邮件地址。",
    "zho_Hant": "這個欄位是必填的。請輸入一個有效的電子郵件地址。",
    "jpn_Jpan": "このフィールドは必須です。有効なメールアドレスを入力してください。",
    "kor_Hang": "이 필드는 필수 항목입니다. 올바른 이메일 주소를 입력하세요.",
    "eng_Latn": "This field is required. Please enter a valid email address.",
    "rus_Cyrl": "Это поле обязательно. Введите правильный адрес электронной почты.",
    "deu_Latn": "Dieses Feld ist zwingend erforderlich. Bitte geben Sie eine gültige E-Mail-Adresse ein.",
}


@pytest.fixture(scope="module")
def lid():
    stage = LanguageIdentifier()
    stage.setup()
    return stage


def segments(texts, lang=None):
    data = {"id": [str(i) for i in range(len(texts))], "source": ["test"] * len(texts), "text": texts}
    if lang is not None:
        data["lang"] = lang
    return pa.RecordBatch.from_pydict(data)


@pytest.mark.parametrize(
    "label, scripts, code",
    [
        ("__label__hi", "Deva", "hin_Deva"),
        ("__label__hi", "Latn", "hin_Latn"),  # romanised Hindi
        ("__label__hi", "Latn+Deva", "hin_Deva"),  # a script the language writes wins over the dominant one
        ("__label__zh", "Hant", "zho_Hant"),
        ("__label__zh", "Hani", "zho_Hans"),  # Han that leans neither way: the likely script
        ("__label__zh", "Latn+Hant", "zho_Hant"),  # "Email 地址" written in Traditional
        ("__label__ja", "Hans", "jpn_Jpan"),
        ("__label__ko", "Hang", "kor_Hang"),
        ("__label__ar", "Arab", "arb_Arab"),
        ("__label__ar", "Zyyy", "arb_Arab"),  # no letters: the likely script
        ("__label__als", "Latn", "gsw_Latn"),  # lid.176's Wikipedia code for Alemannic
        ("__label__als_Latn", "Latn", "als_Latn"),  # GlotLID: ISO Tosk Albanian
        ("__label__hin_Deva", "Latn", "hin_Deva"),  # a label's own script is kept
    ],
)
def test_labels_map_to_canonical_codes(label, scripts, code):
    assert code_for_label(label, scripts) == code


def test_script_compatibility():
    assert script_compatible("jpn_Jpan", "Hira") and script_compatible("zho_Hans", "Hani")
    assert not script_compatible("zho_Hans", "Hant") and not script_compatible("hin_Deva", "Latn")
    assert script_compatible("hin_Deva", "Zyyy")  # no letters: nothing contradicts


def test_identify_gives_canonical_codes_with_scripts(lid):
    results = lid.identify(list(SENTENCES.values()))
    assert [r.lang for r in results] == list(SENTENCES)
    for result in results:
        assert 0.5 < result.score <= 1.0
        assert result.topk[0] == (result.lang, result.score)
        assert len(result.topk) <= 3
        assert [s for _, s in result.topk] == sorted((s for _, s in result.topk), reverse=True)


def test_constructor_validates_cheaply(tmp_path):
    missing = tmp_path / "nope.ftz"
    with pytest.raises(ValueError, match=str(missing)):
        LanguageIdentifier(model_path=str(missing))
    with pytest.raises(ValueError, match="top_k"):
        LanguageIdentifier(top_k=0)
    with pytest.raises(ValueError, match="expected_languages"):
        LanguageIdentifier(expected_languages=["not a language"])
    assert default_model_path().name == "lid.176.ftz" and default_model_path().is_file()


def test_expected_languages_restrict_and_renormalise():
    lid = LanguageIdentifier(expected_languages=["hin_Deva", "urd", "en"], top_k=5)
    # Urdu in Arabic script: without the restriction Punjabi and Persian take some mass
    result = lid.identify([SENTENCES["urd_Arab"], SENTENCES["deu_Latn"]])
    urdu, german = result
    assert urdu.lang == "urd_Arab"
    assert {language_of(code) for code, _ in urdu.topk} <= {"hin", "urd", "eng"}
    assert sum(s for _, s in urdu.topk) == pytest.approx(1.0, abs=1e-5)
    assert urdu.score > LanguageIdentifier().identify([SENTENCES["urd_Arab"]])[0].score
    assert german.lang == "eng_Latn"  # the best of what is allowed, however poor
    pruned = LanguageIdentifier(expected_languages=["hin_Deva", "urd", "en"], top_k=5, prune_below=0.01)
    urdu_pruned, german_pruned = pruned.identify([SENTENCES["urd_Arab"], SENTENCES["deu_Latn"]])
    assert urdu_pruned.lang == "urd_Arab" and len(urdu_pruned.topk) < len(urdu.topk)  # Hindi/English below 1 %
    assert german_pruned.lang is None  # German has no allowed label above 1 %: no language
    with pytest.raises(ValueError, match="expected_languages"):
        LanguageIdentifier(prune_below=0.01)


def test_labels_of_one_code_merge_in_top_k():
    # lid.176 has both sr and sh (Serbo-Croatian); on Latin text both map to srp_Latn
    result = LanguageIdentifier(top_k=8).identify(["Ovo polje je obavezno."])[0]
    codes = [code for code, _ in result.topk]
    assert len(codes) == len(set(codes))
    assert result.lang == "srp_Latn" and result.score > 0.5  # 0.38 (sh) + 0.13 (sr)


def test_newlines_blank_and_null_text(lid):
    one_line, two_lines, blank, empty = lid.identify(
        [
            "This field is required. Please enter a valid email address.",
            "This field is required.\nPlease enter a valid email address.",
            " \n\t",
            "",
        ]
    )
    assert two_lines.lang == one_line.lang and two_lines.score == pytest.approx(one_line.score)
    for result in (blank, empty):
        assert (result.lang, result.score, result.topk, result.script) == (None, None, [], "Zyyy")


def test_long_documents_by_prefix_or_by_lines():
    english = "This line is in English and it is the first one."
    hindi = "यह पंक्ति हिंदी में लिखी गई है और काफी लंबी भी है।"
    document = "\n".join([english] + [hindi] * 6)
    by_prefix = LanguageIdentifier(max_chars=len(english)).identify([document])[0]
    by_lines = LanguageIdentifier(max_chars=len(english), long_text="lines").identify([document])[0]
    assert by_prefix.lang == "eng_Latn"  # only the first max_chars are read
    assert by_lines.lang == "hin_Deva"  # six Hindi lines outweigh one English line
    assert by_lines.score == pytest.approx(0.85, abs=0.1)
    assert by_prefix.script == by_lines.script == "Deva"  # the script is always the whole text's


def test_lang_policy_replace_and_fill(lid):
    texts = [SENTENCES["hin_Deva"], SENTENCES["eng_Latn"], SENTENCES["eng_Latn"]]
    declared = ["hin_Deva", "fra_Latn", None]
    replaced = lid.process(segments(texts, declared)).kept
    assert replaced.column("lang").to_pylist() == ["hin_Deva", "eng_Latn", "eng_Latn"]
    fill = LanguageIdentifier(lang_policy="fill")
    filled = fill.process(segments(texts, declared)).kept
    assert filled.column("lang").to_pylist() == ["hin_Deva", "fra_Latn", "eng_Latn"]
    scores = filled.column("lang_score").to_pylist()
    assert scores[0] > 0.9 and scores[1] < 0.01  # French is not among the text's top-3
    assert filled.column("lang_topk").to_pylist()[1][0]["lang"] == "eng_Latn"  # the detection stays visible


def test_columns_match_the_declared_fields_for_segments_and_bitext(lid):
    seg = lid.process(segments([SENTENCES["hin_Deva"]])).kept
    conform(seg, extend(load_schema("segment"), lid.output_fields("segment")))
    assert seg.schema.field("lang_score").type == pa.float32()
    bitext = pa.RecordBatch.from_pydict(
        {
            "id": ["1"],
            "source": ["test"],
            "src_text": [SENTENCES["eng_Latn"]],
            "tgt_text": [SENTENCES["zho_Hant"]],
            "origin": ["corpus"],
        }
    )
    out = lid.process(bitext).kept
    conform(out, extend(load_schema("bitext"), lid.output_fields("bitext")))
    assert out.column("src_lang").to_pylist() == ["eng_Latn"]
    assert out.column("tgt_lang").to_pylist() == ["zho_Hant"]
    assert out.column("tgt_script_props").to_pylist() == [[{"key": "Hani", "value": 1.0}]]


def test_stage_pickles_before_and_after_setup(lid):
    clone = pickle.loads(pickle.dumps(lid))
    assert clone.identify([SENTENCES["kor_Hang"]])[0].lang == "kor_Hang"
    assert lid.describe()["model"] == "lid.176.ftz"


def test_language_filter_rejects_with_reasons(lid):
    texts = [SENTENCES["hin_Deva"], SENTENCES["eng_Latn"], "ok", "  "]
    scored = lid.process(segments(texts)).kept
    split = LanguageFilter(allowed=["hi", "eng_Latn"], thresholds={"en": 0.99}, default_threshold=0.5).process(scored)
    assert split.kept.column("id").to_pylist() == ["0"]
    rejected = {r["id"]: r for r in split.rejected.to_pylist()}
    assert rejected["1"]["reason"] == "lang_low_score"  # English at 0.92 < its own 0.99
    assert rejected["2"]["reason"] in ("lang_mismatch", "lang_low_score")
    assert rejected["3"]["reason"] == "lang_mismatch" and "no language" in rejected["3"]["detail"]
    assert {r["stage"] for r in rejected.values()} == {"lang_filter"}
    # a declared language the detection disagrees with is a mismatch
    filled = LanguageIdentifier(lang_policy="fill").process(segments([SENTENCES["eng_Latn"]], ["fra_Latn"])).kept
    rejected = LanguageFilter().process(filled).rejected.to_pylist()
    assert rejected[0]["reason"] == "lang_mismatch" and "detected eng_Latn" in rejected[0]["detail"]
    with pytest.raises(ValueError, match="LanguageIdentifier"):
        LanguageFilter().process(segments(["no columns"]))


@pytest.mark.shared_data
@pytest.mark.skipif(not (SHARED / "lid_dev.tsv").is_file(), reason="../shared/data is absent")
def test_subset_accuracy_with_expected_languages():
    subset = ("hin", "urd", "ben", "tam", "arb", "zho")
    with (SHARED / "lid_dev.tsv").open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if language_of(code_for_label(r["lang"])) in subset]
    gold = [language_of(code_for_label(r["lang"])) for r in rows]
    restricted = LanguageIdentifier(expected_languages=list(subset)).identify([r["sentence"] for r in rows])
    accuracy = sum(r.lang is not None and language_of(r.lang) == g for r, g in zip(restricted, gold)) / len(rows)
    assert accuracy >= 0.97


def test_allowed_with_a_script_keeps_that_script_only(lid):
    texts = [SENTENCES["zho_Hant"], SENTENCES["zho_Hans"], SENTENCES["hin_Deva"]]
    scored = lid.process(segments(texts)).kept
    assert scored.column("lang").to_pylist() == ["zho_Hant", "zho_Hans", "hin_Deva"]
    split = LanguageFilter(allowed=["zho_Hant", "hi"]).process(scored)
    assert split.kept.column("id").to_pylist() == ["0", "2"]
    (rejected,) = split.rejected.to_pylist()
    assert rejected["id"] == "1" and rejected["reason"] == "lang_mismatch"
    assert "zho_Hans" in rejected["detail"] and "zho_Hant" in rejected["detail"]
    # a bare language keeps every script of it
    assert LanguageFilter(allowed=["zho"]).process(scored).kept.column("id").to_pylist() == ["0", "1"]
    assert LanguageFilter(allowed=["zh", "hin_Deva"]).process(scored).rejected.num_rows == 0
    # romanised Hindi and Han that leans neither way are other scripts
    batch = scored_rows(["hin_Deva", "hin_Latn", "zho_Hani", "zho_Hant"])
    split = LanguageFilter(allowed=["hin_Deva", "zho_Hant"]).process(batch)
    assert split.kept.column("lang").to_pylist() == ["hin_Deva", "zho_Hant"]
    assert split.rejected.column("detail").to_pylist() == [
        "hin_Latn is not one of ['hin_Deva', 'zho_Hant']",
        "zho_Hani is not one of ['hin_Deva', 'zho_Hant']",
    ]
    assert LanguageFilter(allowed=["hin", "zho"]).process(batch).kept.num_rows == 4


def scored_rows(codes):
    """Segments as LanguageIdentifier leaves them, each detected as its code with score 0.9."""
    data = segments(["x"] * len(codes)).to_pydict()
    topk = [[{"lang": code, "score": 0.9}] for code in codes]
    return pa.RecordBatch.from_pydict({**data, "lang": codes, "lang_score": pa.array([0.9] * len(codes), pa.float32()), "lang_topk": topk})


@pytest.mark.parametrize("bad", ["hin_Dev", "xyz_Abcd", "hin_Xyzw"])
def test_bad_codes_in_options_fail_at_construction(bad):
    with pytest.raises(ValueError, match=rf"allowed: {bad}: unknown"):
        LanguageFilter(allowed=["eng_Latn", bad])
    with pytest.raises(ValueError, match=rf"thresholds: {bad}: unknown"):
        LanguageFilter(thresholds={bad: 0.5})
    with pytest.raises(ValueError, match=rf"expected_languages: {bad}: unknown"):
        LanguageIdentifier(expected_languages=["eng_Latn", bad])


def test_a_label_no_standard_lists_still_gets_a_row_through():
    # lid.176's eml (a retired ISO 639-3 code) maps as before and passes a filter that allows all
    code = code_for_label("__label__eml", "Latn")
    assert code == "eml_Latn"
    batch = scored_rows([code])
    assert LanguageFilter().process(batch).kept.num_rows == 1
    assert LanguageFilter(allowed=["eng"]).process(batch).rejected.column("detail").to_pylist() == ["eml_Latn is not one of ['eng']"]
