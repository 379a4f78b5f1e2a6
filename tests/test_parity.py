"""Tokenizer parity: counts checked by hand on a character-level model, and the parity pipeline
(DirectRunner) on a skewed mixture of five synthetic languages in five scripts, where training on
a byte-budget-balanced sample must lower the worst language's parity ratio."""

import csv
import json
import random
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from corpusforge.analysis.parity import TokenizerTraining, tokenizer_parity, train_tokenizer
from corpusforge.config import ConfigError
from corpusforge.outputs import LocalStore
from corpusforge.pipelines.tokenizer_parity import build, config_from_dict, output_directory, train_and_compare
from corpusforge.premium import FewUnitsWarning

pytest.importorskip("sentencepiece")

CHAR_MODEL = TokenizerTraining(model_type="char", vocab_size=100, hard_vocab_limit=False, byte_fallback=False)


def test_parity_counts_on_a_character_model(tmp_path):
    # A char model spends one token per character plus one "▁" per word: "ab cd" = ▁ a b ▁ c d.
    model = train_tokenizer(["ab cd", "abc dd", "你好世界", "при вет"], tmp_path / "char.model", settings=CHAR_MODEL)
    columns = {
        "eng_Latn": ["ab cd", "abc", "dd", ""],  # 6 + 4 + 3 tokens; the last unit has no English
        "zho_Hans": ["你好", "世界你", None, "你"],  # 3 + 4 tokens over the two units shared with English
        "rus_Cyrl": ["при", "вет ж", "ри", "при"],  # 4 + 6 + 3; "ж" is unseen: one <unk>
        "tam_Taml": ["கக", "கக", "கக", ""],  # ▁ + one <unk> per cell: half the tokens unknown
    }
    with pytest.warns(FewUnitsWarning) as caught:
        report = tokenizer_parity(model, parallel=columns)
    assert "zho_Hans: parity from only 2 units shared with eng_Latn (fewer than 100)" in {str(w.message) for w in caught}
    eng, zho, rus, tam = (report.languages[lang] for lang in ("eng_Latn", "zho_Hans", "rus_Cyrl", "tam_Taml"))
    assert (eng.units, eng.tokens, eng.bytes, eng.parity) == (3, 13, 10, 1.0)
    assert (zho.units, zho.tokens, zho.reference_tokens, zho.bytes, zho.chars) == (2, 7, 10, 15, 5)
    assert zho.parity == pytest.approx(0.7) and zho.fertility == pytest.approx(3.5)
    assert zho.tokens_per_byte == pytest.approx(7 / 15)
    # Premiums measured on the same units (15 bytes vs English's 8): tokens per normalised byte
    # is then parity times English's tokens per byte.
    assert zho.premium == pytest.approx(15 / 8) and zho.premium_source == "parallel"
    assert zho.tokens_per_norm_byte == pytest.approx(7 / 8) == pytest.approx(zho.parity * 10 / 8)
    assert (rus.tokens, rus.unknown, rus.parity, rus.reliable) == (13, 1, 1.0, True)
    assert (tam.tokens, tam.unknown, tam.reliable) == (6, 3, False)
    summary = report.summary()
    assert summary["min_lang"] == "zho_Hans" and summary["min"] == pytest.approx(0.7)
    assert summary["max"] == 1.0 and summary["spread"] == pytest.approx(1 / 0.7)
    assert summary["unreliable"] == ["tam_Taml"] and summary["languages"] == 3
    table = report.table().splitlines()
    assert [line.split()[0] for line in table[1:]] == ["eng_Latn", "rus_Cyrl", "zho_Hans", "tam_Taml"]  # worst first
    assert table[-1].endswith("(too many <unk>)") and tam.parity == pytest.approx(6 / 13)
    with pytest.warns(FewUnitsWarning):
        only = tokenizer_parity(model, parallel=columns, languages=["zh"])
    assert set(only.languages) == {"eng_Latn", "zho_Hans"}
    with pytest.raises(ValueError, match="not among the parallel columns"):
        tokenizer_parity(model, parallel=columns, languages=["hin_Deva"])


