"""Recipes fail before the pipeline starts, with a message naming the key or path to change."""

from pathlib import Path

import pytest
import yaml

from corpusforge.cli import packaged, runner_args
from corpusforge.config import ConfigError, apply_overrides, load_recipe, recipe_from_dict


def recipe(tmp_path: Path, **changes) -> dict:
    (tmp_path / "a.txt").write_text("hello\n", encoding="utf-8")
    data = {
        "name": "t",
        "inputs": [{"name": "a", "format": "text", "paths": ["a.txt"], "options": {"lang": "en"}}],
        "output": {"path": str(tmp_path / "out")},
    }
    data.update(changes)
    return data


def load(tmp_path, data, overrides=None):
    return recipe_from_dict(data, base_dir=str(tmp_path), overrides=overrides)


def test_demo_recipe_loads_from_the_installed_package():
    r = load_recipe(packaged("recipes/demo.yaml"))
    assert {i.kind for i in r.inputs} == {"segment", "bitext"}
    assert [s.name for s in r.stages] == ["normalize", "lid", "premium", "entity_switch"]
    assert all(Path(p).exists() or "*" in p for i in r.inputs for p in i.patterns)


def test_reader_options_are_typed_and_languages_canonical(tmp_path):
    r = load(tmp_path, recipe(tmp_path))
    assert r.inputs[0].reader is not None and r.inputs[0].patterns == [str(tmp_path / "a.txt")]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"inputz": []}, "recipe.inputz: unknown key"),
        ({"dedup": {"scope": "everywhere"}}, "recipe.dedup.scope"),
        ({"output": {"path": "x", "shard_count": 0}}, "recipe.output.shard_count"),
        ({"stages": [{"normalise": {}}]}, "did you mean 'normalize'"),
        ({"stages": [{"normalize": {"unicode_form": "NFX"}}]}, "stages.0.normalize.unicode_form"),
        ({"stages": [{"normalize": {"colour": 1}}]}, "stages.0.normalize.colour: unknown option"),
    ],
)
def test_bad_recipes_name_the_key(tmp_path, change, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        load(tmp_path, recipe(tmp_path, **change))


def test_bad_inputs_name_the_key(tmp_path):
    data = recipe(tmp_path)
    data["inputs"][0]["options"] = {"lang": "en", "text_feld": "x"}
    with pytest.raises(ConfigError, match=r"inputs\.0\.options\.text_feld: unknown option"):
        load(tmp_path, data)
    data["inputs"][0]["options"] = {"lang": "not a language"}
    with pytest.raises(ConfigError, match=r"inputs\.0\.options"):
        load(tmp_path, data)
    data["inputs"][0]["options"] = {"lang": "en"}
    data["inputs"][0]["paths"] = ["missing/*.txt"]
    with pytest.raises(ConfigError, match=r"inputs\.0\.paths: .*missing/\*\.txt.* matches no file"):
        load(tmp_path, data)
    data["inputs"][0].update(paths=["a.txt"], format="tmx")
    with pytest.raises(ConfigError, match="format 'tmx' reads bitext records"):
        load(tmp_path, data)


def test_duplicate_input_names_are_refused(tmp_path):
    data = recipe(tmp_path)
    data["inputs"].append(dict(data["inputs"][0]))
    with pytest.raises(ConfigError, match="repeated: a"):
        load(tmp_path, data)


def test_overrides_set_nested_keys_and_list_items(tmp_path):
    data = recipe(tmp_path)
    r = load(tmp_path, data, ["output.shard_count=3", "inputs.0.options.lang=hin_Deva", "dedup.scope=source"])
    assert r.spec.output.shard_count == 3 and r.spec.dedup.scope == "source"
    assert r.spec.inputs[0].options["lang"] == "hin_Deva"
    with pytest.raises(ConfigError, match="has no item 5"):
        apply_overrides(data, ["inputs.5.name=x"])
    with pytest.raises(ConfigError, match="expected key=value"):
        apply_overrides(data, ["output.path"])


def test_recipe_hash_follows_content_not_location(tmp_path):
    a = load(tmp_path, recipe(tmp_path))
    b = load(tmp_path, recipe(tmp_path), ["output.shard_count=2"])
    elsewhere = load(tmp_path, recipe(tmp_path), ["output.path=/elsewhere", "output.overwrite=true"])
    assert elsewhere.recipe_hash == a.recipe_hash
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(recipe(tmp_path)), encoding="utf-8")
    assert load_recipe(path).recipe_hash == a.recipe_hash != b.recipe_hash


