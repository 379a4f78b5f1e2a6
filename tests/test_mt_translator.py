"""Contract of the CTranslate2 translator and the translate stage, on tiny models built offline.

A *copy* model (weights set by hand, see corpusforge.mt.testing) translates every sentence
into itself, so order, prefixes, sentence rejoining and truncation show in the output text.
A *random* model exercises real attention for batch invariance.
"""

from __future__ import annotations

import csv
import logging
import pickle
from pathlib import Path

import pyarrow as pa
import pytest

ctranslate2 = pytest.importorskip("ctranslate2")
pytest.importorskip("sentencepiece")

from corpusforge.mt import Ct2Translator, LanguageNotSupported, ModelDirectoryError  # noqa: E402
from corpusforge.mt.sentences import split_sentences  # noqa: E402
from corpusforge.mt.testing import Shape, build_model  # noqa: E402
from corpusforge.schemas import extend, load_schema  # noqa: E402
from corpusforge.transforms.translate import MT_FIELDS, TranslateStage  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

TEXTS = [
    "The cat sat on the mat. It was happy!",
    "Le chat est assis sur le tapis.",
    "बिल्ली चटाई पर बैठी थी। वह खुश थी।",
    "A quick brown fox jumps over the lazy dog.",
    "Is it raining? Yes, it rains every day in the autumn.",
    "Où est la gare ? Elle est là.",
    "मैं घर जा रहा हूँ।",
    "One more line about cats, dogs and foxes.",
]
LANGS = ["eng_Latn", "fra_Latn", "hin_Deva", "eng_Latn", "eng_Latn", "fra_Latn", "hin_Deva", "eng_Latn"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("mt")
    return {
        "nllb": build_model(root / "nllb", TEXTS, convention="nllb"),
        "m2m": build_model(root / "m2m", TEXTS, convention="m2m"),
        "marian": build_model(root / "marian", TEXTS, convention="marian", languages=("fra_Latn",)),
        "marian_multi": build_model(root / "marian_multi", TEXTS, convention="marian"),
        "generic": build_model(root / "generic", TEXTS, convention="generic", languages=("fra_Latn",)),
        "random": build_model(root / "random", TEXTS, kind="random", shape=Shape(2, 2, 4, 64, 128)),
    }


def segments(rows: list[dict]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist(rows, schema=load_schema("segment"))


@pytest.mark.parametrize("name", ["nllb", "m2m", "marian", "marian_multi", "generic"])
def test_copy_model_returns_each_text_in_order_for_every_convention(models, name):
    translator = Ct2Translator(models[name], beam_size=1, max_batch_tokens=32)  # several engine batches
    assert translator.info.convention == name.split("_")[0]
    out = translator.translate(TEXTS, src_lang=LANGS, tgt_lang="fra_Latn")
    assert [t.text for t in out] == TEXTS  # one output per input, order kept, tags stripped, sentences rejoined
    assert all(t.score is not None and t.score < 0 and not t.truncated for t in out)
    assert [t.sentences for t in out][:3] == [2, 1, 2]


def test_target_language_is_forced_as_first_token(models):
    translator = Ct2Translator(models["random"], beam_size=1, max_decoding_length=6)
    translator.setup()
    for target in ("fra_Latn", "hin_Deva", "eng_Latn"):
        source, prefix, _ = translator.tags.frame(["▁The", "▁cat"], src_lang="eng_Latn", tgt_lang=target, max_length=16)
        assert source[0] == "eng_Latn" and source[-1] == "</s>" and prefix == [target]
        ((tokens, _),) = translator.engine.translate_tokens([source], [prefix], translator.options)
        assert tokens[0] == target  # random weights, yet the forced prefix is honoured
    # the translator strips the prefix from what users see
    assert all(tag not in t.text for t in translator.translate(TEXTS, src_lang=LANGS, tgt_lang="hin_Deva") for tag in translator.tags.tags)


def test_fan_out_tags_each_copy_with_its_target(models):
    translator = Ct2Translator(models["marian_multi"], beam_size=1)
    source, prefix, _ = translator.tags.frame(["▁x"], src_lang=None, tgt_lang="hin_Deva", max_length=0)
    assert source == [">>hin<<", "▁x", "</s>"] and prefix is None  # multi-target Marian tags the source


@pytest.mark.parametrize("beam_size", [1, 3])
def test_a_sentence_alone_translates_as_inside_a_batch(models, beam_size):
    translator = Ct2Translator(models["random"], beam_size=beam_size, max_decoding_length=12, max_batch_tokens=48)
    batch = translator.translate(TEXTS, src_lang=LANGS, tgt_lang="fra_Latn")
    alone = [translator.translate([text], src_lang=lang, tgt_lang="fra_Latn")[0] for text, lang in zip(TEXTS, LANGS)]
    assert [t.text for t in batch] == [t.text for t in alone]
    assert [t.score for t in batch] == pytest.approx([t.score for t in alone], abs=1e-4)
    assert len({t.text for t in batch}) > 1  # outputs differ, so the comparison means something


class _FullGpu:
    """The real tiny model, failing as CTranslate2 does on a full GPU when a call's token
    batch size is above ``limit``."""

    def __init__(self, translator, limit: int):
        self._translator, self._limit, self.sizes = translator, limit, []

    def translate_batch(self, sources, *, max_batch_size, **options):
        self.sizes.append(max_batch_size)
        if max_batch_size > self._limit:
            raise RuntimeError("CUDA failed with error out of memory")
        return self._translator.translate_batch(sources, max_batch_size=max_batch_size, **options)


def test_out_of_memory_halves_the_token_batch_and_keeps_every_translation(models, caplog):
    translator = Ct2Translator(models["random"], beam_size=1, max_decoding_length=12, max_batch_tokens=64)
    expected = translator.translate(TEXTS, src_lang=LANGS, tgt_lang="fra_Latn")
    full = translator.engine._translator = _FullGpu(translator.engine._translator, limit=20)
    with caplog.at_level(logging.WARNING, logger="corpusforge.mt"):
        out = translator.translate(TEXTS, src_lang=LANGS, tgt_lang="fra_Latn")
    assert [t.text for t in out] == [t.text for t in expected]
    assert [t.score for t in out] == pytest.approx([t.score for t in expected], abs=1e-4)
    assert full.sizes == [64, 32, 16] and "retrying with max_batch_size 16" in caplog.text
    translator.translate(TEXTS[:2], src_lang=LANGS[:2], tgt_lang="fra_Latn")
    assert full.sizes[3:] == [16]  # later calls start from the size that fitted
    full._limit = 0  # not even one sentence fits: the error reaches the caller
    with pytest.raises(RuntimeError, match="out of memory"):
        translator.translate(TEXTS[:1], src_lang=LANGS[:1], tgt_lang="fra_Latn")


def test_long_input_is_cut_and_flagged(models):
    translator = Ct2Translator(models["nllb"], beam_size=1, max_input_length=8, split_sentences=False)
    long_text, short_text = "A quick brown fox jumps over the lazy dog.", "Yes"
    out = translator.translate([long_text, short_text], src_lang="eng_Latn", tgt_lang="fra_Latn")
    assert out[0].truncated and not out[1].truncated
    assert long_text.startswith(out[0].text) and len(out[0].text) < len(long_text)  # kept the head of the sentence
    assert out[1].text == short_text


def test_identical_sentences_are_translated_once_and_returned_everywhere(models):
    translator = Ct2Translator(models["nllb"], beam_size=1)
    out = translator.translate([TEXTS[0], TEXTS[1], TEXTS[0]], src_lang="eng_Latn", tgt_lang="fra_Latn")
    assert [t.text for t in out] == [TEXTS[0], TEXTS[1], TEXTS[0]]


def test_missing_model_directory_is_a_clear_error(tmp_path, models):
    with pytest.raises(ModelDirectoryError, match="does not exist"):
        Ct2Translator(tmp_path / "nope")
    with pytest.raises(ModelDirectoryError, match="model.bin"):
        Ct2Translator(tmp_path)
    with pytest.raises(ValueError, match=str(tmp_path / "gone")):
        TranslateStage(model=tmp_path / "gone", targets=["fra_Latn"])


def test_language_the_model_lacks_is_a_clear_error(models):
    translator = Ct2Translator(models["nllb"], beam_size=1)
    with pytest.raises(LanguageNotSupported, match=r"deu_Latn.*3 languages"):
        translator.translate(["Hallo"], src_lang="eng_Latn", tgt_lang="de")
    with pytest.raises(LanguageNotSupported, match="zul_Latn"):
        translator.translate(["Hallo"], src_lang="zu", tgt_lang="fra_Latn")
    with pytest.raises(ValueError, match="needs the source language"):
        translator.translate(["Hallo"], tgt_lang="fra_Latn")
    with pytest.raises(LanguageNotSupported, match="deu_Latn"):
        TranslateStage(model=models["nllb"], targets=["fra_Latn", "deu_Latn"])
    with pytest.raises(ValueError, match="one language only"):
        TranslateStage(model=models["marian"], targets=["fra_Latn", "hin_Deva"])


def test_sentences_split_on_many_scripts_and_keep_their_gaps():
    cases = {
        "hin_Deva": ("यह एक वाक्य है। यह दूसरा है।", 2),
        "urd_Arab": ("یہ ایک جملہ ہے۔ کیا یہ دوسرا ہے؟", 2),
        "zho_Hans": ("这是一个句子。这是第二个！", 2),
        "eng_Latn": ("  Dr. Smith came.\n\nHe left.  ", 2),
    }
    for lang, (text, n) in cases.items():
        doc = split_sentences(text, lang)
        assert len(doc.sentences) == n, (lang, doc)
        assert doc.join(doc.sentences) == text
    assert split_sentences("   ", "eng_Latn").sentences == []
    # a space between sentences goes when the target script writes none
    assert split_sentences("It rains. It pours.", "eng_Latn").join(["下雨。", "倾盆。"], lang="zho_Hans") == "下雨。倾盆。"


def test_stage_fans_out_to_bitext_and_rejects_with_reasons(models):
    stage = TranslateStage(model=models["nllb"], targets=["fr", "hin_Deva"], src_lang="eng_Latn", beam_size=1)
    assert stage.translator.engine is None and len(pickle.dumps(stage)) < 20_000  # cheap, nothing loaded
    batch = segments(
        [
            {"id": "a", "source": "s", "text": TEXTS[0], "lang": None, "meta": [{"key": "label", "value": "entailment"}]},
            {"id": "b", "source": "s", "text": TEXTS[2], "lang": "hin_Deva"},
            {"id": "c", "source": "s", "text": "  ", "lang": "eng_Latn"},
            {"id": "d", "source": "t", "text": "Hallo Welt.", "lang": "deu_Latn"},
        ]
    )
    split = stage.process(batch)
    kept = split.kept.to_pylist()
    assert split.kept.schema == extend(load_schema("bitext"), MT_FIELDS)
    assert [(r["source_id"], r["tgt_lang"]) for r in kept] == [("a", "fra_Latn"), ("a", "hin_Deva"), ("b", "fra_Latn")]
    first = kept[0]
    assert first["src_text"] == first["tgt_text"] == TEXTS[0]  # copy model
    assert (first["src_lang"], first["origin"], first["meta"]) == ("eng_Latn", "mt", [{"key": "label", "value": "entailment"}])
    assert first["mt_model"] == stage.translator.info.model_id and first["mt_truncated"] is False
    assert len({r["id"] for r in kept}) == 3
    reasons = sorted((r["reason"], r["source"]) for r in split.rejected.to_pylist())
    assert reasons == [("empty_text", "s")] * 2 + [("same_language", "s")] + [("unsupported_src_lang", "t")] * 2
    tally = stage.tally(split)
    assert tally.total("created") == 8 == tally.total("out") + tally.total("rejected")
    assert stage.process(batch).kept.column("id").to_pylist() == split.kept.column("id").to_pylist()  # deterministic


def test_long_runs_log_segments_and_target_tokens_per_worker(models, monkeypatch, caplog):
    from corpusforge import progress

    monkeypatch.setattr(progress, "INTERVAL_SECONDS", 0.0)  # as if every batch took 10 s
    stage = TranslateStage(model=models["nllb"], targets=["fra_Latn", "hin_Deva"], src_lang="eng_Latn", beam_size=1)
    batch = segments([{"id": str(i), "source": "s", "text": TEXTS[i]} for i in (0, 3, 4)])
    tokens = sum(
        t.target_tokens
        for t in stage.translator.translate(
            [TEXTS[i] for i in (0, 3, 4)] * 2, src_lang="eng_Latn", tgt_lang=["fra_Latn"] * 3 + ["hin_Deva"] * 3
        )
    )
    with caplog.at_level(logging.INFO, logger="corpusforge.mt"):
        stage.process(batch)
        worker = pickle.loads(pickle.dumps(stage))  # a Beam worker starts its own count
        stage.process(batch)
        worker.process(batch)
    lines = [r.getMessage() for r in caplog.records if r.name == "corpusforge.mt"]
    assert [line.split(" target tokens,")[0] for line in lines] == [
        f"translate: 3 segments, {tokens:,}",
        f"translate: 6 segments, {2 * tokens:,}",
        f"translate: 3 segments, {tokens:,}",
    ]


def test_backtranslation_puts_the_translation_on_the_source_side(models):
    stage = TranslateStage(model=models["nllb"], targets=["eng_Latn"], origin="backtranslation", beam_size=1)
    (row,) = stage.process(segments([{"id": "h", "source": "s", "text": TEXTS[6], "lang": "hin_Deva"}])).kept.to_pylist()
    assert (row["src_lang"], row["tgt_lang"], row["tgt_text"], row["origin"]) == ("eng_Latn", "hin_Deva", TEXTS[6], "backtranslation")


def test_round_trip_scores_each_pair_by_translating_it_back(models):
    stage = TranslateStage(model=models["nllb"], targets=["fra_Latn"], beam_size=1, round_trip=True, max_input_length=20)
    rows = [{"id": str(i), "source": "s", "text": t, "lang": lang} for i, (t, lang) in enumerate(zip(TEXTS, LANGS)) if lang != "fra_Latn"]
    kept = stage.process(segments(rows)).kept
    assert kept.schema.names[-1] == "mt_round_trip_chrf"
    rows = kept.to_pylist()
    # the copy model's round trip is lossless unless the input was cut to 20 tokens
    assert all((r["mt_round_trip_chrf"] < 100) == r["mt_truncated"] for r in rows)
    assert any(r["mt_truncated"] for r in rows) and any(not r["mt_truncated"] for r in rows)
    with pytest.raises(ValueError, match="many-to-many"):
        TranslateStage(model=models["marian_multi"], targets=["fra_Latn"], round_trip=True)


@pytest.mark.shared_data
@pytest.mark.skipif(not (SHARED_DATA / "parallel_dev.tsv").is_file(), reason="../shared/data is absent")
def test_real_multilingual_text_survives_the_copy_round_trip(tmp_path):
    columns = {"en": "eng_Latn", "hi": "hin_Deva", "ur": "urd_Arab", "zh_Hans": "zho_Hans", "ar": "arb_Arab", "ta": "tam_Taml"}
    with open(SHARED_DATA / "parallel_dev.tsv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[:60]
    texts, langs = [], []
    for row in rows:
        for column, lang in columns.items():
            if row.get(column):
                texts.append(row[column])
                langs.append(lang)
    model = build_model(tmp_path / "m", texts, languages=tuple(columns.values()) + ("fra_Latn",), spm_vocab_size=2000)
    translator = Ct2Translator(model, beam_size=1, max_input_length=300)
    out = translator.translate(texts, src_lang=langs, tgt_lang="fra_Latn")
    identical = sum(t.text == text for t, text in zip(out, texts))
    assert identical >= 0.95 * len(texts), [(t.text, text) for t, text in zip(out, texts) if t.text != text][:5]


def _has_cuda() -> bool:
    try:
        return ctranslate2.get_cuda_device_count() > 0
    except Exception:
        return False


@pytest.mark.skipif(_has_cuda(), reason="needs a machine without a CUDA GPU")
def test_cuda_without_a_gpu_says_what_the_worker_lacks(models):
    translator = Ct2Translator(models["nllb"], device="cuda")  # cheap: nothing loads yet
    with pytest.raises(RuntimeError, match=r"sees 0 CUDA device\(s\).*corpusforge\[gpu\].*device: auto"):
        translator.setup()
    auto = Ct2Translator(models["nllb"], device="auto", beam_size=1)
    assert auto.translate(["A cat."], src_lang="eng_Latn", tgt_lang="fra_Latn")[0].text == "A cat."
    assert auto.engine.device == "cpu"


@pytest.mark.gpu
@pytest.mark.skipif(not _has_cuda(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("compute_type", ["float16", "int8_float16"])
def test_cuda_translates_like_cpu(models, compute_type):
    cpu = Ct2Translator(models["random"], device="cpu", compute_type="float32", beam_size=2, max_decoding_length=10)
    gpu = Ct2Translator(models["random"], device="cuda", compute_type=compute_type, beam_size=2, max_decoding_length=10)
    copy = Ct2Translator(models["nllb"], device="cuda", compute_type=compute_type, beam_size=1)
    assert [t.text for t in copy.translate(TEXTS, src_lang=LANGS, tgt_lang="fra_Latn")] == TEXTS
    gpu_out = gpu.translate(TEXTS, src_lang=LANGS, tgt_lang="hin_Deva")
    assert gpu.engine.device == "cuda" and len(gpu_out) == len(TEXTS)
    cpu_out = cpu.translate(TEXTS, src_lang=LANGS, tgt_lang="hin_Deva")
    agree = sum(a.text == b.text for a, b in zip(gpu_out, cpu_out))
    assert agree >= len(TEXTS) - 2  # reduced precision may flip a near-tie of random weights
