"""Translate stage through a Beam pipeline against raw ``ctranslate2.Translator.translate_batch``,
same model, same inputs, same run: target tokens per second and their ratio.

The model is built offline with random weights (corpusforge.mt.testing): on CPU Transformer-base
(6+6 layers, d=512, 32k vocabulary), with ``--device cuda`` NLLB-600M-shaped (12+12 layers,
d=1024, 256k vocabulary) in float16 and int8_float16. Decoding length is fixed (min = max), so
both sides produce the same number of tokens. Inputs are synthetic one-sentence texts.

- raw: model load + ``translate_batch`` on pre-tokenised, pre-framed inputs (tokenising is
  not timed): the floor any wrapper pays.
- stage: ``TranslateSegments`` (RunInference + TranslateModelHandler) on the DirectRunner with
  one worker, from segment RecordBatches to bitext RecordBatches: pipeline start, model load,
  sentence splitting, sentencepiece both ways, Arrow in and out. Printed twice: everything
  included, and minus the pipeline's fixed cost (the same pipeline on one sentence: start and
  model load, ~1 s here), which a corpus-sized job pays once.

    nice .venv/bin/python benchmarks/mt_throughput.py [--sentences 1500] [--length 32] [--repeat 2]
    .venv/bin/python benchmarks/mt_throughput.py --device cuda [--sentences 4000]
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import apache_beam as beam
import ctranslate2
import pyarrow as pa
from apache_beam.options.pipeline_options import PipelineOptions

from corpusforge.beam.mt import TranslateModelHandler, TranslateSegments
from corpusforge.mt.testing import NLLB_600M, TRANSFORMER_BASE, build_model
from corpusforge.mt.translator import Ct2Translator
from corpusforge.schemas import load_schema
from corpusforge.transforms.translate import TranslateStage

SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "pe", "do", "gu", "ha", "ji", "wo", "ze", "fa", "bi", "cu"]


def synthetic_sentences(n: int, seed: int = 0) -> list[str]:
    """Seeded one-sentence texts of 8-30 pseudo-words, with no inner sentence terminator."""
    rng = random.Random(seed)
    words = ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4))) for _ in range(3000)]
    return [" ".join(rng.choice(words) for _ in range(rng.randint(8, 30))).capitalize() + "." for _ in range(n)]


def run_raw(model: Path, sources, prefixes, options: dict, engine_args: dict) -> tuple[float, float, int]:
    start = time.perf_counter()
    translator = ctranslate2.Translator(str(model), **engine_args)
    loaded = time.perf_counter()
    results = translator.translate_batch(sources, target_prefix=prefixes, return_scores=True, **options)
    done = time.perf_counter()
    tokens = sum(len(r.hypotheses[0]) - 1 for r in results)  # minus the forced target-language prefix
    del translator
    return loaded - start, done - loaded, tokens


def run_stage(stage: TranslateStage, batches: list[pa.RecordBatch]) -> float:
    options = PipelineOptions(flags=[], direct_num_workers=1, direct_running_mode="in_memory")
    start = time.perf_counter()
    with beam.Pipeline(runner="DirectRunner", options=options) as p:
        out = p | beam.Create(batches) | TranslateSegments(stage, handler=TranslateModelHandler(stage))
        counted = out.kept | beam.Map(lambda b: b.num_rows) | beam.CombineGlobally(sum)
        counted | beam.Map(lambda n: print(f"  stage wrote {n} bitext rows"))
    return time.perf_counter() - start


def gpu_name() -> str:
    try:  # nvidia-smi, so this process does not initialise CUDA before Beam starts workers
        return subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown GPU"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--sentences", type=int, default=None, help="default 1500 on CPU (~25 s a side on 2 cores), 4000 on CUDA")
    parser.add_argument("--length", type=int, default=32, help="target tokens per sentence (min = max decoding length)")
    parser.add_argument("--beam-size", type=int, default=1)
    parser.add_argument("--max-batch-tokens", type=int, default=None, help="default 4096 on CPU, 16384 on CUDA")
    parser.add_argument("--batch-rows", type=int, default=64, help="rows per segment RecordBatch fed to the pipeline")
    parser.add_argument("--threads", type=int, default=2, help="CTranslate2 intra_threads on CPU")
    parser.add_argument("--compute-types", default=None, help="comma-separated; default int8 on CPU, float16,int8_float16 on CUDA")
    parser.add_argument("--repeat", type=int, default=1, help="runs per side, alternating; the best of each is kept")
    parser.add_argument("--keep-model", type=Path, default=None, help="build the model here and keep it")
    args = parser.parse_args(argv)

    cuda = args.device == "cuda"
    n = args.sentences or (4000 if cuda else 1500)
    max_batch_tokens = args.max_batch_tokens or (16384 if cuda else 4096)
    compute_types = (args.compute_types or ("float16,int8_float16" if cuda else "int8")).split(",")
    shape, vocab = (NLLB_600M, 256_206) if cuda else (TRANSFORMER_BASE, 32_000)

    workdir = Path(tempfile.mkdtemp(prefix="mt_bench_"))
    model_dir = args.keep_model or workdir / "model"
    texts = synthetic_sentences(n)
    started = time.perf_counter()
    if not (model_dir / "model.bin").is_file():
        build_model(
            model_dir, texts, kind="random", shape=shape, vocab_size=vocab, spm_vocab_size=8000, quantization="float16" if cuda else "int8"
        )
    print(f"model: {shape} vocab {vocab}, built in {time.perf_counter() - started:.1f} s at {model_dir}")
    print(
        f"device: {gpu_name() if cuda else f'cpu, {args.threads} threads'}; {n} sentences, "
        f"{args.length} target tokens each, beam {args.beam_size}, max_batch_tokens {max_batch_tokens}"
    )

    schema = load_schema("segment")
    rows = [{"id": f"s{i}", "source": "bench", "text": t, "lang": "eng_Latn"} for i, t in enumerate(texts)]
    batches = [pa.RecordBatch.from_pylist(rows[i : i + args.batch_rows], schema=schema) for i in range(0, n, args.batch_rows)]
    threads = 1 if cuda else args.threads
    for compute_type in compute_types:
        stage = TranslateStage(
            model=model_dir,
            targets=["fra_Latn"],
            device=args.device,
            compute_type=compute_type,
            beam_size=args.beam_size,
            max_batch_tokens=max_batch_tokens,
            max_decoding_length=args.length,
            min_decoding_length=args.length,
            intra_threads=threads,
        )
        translator: Ct2Translator = stage.translator
        framed = [
            translator.tags.frame(p, src_lang="eng_Latn", tgt_lang="fra_Latn", max_length=translator.max_input_length)
            for p in translator.tokenizer.encode(texts)
        ]
        sources, prefixes = [f[0] for f in framed], [f[1] for f in framed]
        engine_args = {"device": args.device, "compute_type": compute_type, "intra_threads": threads}

        raw_runs, stage_runs, fixed_runs = [], [], []
        for _ in range(args.repeat):  # alternate the sides; keep each side's best run
            raw_runs.append(run_raw(model_dir, sources, prefixes, translator.options, engine_args))
            stage_runs.append(run_stage(stage, batches))
            fixed_runs.append(run_stage(stage, [batches[0].slice(0, 1)]))  # start + load + one sentence
        load_s, raw_s, tokens = min(raw_runs, key=lambda r: r[0] + r[1])
        stage_s, fixed_s = min(stage_runs), min(fixed_runs)
        raw_tps = tokens / raw_s
        print(f"{compute_type}: {tokens} target tokens; model load {load_s:.2f} s; pipeline fixed cost {fixed_s:.2f} s")
        for label, seconds in (
            ("raw translate_batch", raw_s),
            ("stage through Beam, everything", stage_s),
            ("stage through Beam, minus fixed", stage_s - fixed_s),
        ):
            print(f"  {label:32s} {seconds:7.2f} s {tokens / seconds:9.0f} tok/s   ratio {tokens / seconds / raw_tps:.3f}")
    if args.keep_model is None:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
