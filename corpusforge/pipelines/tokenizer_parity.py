"""Tokenizer parity before and after byte-budget balancing.

Trains two sentencepiece models on one corpus and reports their parity (Petrov et al. 2023) on
held-out multi-parallel text:

- ``raw``: a sample of the corpus in its own mixture (every language at the same rate);
- ``balanced``: the byte-budget sample the config's ``sample`` options choose (temperature
  ``temperature`` or per-language ``targets``, in normalised bytes),

both of the same normalised size (:func:`corpusforge.analysis.parity.matched_plans`), so the difference
is the mixture's, not the amount of data's.

Beam does what scales: reading, optional segment stages (``lid``, ``normalize``, ...), byte
premiums, statistics and the two samples, written as ``train_raw.txt`` and
``train_balanced.txt``. Training runs after the pipeline in one process (sentencepiece trains
in memory on one machine), then parity is measured. Outputs in ``output.path`` (local):
``raw.model``, ``balanced.model``, ``parity.json`` (sampling report per set, row counts, parity
per language before and after, summaries).

    python -m corpusforge.pipelines.tokenizer_parity config.yaml [--set sample.temperature=0.5] [beam args]

Config keys: ``name``, ``seed``, ``inputs`` (segment inputs, as in recipes), ``stages`` (segment
stages run before premiums, default none), ``premium`` (``BytePremiumAnnotator`` options),
``sample`` (``ByteBudgetSampler`` options; ``seed`` defaults to the config's), ``tokenizer``
(``TokenizerTraining`` options), ``heldout`` (``path``, ``languages``, ``reference``,
``split``), ``output`` (``path``, ``overwrite``). ``build(p, job)`` adds the Beam part to a
pipeline (tests call it); ``train_and_compare(job)`` does the rest; ``main(argv)`` runs both.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apache_beam as beam
import pydantic
from apache_beam import pvalue
from apache_beam.options.pipeline_options import PipelineOptions

from corpusforge.accounting import READ_STAGE, Tally
from corpusforge.analysis.parity import ParityReport, TokenizerTraining, comparison_table, matched_plans, tokenizer_parity, train_tokenizer
from corpusforge.beam.jobs import job_arguments
from corpusforge.beam.read import ReadInputs, ReadSource
from corpusforge.beam.sampling import ComputeLanguageStats
from corpusforge.beam.stages import ApplyStage, SumTallies
from corpusforge.config import (
    ConfigError,
    InputSpec,
    Recipe,
    construct,
    read_config_file,
    recipe_from_dict,
    resolve_option_paths,
    resolve_path,
    validate_config,
)
from corpusforge.languages import LanguageCodeError
from corpusforge.outputs import LocalStore, OutputDirectory, OutputLayout
from corpusforge.premium import REFERENCE, table_code
from corpusforge.transforms.premium import BytePremiumAnnotator
from corpusforge.transforms.sampling import ByteBudgetSampler

TRAINING_SETS = ("raw", "balanced")
SAMPLING_FILE = "_sampling.json"
REPORT_FILE = "parity.json"


class _Strict(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")


class HeldoutSpec(_Strict):
    """Multi-parallel text to measure parity on: a TSV with a column per language or a
    FLORES-style directory; none of it should be in the training inputs."""

    path: str
    languages: list[str] | None = None
    reference: str = REFERENCE
    split: str | None = None


class ParityOutput(_Strict):
    path: str
    overwrite: bool = False


class ParityConfig(_Strict):
    name: str = pydantic.Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    seed: int = 0
    inputs: list[InputSpec] = pydantic.Field(min_length=1)
    stages: list[dict[str, dict[str, Any] | None]] = []
    premium: dict[str, Any] = {}
    sample: dict[str, Any] = {"temperature": 0.3}
    tokenizer: dict[str, Any] = {}
    heldout: HeldoutSpec
    output: ParityOutput


@dataclass(frozen=True)
class ParityJob:
    """A validated config: readers and stages built, paths resolved."""

    spec: ParityConfig
    recipe: Recipe  # the inputs and the stages before premiums
    premium: BytePremiumAnnotator
    sampler: ByteBudgetSampler
    tokenizer: TokenizerTraining
    heldout: Path
    output_dir: Path


def config_from_dict(data: dict, *, base_dir: str, overrides: list[str] | None = None) -> ParityJob:
    """Validate a config (after ``--set`` overrides); input, held-out and premium file paths are relative to
    ``base_dir``, the output path to the working directory, as in recipes. Raises ConfigError."""
    spec = validate_config(ParityConfig, data, overrides)
    if "://" in spec.output.path:
        raise ConfigError(f"output.path: {spec.output.path} must be a local directory (sentencepiece writes there)")
    output_dir = Path(spec.output.path).resolve()
    for index, entry in enumerate(spec.inputs):
        if entry.kind != "segment":
            raise ConfigError(f"inputs.{index}: tokenizer parity trains on segment inputs, not {entry.kind}")
    recipe = recipe_from_dict(
        {
            "name": spec.name,
            "seed": spec.seed,
            "inputs": [entry.model_dump() for entry in spec.inputs],
            "stages": spec.stages,
            "dedup": {"scope": "none"},
            "output": {"path": str(output_dir)},
        },
        base_dir=base_dir,
    )
    for index, stage in enumerate(recipe.stages):
        if stage.derives or "segment" not in stage.kinds:
            raise ConfigError(f"stages.{index}.{stage.name}: only stages that keep segment records can run before training")
    heldout = Path(resolve_path(spec.heldout.path, base_dir))
    if not heldout.exists():
        raise ConfigError(f"heldout.path: {heldout} does not exist")
    try:
        for code in [*(spec.heldout.languages or []), spec.heldout.reference]:
            table_code(code)
    except LanguageCodeError as exc:
        raise ConfigError(f"heldout: {exc}") from None
    return ParityJob(
        spec=spec,
        recipe=recipe,
        premium=construct(BytePremiumAnnotator, resolve_option_paths(spec.premium, base_dir), "premium"),
        sampler=construct(ByteBudgetSampler, {"seed": spec.seed, **spec.sample}, "sample"),
        tokenizer=construct(TokenizerTraining, spec.tokenizer, "tokenizer"),
        heldout=heldout,
        output_dir=output_dir,
    )


def load_config(path: str | Path, overrides: list[str] | None = None) -> ParityJob:
    path = Path(path)
    return config_from_dict(read_config_file(path), base_dir=str(path.parent.resolve()), overrides=overrides)


# -- Beam part ---------------------------------------------------------------------------------
def _sample(batch, name: str, plans: dict):
    kept = plans[name].process(batch).kept
    if kept.num_rows:
        yield kept


def _lines(batch):
    """One element per batch: its non-empty texts, one per line (newlines inside become spaces)."""
    texts = [" ".join(text.splitlines()) for text in batch.column("text").to_pylist() if text and text.strip()]
    if texts:
        yield "\n".join(texts)


def _rows(tally: Tally) -> dict:
    rejected: dict[str, int] = {}
    for (stage, _, outcome), n in sorted(tally.counts.items()):
        if outcome.startswith("rejected:"):
            key = f"{stage}:{outcome.split(':', 1)[1]}"
            rejected[key] = rejected.get(key, 0) + n
    return {"read": tally.total("read", READ_STAGE), "rejected": rejected}


def _write_sampling(stats, path: str, tally: Tally, **reports) -> None:
    content = {"input": stats.languages.to_dict(), "rows": _rows(tally), **reports}
    Path(path).write_text(json.dumps(content, indent=2, ensure_ascii=False), encoding="utf-8")


def build(p: beam.Pipeline, job: ParityJob) -> None:
    """Read → stages → premiums → statistics → the raw and balanced samples as text files, and
    the sampling report (achieved vs target per language for each set, rows read and rejected)."""
    read = p | "Read" >> ReadInputs([ReadSource(i.name, i.reader, i.patterns) for i in job.recipe.inputs])
    records, counts = read.kept, [read.counts]
    for index, stage in enumerate([*job.recipe.stages, job.premium]):
        out = records | f"Stage{index}[{stage.name}]" >> ApplyStage(stage)
        records = out.kept
        counts.append(out.counts)
    stats = records | "Stats" >> ComputeLanguageStats(seed=job.sampler.seed)
    plans = stats | "Plans" >> beam.Map(lambda sampling_stats, sampler: matched_plans(sampler, sampling_stats), job.sampler)
    reports = {}
    for name in TRAINING_SETS:
        kept = records | f"Sample[{name}]" >> beam.FlatMap(_sample, name, pvalue.AsSingleton(plans))
        _ = (
            kept
            | f"Lines[{name}]" >> beam.FlatMap(_lines)
            | f"Write[{name}]"
            >> beam.io.WriteToText(str(job.output_dir / f"train_{name}"), file_name_suffix=".txt", num_shards=1, shard_name_template="")
        )
        achieved = kept | f"Achieved[{name}]" >> ComputeLanguageStats()
        reports[name] = pvalue.AsSingleton(
            plans | f"Report[{name}]" >> beam.Map(lambda ps, got, n: ps[n].report(got), pvalue.AsSingleton(achieved), name)
        )
    tally = counts | "GatherCounts" >> beam.Flatten() | "Account" >> SumTallies()
    _ = stats | "WriteSampling" >> beam.Map(_write_sampling, str(job.output_dir / SAMPLING_FILE), pvalue.AsSingleton(tally), **reports)


# -- after the pipeline ----------------------------------------------------------------------
def train_and_compare(job: ParityJob) -> dict:
    """Train the raw and balanced tokenizers on what :func:`build` wrote, measure parity on the
    held-out text with the corpus' premiums, write ``parity.json`` and return its content."""
    out = job.output_dir
    result: dict[str, Any] = {"name": job.spec.name, "seed": job.spec.seed, "sampler": job.sampler.describe()}
    result["sampling"] = json.loads((out / SAMPLING_FILE).read_text(encoding="utf-8"))
    result["training"], reports = {}, {}
    for name in TRAINING_SETS:
        lines = (out / f"train_{name}.txt").read_text(encoding="utf-8").splitlines()
        model = train_tokenizer(lines, out / f"{name}.model", settings=job.tokenizer, seed=job.spec.seed)
        result["training"][name] = {"lines": len(lines), "bytes": sum(len(line.encode()) for line in lines), "model": str(model)}
        reports[name] = _parity(job, model)
        result[name] = reports[name].to_dict()
    (out / REPORT_FILE).write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    result["table"] = comparison_table(reports["raw"], reports["balanced"], names=TRAINING_SETS)
    return result