def test_training_does_not_depend_on_line_order(tmp_path):
    words = lexicon()
    lines = [render(words, lang, s) for lang in SCRIPTS for s in sentences(random.Random(lang), 100)]
    first = train_tokenizer(lines, tmp_path / "a.model", settings=TokenizerTraining(vocab_size=400, byte_fallback=False), seed=1)
    random.Random(0).shuffle(lines)
    second = train_tokenizer(lines, tmp_path / "b.model", settings=TokenizerTraining(vocab_size=400, byte_fallback=False), seed=1)
    assert first.read_bytes() == second.read_bytes()
    with pytest.raises(ValueError, match="Vocabulary size too high"):
        train_tokenizer(lines, tmp_path / "c.model", settings=TokenizerTraining(vocab_size=5000))


# -- the pipeline on synthetic languages --------------------------------------------------------
# Each language spells the same concepts with its own random syllables; a sentence is a list of
# concepts, so rendering one list in every language gives content-matched (parallel) text.
SCRIPTS = {
    "eng_Latn": ("bcdfghklmnprstvz", list("aeiou"), " "),
    "rus_Cyrl": ("бвгдклмнпрстшж", list("аеиоуы"), " "),
    "hin_Deva": ("कखगचजतदनपबमरलवस", ["", "ा", "ि", "ी", "ु", "े", "ो"], " "),
    "tam_Taml": ("கசடதநபமயரலவழள", ["", "ா", "ி", "ீ", "ு", "ூ", "ெ", "ோ"], " "),
    "zho_Hans": ([chr(0x4E00 + i) for i in range(400)], [""], ""),
}
SEGMENTS = {"eng_Latn": 12000, "rus_Cyrl": 1500, "hin_Deva": 500, "tam_Taml": 300, "zho_Hans": 200}  # 83 % English
CONCEPTS = 150


def lexicon(seed: int = 0) -> dict[str, list[str]]:
    rng = random.Random(seed)
    words = {}
    for lang, (consonants, vowels, _) in SCRIPTS.items():
        chosen: dict[str, None] = {}
        while len(chosen) < CONCEPTS:
            syllables = rng.randint(1, 2) if lang == "zho_Hans" else rng.randint(2, 4)
            chosen.setdefault("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(syllables)))
        words[lang] = list(chosen)
    return words


def sentences(rng: random.Random, n: int) -> list[list[int]]:
    weights = [1 / (rank + 1) for rank in range(CONCEPTS)]
    return [rng.choices(range(CONCEPTS), weights, k=rng.randint(5, 15)) for _ in range(n)]


def render(words: dict[str, list[str]], lang: str, concepts: list[int]) -> str:
    return SCRIPTS[lang][2].join(words[lang][c] for c in concepts)


def write_data(root: Path) -> tuple[list[dict], Path]:
    """A skewed corpus (one text file per language) and 300 held-out parallel units."""
    words, rng = lexicon(), random.Random(1)
    inputs = []
    for lang, n in SEGMENTS.items():
        path = root / f"{lang}.txt"
        path.write_text("".join(render(words, lang, s) + "\n" for s in sentences(rng, n)), encoding="utf-8")
        inputs.append({"name": lang, "format": "text", "paths": [str(path)], "options": {"lang": lang}})
    bad = root / "bad.txt"  # one readable line, one that is not UTF-8: refused and counted
    bad.write_bytes(render(words, "eng_Latn", [1, 2, 3]).encode() + b"\n\xff\xfe broken\n")
    inputs.append({"name": "bad", "format": "text", "paths": [str(bad)], "options": {"lang": "eng_Latn"}})
    heldout = root / "heldout.tsv"
    with heldout.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["unit", *SCRIPTS])
        for n, concepts in enumerate(sentences(random.Random(99), 300)):
            writer.writerow([f"u{n}", *(render(words, lang, concepts) for lang in SCRIPTS)])
    return inputs, heldout


def config(inputs: list[dict], heldout: Path, output: Path, **changes) -> dict:
    return {
        "name": "parity",
        "seed": 5,
        "inputs": inputs,
        "premium": {"parallel": str(heldout), "embedded": False},
        "sample": {"temperature": 0.3},
        "tokenizer": {"vocab_size": 800},
        "heldout": {"path": str(heldout)},
        "output": {"path": str(output)},
        **changes,
    }