def test_runner_files_become_beam_flags():
    args = runner_args(packaged("runners/local.yaml"))
    assert "--runner=DirectRunner" in args and "--direct_num_workers=2" in args
    assert runner_args(None) == ["--runner=DirectRunner"]


def test_recipe_stage_keys_are_the_stages_own_names():
    from corpusforge.config import STAGES, _load_class

    for key, spec in STAGES.items():
        assert _load_class(spec).name == key


def test_stage_files_are_read_from_the_recipe_folder(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "table.tsv").write_text("lang\tbyte_coef\nhin_deva\t2.5\n", encoding="utf-8")
    r = load(tmp_path, recipe(tmp_path, stages=[{"premium": {"table": "models/table.tsv"}}]))
    assert r.stages[0].describe()["table"] == str(tmp_path / "models" / "table.tsv")
    with pytest.raises(ConfigError, match=r"stages\.0\.lid: .*nowhere\.ftz"):
        load(tmp_path, recipe(tmp_path, stages=[{"lid": {"model_path": "nowhere.ftz"}}]))


def test_a_pair_without_its_other_side_fails_before_the_run(tmp_path):
    (tmp_path / "corpus.en").write_text("hello\n", encoding="utf-8")
    data = recipe(tmp_path)
    data["inputs"] = [
        {"name": "p", "format": "moses", "kind": "bitext", "paths": ["corpus.en"], "options": {"src_lang": "en", "tgt_lang": "hi"}}
    ]
    with pytest.raises(ConfigError, match=r"inputs\.0\.paths: the other side of a pair is missing: .*corpus\.hi"):
        load(tmp_path, data)
    (tmp_path / "corpus.hi").write_text("नमस्ते\n", encoding="utf-8")
    assert load(tmp_path, data).inputs[0].kind == "bitext"


BAD_CODES = ["hin_Dev", "xyz_Abcd", "hin_Xyzw"]  # a script short of a letter; unknown language and script; unknown script

LANGUAGE_OPTIONS = {
    "lid.expected_languages": {"lid": {"expected_languages": ["eng_Latn", "{bad}"]}},
    "lang_filter.allowed": {"lang_filter": {"allowed": ["eng_Latn", "{bad}"]}},
    "lang_filter.thresholds": {"lang_filter": {"thresholds": {"{bad}": 0.5}}},
    "bitext_filter.src_languages": {"bitext_filter": {"src_languages": ["{bad}"]}},
    "token_tags.languages": {"token_tags": {"languages": ["eng_Latn", "{bad}"]}},
    "premium.reference": {"premium": {"reference": "{bad}"}},
    "sample.targets": {"sample": {"targets": {"{bad}": 1000}}},
    "translit.target": {"translit": {"target": "{bad}"}},
    "translit.tag": {"translit": {"target": "iso", "source": "Deva", "mode": "tag", "tag": "{bad}"}},
    "translit_pairs.target": {"translit_pairs": {"target": "{bad}"}},
    "entity_switch.targets": {"entity_switch": {"targets": ["hin_Deva", "{bad}"]}},
    "entity_switch.source_lang": {"entity_switch": {"targets": ["hin_Deva"], "source_lang": "{bad}"}},
    "dictionary_switch.src_lang": {"dictionary_switch": {"dictionary_path": "dict.txt", "src_lang": "{bad}", "tgt_lang": "hin_Deva"}},
    "dictionary_switch.tgt_lang": {"dictionary_switch": {"dictionary_path": "dict.txt", "src_lang": "eng_Latn", "tgt_lang": "{bad}"}},
}


def _with_code(value, bad):
    if isinstance(value, dict):
        return {_with_code(k, bad): _with_code(v, bad) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_code(v, bad) for v in value]
    return value.replace("{bad}", bad) if isinstance(value, str) else value