def _parity(job: ParityJob, model: Path) -> ParityReport:
    held = job.spec.heldout
    return tokenizer_parity(
        model, parallel=job.heldout, languages=held.languages, reference=held.reference, premiums=job.premium.premiums, split=held.split
    )


# What a run leaves in output.path (WriteToText's temp folders while it runs); overwrite clears
# only these, and only where they are all the directory holds or parity.json is a report of ours.
PARITY_LAYOUT = OutputLayout(
    patterns=(
        *(f"train_{name}.txt" for name in TRAINING_SETS),
        *(f"{name}.model" for name in TRAINING_SETS),
        SAMPLING_FILE,
        REPORT_FILE,
        "beam-temp-*",
        "beam-temp-*/**",
    ),
    marker=REPORT_FILE,
    marker_keys=frozenset({"sampler", "sampling", "training"}),
)


def output_directory(job: ParityJob) -> OutputDirectory:
    """The job's output directory, never holding its inputs or held-out text; its ``prepare``
    refuses a non-empty one unless ``output.overwrite``, and then clears only an earlier parity
    run's files (see :mod:`corpusforge.outputs`)."""
    protected = [p for i in job.recipe.inputs for p in i.patterns] + [str(job.heldout)]
    return OutputDirectory(path=str(job.output_dir), layout=PARITY_LAYOUT, protected=protected)


def run(job: ParityJob, beam_args: list[str] | None = None) -> dict:
    output_directory(job).prepare(LocalStore(), overwrite=job.spec.output.overwrite)
    with beam.Pipeline(options=PipelineOptions(beam_args or ["--runner=DirectRunner"])) as p:
        build(p, job)
    return train_and_compare(job)


def main(argv: list[str] | None = None) -> int:
    args, beam_args = job_arguments("corpusforge.pipelines.tokenizer_parity", __doc__, argv)
    result = run(load_config(args.config, args.set), beam_args)
    print(result["table"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