def run_job(data: dict, base_dir: Path) -> dict:
    job = config_from_dict(data, base_dir=str(base_dir))
    output_directory(job).prepare(LocalStore(), overwrite=job.spec.output.overwrite)
    with beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner"])) as p:
        build(p, job)
    return train_and_compare(job)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("parity")
    inputs, heldout = write_data(root)
    return root, inputs, heldout


@pytest.fixture(scope="module")
def first_run(data):
    root, inputs, heldout = data
    return run_job(config(inputs, heldout, root / "out-a"), root)


def test_balanced_training_lowers_the_worst_parity_ratio(first_run):
    raw, balanced = first_run["raw"]["summary"], first_run["balanced"]["summary"]
    assert raw["max_lang"] in {"hin_Deva", "tam_Taml"}  # a scarce language is worst off
    assert balanced["max"] < 0.8 * raw["max"], first_run["table"]
    assert balanced["spread"] < 0.8 * raw["spread"]
    for lang in ("rus_Cyrl", "hin_Deva", "tam_Taml"):  # every scarce alphabetic language gains
        assert first_run["balanced"]["languages"][lang]["parity"] < first_run["raw"]["languages"][lang]["parity"]
    # Same normalised size, different mixtures: the raw set keeps the corpus' shares.
    sampling = first_run["sampling"]
    sizes = {name: sum(e["norm_bytes_out"] for e in sampling[name]["languages"].values()) for name in ("raw", "balanced")}
    assert sizes["raw"] == pytest.approx(sizes["balanced"], rel=0.02)
    english = {name: sampling[name]["languages"]["eng_Latn"]["achieved_share"] for name in ("raw", "balanced")}
    assert english["raw"] == pytest.approx(sampling["input"]["eng_Latn"]["share_norm_bytes"], abs=0.01)
    assert english["balanced"] < english["raw"] - 0.2
    assert sampling["rows"] == {"read": sum(SEGMENTS.values()) + 2, "rejected": {"read:invalid_utf8": 1}}
    assert all(abs(e["share_error_pp"]) < 2 for e in sampling["balanced"]["languages"].values())


def test_the_pipeline_is_reproducible(data, first_run):
    root, inputs, heldout = data
    again = run_job(config(inputs, heldout, root / "out-b"), root)
    for name in ("raw", "balanced"):
        assert Path(again["training"][name]["model"]).read_bytes() == Path(first_run["training"][name]["model"]).read_bytes()
        assert again[name]["languages"] == first_run[name]["languages"]
    written = json.loads((root / "out-b" / "parity.json").read_text(encoding="utf-8"))
    assert written["balanced"]["summary"] == again["balanced"]["summary"]


def test_config_errors_name_the_key(data, tmp_path):
    root, inputs, heldout = data
    with pytest.raises(ConfigError, match="tokenizer.vocab: unknown option"):
        config_from_dict(config(inputs, heldout, tmp_path / "o", tokenizer={"vocab": 10}), base_dir=str(root))
    with pytest.raises(ConfigError, match="heldout.path: .* does not exist"):
        config_from_dict(config(inputs, tmp_path / "none.tsv", tmp_path / "o", premium={}), base_dir=str(root))
    with pytest.raises(ConfigError, match="sample: set exactly one of temperature"):
        config_from_dict(
            config(inputs, heldout, tmp_path / "o", sample={"temperature": 0.3, "targets": {"eng_Latn": 1.0}}), base_dir=str(root)
        )
    pairs = [
        {
            "name": "p",
            "format": "moses",
            "kind": "bitext",
            "paths": [str(heldout)],
            "options": {"src_lang": "eng_Latn", "tgt_lang": "hin_Deva"},
        }
    ]
    with pytest.raises(ConfigError, match="inputs.0: tokenizer parity trains on segment inputs"):
        config_from_dict(config(pairs, heldout, tmp_path / "o"), base_dir=str(root))
    deriving = [{"translit": {"target": "informal"}}, {"translit_pairs": {"target": "informal"}}]
    with pytest.raises(ConfigError, match="stages.1.translit_pairs: only stages that keep segment records"):
        config_from_dict(config(inputs, heldout, tmp_path / "o", stages=deriving), base_dir=str(root))
