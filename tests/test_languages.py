"""Language codes: what users write is validated subtag by subtag (ISO 639 language, ISO 15924
script, from langcodes' IANA data), with a close valid code suggested; what models and rows wrote
is read as before, so a run never fails on a label."""

import pytest

from corpusforge.languages import LanguageCodeError, canonical, code_for_label, language_of, names_script, read_code, script_of


@pytest.mark.parametrize(
    "code, expected",
    [
        ("hi", "hin_Deva"),
        ("hi-IN", "hin_Deva"),
        ("hin", "hin_Deva"),
        ("hin_deva", "hin_Deva"),
        ("hi-Latn", "hin_Latn"),
        ("en_US", "eng_Latn"),
        ("zh-Hant", "zho_Hant"),
        ("zho_Hans", "zho_Hans"),
        ("sr-Latn", "srp_Latn"),
        ("srp_Cyrl", "srp_Cyrl"),
        ("ar", "arb_Arab"),
        ("ko", "kor_Hang"),
        ("ja", "jpn_Jpan"),
        ("ta", "tam_Taml"),
        ("ben_Beng", "ben_Beng"),
        ("ru", "rus_Cyrl"),
        ("__label__hin_Deva", "hin_Deva"),
    ],
)
def test_valid_codes_keep_their_canonical_form(code, expected):
    assert canonical(code) == expected


@pytest.mark.parametrize(
    "code, parts, suggestion",
    [
        ("hin_Dev", ["unknown script 'Dev'"], "hin_Deva"),  # BCP 47 reads 'Dev' as an extended language
        ("hin_Xyzw", ["unknown script 'Xyzw'"], "hin_Deva"),  # no close script: the language's usual one
        ("xyz_Abcd", ["unknown language 'xyz'", "unknown script 'Abcd'"], None),
        ("arb_Latx", ["unknown script 'Latx'"], "arb_Latn"),
        ("eng_latin", ["unknown script 'latin'"], "eng_Latn"),  # a script's name, not its code
    ],
)
def test_unknown_subtags_are_refused_naming_the_part(code, parts, suggestion):
    with pytest.raises(LanguageCodeError) as info:
        canonical(code)
    message = str(info.value)
    assert message.startswith(f"{code}: ")
    assert all(part in message for part in parts)
    if suggestion is not None:
        assert suggestion in message
    assert isinstance(info.value, ValueError)  # the recipe loader turns it into a ConfigError


def test_a_suggested_code_is_itself_valid():
    for bad in ("hin_Dev", "arb_Latx", "eng_latin", "hin_Xyzw", "xyz_Latn"):
        with pytest.raises(LanguageCodeError) as info:
            canonical(bad)
        suggested = str(info.value).rsplit(" ", 1)[-1].strip("?)")
        assert canonical(suggested) == suggested


def test_unreadable_codes_still_fail_and_a_language_name_gets_its_code():
    for bad in ("", "und", "xx"):
        with pytest.raises(LanguageCodeError):
            canonical(bad)
    with pytest.raises(LanguageCodeError, match="did you mean hin_Deva"):
        canonical("Hindi")


def test_a_code_names_its_script_or_leaves_it_to_the_language():
    assert names_script("zho_Hant") and names_script("zh-Hans") and names_script("hin_Latn")
    assert not names_script("zho") and not names_script("hi") and not names_script("zh-TW")
    with pytest.raises(LanguageCodeError):
        names_script("zho_Hanx")


def test_model_labels_and_row_codes_are_read_without_validation():
    # lid.176 labels Emilian-Romagnol with eml, an ISO 639-3 code retired before the IANA
    # registry listed it: the label still maps, and rows carrying it still read.
    assert code_for_label("__label__eml", "Latn") == "eml_Latn"
    assert language_of("eml_Latn") == "eml" and script_of("eml_Latn") == "Latn"
    assert read_code("hin_Dev") == "hin_Deva"  # read as langcodes always read it
    with pytest.raises(LanguageCodeError):
        read_code("xx")  # unreadable at all: callers reject the row or leave it alone


def test_a_bad_code_is_parsed_once():
    from corpusforge.languages import _read

    with pytest.raises(LanguageCodeError):
        canonical("xyz_Abcd")
    misses = _read.cache_info().misses
    for _ in range(1000):  # a column full of one bad code costs one parse and one suggestion
        with pytest.raises(LanguageCodeError):
            canonical("xyz_Abcd")
    assert _read.cache_info().misses == misses


def test_codes_newer_than_langcodes_data_are_known_from_babel():
    # langcodes' copy of the IANA registry lags the standards; Babel's CLDR data is newer, and
    # every language and script of its locales must be accepted (tok, isv, the Sunuwar script...)
    from babel import Locale
    from babel.localedata import locale_identifiers

    refused = []
    for identifier in locale_identifiers():
        locale = Locale.parse(identifier)
        try:
            canonical(locale.language, locale.script)
        except LanguageCodeError as exc:
            if "unknown" in str(exc):
                refused.append(identifier)
    assert refused == []
