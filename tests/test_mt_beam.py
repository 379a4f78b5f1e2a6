"""The translate stage through Beam's RunInference, on the DirectRunner with a tiny copy model."""

from __future__ import annotations

import pickle

import pyarrow as pa
import pytest

pytest.importorskip("ctranslate2")
pytest.importorskip("sentencepiece")

import apache_beam as beam  # noqa: E402
from apache_beam.testing.util import assert_that, equal_to  # noqa: E402

from corpusforge.beam.mt import DEFAULT_GPU_ACCELERATOR, TranslateModelHandler, TranslateSegments  # noqa: E402
from corpusforge.beam.stages import SumTallies  # noqa: E402
from corpusforge.mt.testing import build_model  # noqa: E402
from corpusforge.schemas import load_schema  # noqa: E402
from corpusforge.transforms.translate import TranslateStage  # noqa: E402

TEXTS = [
    "The cat sat on the mat. It was happy!",
    "बिल्ली चटाई पर बैठी थी। वह खुश थी।",
    "A quick brown fox jumps over the lazy dog.",
    "Où est la gare ? Elle est là.",
    "",
    "One more line about cats, dogs and foxes.",
]
LANGS = ["eng_Latn", "hin_Deva", "eng_Latn", "fra_Latn", "eng_Latn", "eng_Latn"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return build_model(tmp_path_factory.mktemp("mt") / "nllb", TEXTS * 2)


def batches() -> list[pa.RecordBatch]:
    rows = [{"id": f"r{i}", "source": "demo", "text": t, "lang": lang} for i, (t, lang) in enumerate(zip(TEXTS, LANGS))]
    schema = load_schema("segment")
    return [pa.RecordBatch.from_pylist(rows[i : i + 2], schema=schema) for i in range(0, len(rows), 2)]


def run(stage: TranslateStage, handler: TranslateModelHandler):
    """Kept (source_id, tgt_lang, tgt_text), rejected (id, reason) and the summed tally of one pipeline."""
    expected = [stage.process(b) for b in batches()]
    want_kept = [(r["source_id"], r["tgt_lang"], r["tgt_text"]) for s in expected for r in s.kept.to_pylist()]
    want_rejected = [(r["id"], r["reason"]) for s in expected for r in s.rejected.to_pylist()]
    with beam.Pipeline(runner="DirectRunner") as p:
        out = p | beam.Create(batches()) | TranslateSegments(stage, handler=handler)
        kept = out.kept | "Kept" >> beam.FlatMap(lambda b: [(r["source_id"], r["tgt_lang"], r["tgt_text"]) for r in b.to_pylist()])
        rejected = out.rejected | "Rejected" >> beam.FlatMap(lambda b: [(r["id"], r["reason"]) for r in b.to_pylist()])
        totals = out.counts | SumTallies() | beam.Map(lambda t: (t.total("created"), t.total("out"), t.total("rejected")))
        assert_that(kept, equal_to(want_kept), label="kept")
        assert_that(rejected, equal_to(want_rejected), label="rejected")
        n_kept, n_rejected = len(want_kept), len(want_rejected)
        assert_that(totals, equal_to([(n_kept + n_rejected, n_kept, n_rejected)]), label="tally")
    return want_kept


def test_pipeline_translates_every_batch_like_the_stage(model):
    stage = TranslateStage(model=model, targets=["fra_Latn", "hin_Deva"], beam_size=1)
    kept = run(stage, TranslateModelHandler(stage, batch_tokens=24))  # small groups: several inference calls
    assert len(kept) == 8 and ("r0", "fra_Latn", TEXTS[0]) in kept  # 5 non-empty texts x 2 targets - 2 same-language


def test_model_shared_across_processes_gives_the_same_rows(model):
    # The GPU worker's code path (one engine behind Beam's cross-process proxy), run on CPU.
    stage = TranslateStage(model=model, targets=["fra_Latn"], beam_size=1)
    run(stage, TranslateModelHandler(stage, share_across_processes=True))


def test_handler_pickles_without_a_model_and_asks_for_a_gpu_only_on_cuda(model):
    import ctranslate2

    cpu = TranslateModelHandler(TranslateStage(model=model, targets=["fra_Latn"], device="cpu"))
    assert not cpu.share_model_across_processes() and cpu.get_resource_hints() == {}
    auto = TranslateModelHandler(TranslateStage(model=model, targets=["fra_Latn"], device="auto"))
    # auto shares the model exactly where it will sit on a GPU; it asks for no GPU by itself
    assert auto.share_model_across_processes() == (ctranslate2.get_cuda_device_count() > 0)
    assert auto.get_resource_hints() == {}
    gpu = TranslateModelHandler(TranslateStage(model=model, targets=["fra_Latn", "hin_Deva"], device="cuda"))
    assert gpu.share_model_across_processes() and gpu.get_resource_hints() == {"accelerator": DEFAULT_GPU_ACCELERATOR}
    assert b"ctranslate2" not in pickle.dumps(gpu)  # nothing loaded, so nothing of the engine travels
    weigh = gpu.batch_elements_kwargs()["element_size_fn"]
    assert weigh(batches()[0]) == 2 * ((len(TEXTS[0].encode()) + len(TEXTS[1].encode())) // 4)  # bytes / 4, two targets