@pytest.mark.parametrize("bad", BAD_CODES)
@pytest.mark.parametrize("option", sorted(LANGUAGE_OPTIONS))
def test_bad_language_codes_in_stage_options_fail_at_load(tmp_path, option, bad):
    (tmp_path / "dict.txt").write_text("water पानी\n", encoding="utf-8")
    stage = _with_code(LANGUAGE_OPTIONS[option], bad)
    with pytest.raises(ConfigError, match=rf"stages\.0\.{option.split('.')[0]}: .*{bad}: unknown "):
        load(tmp_path, recipe(tmp_path, stages=[stage]))


@pytest.mark.parametrize("bad", BAD_CODES)
def test_bad_language_codes_in_reader_options_fail_at_load(tmp_path, bad):
    data = recipe(tmp_path)
    data["inputs"][0]["options"] = {"lang": bad}
    with pytest.raises(ConfigError, match=rf"inputs\.0\.options: .*{bad}: unknown "):
        load(tmp_path, data)
    (tmp_path / "corpus.en").write_text("hello\n", encoding="utf-8")
    (tmp_path / "corpus.hi").write_text("नमस्ते\n", encoding="utf-8")
    data["inputs"] = [
        {"name": "p", "format": "moses", "kind": "bitext", "paths": ["corpus.en"], "options": {"src_lang": "en", "tgt_lang": bad}}
    ]
    with pytest.raises(ConfigError, match=rf"inputs\.0\.options: .*{bad}: unknown "):
        load(tmp_path, data)


@pytest.mark.parametrize("bad", BAD_CODES)
def test_bad_language_codes_in_translate_options_fail_at_load(tmp_path, bad):
    pytest.importorskip("ctranslate2")
    pytest.importorskip("sentencepiece")
    from corpusforge.mt.testing import build_model

    model = build_model(tmp_path / "nllb", ["hello world"], convention="nllb")
    for options in ({"targets": [bad]}, {"targets": ["hin_Deva"], "src_lang": bad}):
        with pytest.raises(ConfigError, match=rf"stages\.0\.translate: .*{bad}: unknown "):
            load(tmp_path, recipe(tmp_path, stages=[{"translate": {"model": str(model), **options}}]))


def test_valid_codes_of_many_languages_and_scripts_load(tmp_path):
    codes = ["hi", "hin_Latn", "zho_Hant", "zh-Hans", "sr-Latn", "srp_Cyrl", "ar", "jpn_Jpan", "ko", "ta", "ben_Beng", "en-US", "rus_Cyrl"]
    stages = [
        {"lid": {"expected_languages": codes}},
        {"lang_filter": {"allowed": codes, "thresholds": {"zh-Hant": 0.5, "ko": 0.3}}},
        {"premium": {}},
        {"sample": {"targets": {"hin_Deva": 1000, "zho_Hant": 1000, "kor_Hang": 500}}},
        {"translit": {"target": "iso", "source": "hi"}},
        {"entity_switch": {"targets": ["hin_Deva", "ben_Beng", "tam_Taml", "urd_Arab"], "source_lang": "en"}},
    ]
    data = recipe(tmp_path, stages=stages)
    data["inputs"][0]["options"] = {"lang": "zh-Hant"}
    r = load(tmp_path, data)
    assert [s.name for s in r.stages] == ["lid", "lang_filter", "premium", "sample", "translit", "entity_switch"]
    assert r.stages[3].targets == {"hin_Deva": 1000.0, "zho_Hant": 1000.0, "kor_Hang": 500.0}


def test_translate_without_the_mt_extra_fails_at_load(tmp_path, monkeypatch):
    """A recipe that translates where CTranslate2 is not installed fails when it is loaded,
    naming the extra, not on the first worker that imports it."""
    import corpusforge.mt.translator as translator

    real = translator.find_spec
    monkeypatch.setattr(translator, "find_spec", lambda name: None if name == "ctranslate2" else real(name))
    data = recipe(tmp_path, stages=[{"translate": {"model": str(tmp_path), "targets": ["hin_Deva"]}}])
    with pytest.raises(
        ConfigError, match=r"stages\.0\.translate: .*mt extra, and ctranslate2 is not installed: pip install 'corpusforge\[mt\]'"
    ):
        load(tmp_path, data)
    monkeypatch.setattr(translator, "find_spec", lambda name: None if name in ("ctranslate2", "sacrebleu") else real(name))
    data["stages"][0]["translate"].update(round_trip=True)
    with pytest.raises(ConfigError, match=r"ctranslate2, sacrebleu are not installed"):
        load(tmp_path, data)
