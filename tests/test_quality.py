"""Quality heuristics: each rule fires on the text it is meant for, with its name as the reason;
thresholds are per language with a default, and every one can be overridden or turned off."""

from __future__ import annotations

import pyarrow as pa
import pytest

from corpusforge.config import ConfigError, recipe_from_dict
from corpusforge.quality import stop_words, text_signals
from corpusforge.quality.thresholds import RULE_NAMES
from corpusforge.schemas import load_schema
from corpusforge.transforms.quality import QualityFilter, QualityScorer

GOOD = (
    "The committee met on Tuesday to discuss the new budget for the region.\n"
    "It decided to fund two schools and a hospital in the northern districts.\n"
    "The next meeting is planned for the end of the month, after the elections."
)
HINDI = "समिति ने मंगलवार को नए बजट पर चर्चा की और उत्तरी जिलों में दो स्कूलों के लिए धन देने का निर्णय लिया।"
CHINESE = "委员会星期二开会讨论了该地区的新预算，并决定为北部各区的两所学校和一家医院提供资金。"
REPEATED = "the same words come back again and again in this text"

# rule -> a text that fails it (with the rule's default threshold)
BAD = {
    "min_words": "Hello there.",
    "max_words": None,  # needs a lower threshold, below
    "min_mean_word_length": "a b c d e f g h i j k l",
    "max_mean_word_length": "incomprehensibilities antidisestablishmentarianism floccinaucinihilipilification pneumonoultramicroscopic",
    "max_symbol_word_ratio": "#news #today #breaking and other words follow here ...",
    "min_alpha_word_fraction": "12 345 6789 10 11 12 13 14 15 ok",
    "min_stop_words": "zorblat quixing flumphs vextrane glorbin snarfle",
    "max_bullet_line_fraction": "- the first item of the list\n- the second item of the list\n- the third item of the list",
    "max_ellipsis_line_fraction": "and then it went on...\nand on it went...\nuntil the very end of the day.",
    "max_dup_line_fraction": "a line that repeats.\na line that repeats.\na line that repeats.\nthe one line that does not.",
    "max_dup_line_char_fraction": "a line that repeats.\na line that repeats.\nthe line that does not, and it is a long one too.",
    "max_dup_paragraph_fraction": "The first paragraph.\n\nThe first paragraph.\n\nThe first paragraph.\n\nAnother paragraph.",
    "max_dup_paragraph_char_fraction": "The first paragraph.\n\nThe first paragraph.\n\nA second paragraph that is long enough.",
    "max_top_2gram_char_fraction": "the cat the cat the cat the cat sat on a mat near the door",
    "max_top_3gram_char_fraction": "one two three one two three one two three and then the rest of it",
    "max_top_4gram_char_fraction": "one two three four one two three four one two three four and more",
    **{f"max_dup_{n}gram_char_fraction": f"{REPEATED} {REPEATED} and then something else entirely" for n in (5, 6, 7, 8, 9, 10)},
    "min_line_punct_fraction": "a first line without an end\na second line without one\na third line also without",
    "max_short_line_fraction": "Short one.\nShort two.\nShort three.\nAnd a much longer line that goes on and on past thirty.",
}
OVERRIDE = {"max_words": 5}


def batch(texts: list[str], langs: list[str | None]) -> pa.RecordBatch:
    rows = [{"id": str(i), "source": "s", "text": t, "lang": lang} for i, (t, lang) in enumerate(zip(texts, langs))]
    return pa.RecordBatch.from_pylist(rows, schema=load_schema("segment"))


def decide(texts, langs, **options):
    scored = QualityScorer().process(batch(texts, langs)).kept
    split = QualityFilter(**options).process(scored)
    return [r["id"] for r in split.kept.to_pylist()], {r["id"]: (r["reason"], r["detail"]) for r in split.rejected.to_pylist()}


def test_every_rule_has_a_case():
    assert set(BAD) == set(RULE_NAMES)


@pytest.mark.parametrize("rule", RULE_NAMES)
def test_each_rule_rejects_its_text_with_its_name_and_passes_a_good_document(rule):
    only = {name: None for name in RULE_NAMES if name != rule}
    if rule in OVERRIDE:
        only[rule] = OVERRIDE[rule]
    text = BAD[rule] or GOOD
    kept, rejected = decide([text, GOOD], ["eng_Latn", "eng_Latn"], thresholds=only, min_lines=2)
    assert kept == ["1"] if rule not in OVERRIDE else kept == []
    assert rejected["0"][0] == rule and "eng_Latn" in rejected["0"][1]


def test_a_clean_document_passes_every_default_rule():
    kept, rejected = decide([GOOD, HINDI, CHINESE], ["eng_Latn", "hin_Deva", "zho_Hans"])
    assert kept == ["0", "1", "2"], rejected


def test_per_language_defaults_and_overrides():
    # Chinese words are characters: the mean-word-length rule does not apply to zho, but does by default
    kept, rejected = decide([CHINESE, CHINESE], ["zho_Hans", None])
    assert kept == ["0"] and rejected["1"][0] == "min_mean_word_length"
    # a recipe's threshold for one language (any code form) leaves the others alone
    kept, rejected = decide([HINDI, GOOD], ["hin_Deva", "eng_Latn"], languages={"hi": {"min_words": 50}})
    assert kept == ["1"] and rejected["0"][0] == "min_words"
    # a threshold for every language; null turns a rule off
    kept, _ = decide([HINDI, GOOD], ["hin_Deva", "eng_Latn"], thresholds={"min_words": 50})
    assert kept == []
    kept, _ = decide(["Hello there."], ["eng_Latn"], thresholds={"min_words": None, "min_stop_words": None})
    assert kept == ["0"]


def test_stop_words_come_from_the_language_list():
    english = stop_words("eng_Latn")
    assert english is not None and "the" in english
    assert stop_words("zho_Hans") is not None and all(len(w) == 1 for w in stop_words("zho_Hans") or ())
    assert text_signals(GOOD, "eng_Latn")["stop_words"] >= 10
    assert text_signals(GOOD, None)["stop_words"] == -1  # no list: the rule is skipped


def test_unknown_rules_and_languages_fail_when_the_recipe_loads():
    base = {
        "name": "t",
        "inputs": [{"name": "a", "format": "text", "paths": ["x.txt"], "options": {"lang": "en"}}],
        "output": {"path": "/tmp/x"},
    }
    for options, message in [
        ({"thresholds": {"min_wrds": 3}}, "unknown quality rule"),
        ({"languages": {"xx_Qqqq": {}}}, "languages.xx_Qqqq"),
    ]:
        with pytest.raises(ConfigError, match=message):
            recipe_from_dict({**base, "stages": [{"quality": {}}, {"quality_filter": options}]}, base_dir=".", check_files=False)
    with pytest.raises(ConfigError, match="no stage before it adds"):
        recipe_from_dict({**base, "stages": [{"quality_filter": {}}]}, base_dir=".", check_files=False)


def test_fractions_stay_between_zero_and_one():
    for text in [*filter(None, BAD.values()), GOOD, HINDI, CHINESE, "the the the the the the the the the the", "…", "# # #"]:
        signals = text_signals(text, "eng_Latn")
        for name, value in signals.items():
            if "fraction" in name:
                assert 0.0 <= value <= 1.0, (name, value, text)
