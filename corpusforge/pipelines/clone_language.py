"""Cloned-language corpora (Schäfer et al. 2024): a corpus and a sentencepiece model in, token
ids of a language and its clone out, for controlled cross-lingual transfer experiments.

``python -m corpusforge.pipelines.clone_language CONFIG.yaml [--set key=value] [beam options]``

.. code-block:: yaml

    name: wiki-clone
    seed: 13
    inputs:                       # as a recipe's inputs (segment records)
      - {name: wiki_en, format: jsonl, paths: ["data/*.jsonl.gz"], options: {lang: eng_Latn}}
    model: spm/en.model           # a sentencepiece model (V pieces)
    p_clone: 0.1                  # or one value per schedule step: [0.5, 0.3, 0.1]
    frac_clone: 1.0               # share of pieces with a clone; the rest are shared anchors
    output: out/wiki-clone

Outputs under ``output``:

- ``cloned/step-NNNN/part-*.parquet``: ``cloned.v1`` records (``ids: list<int32>``, ``clone``,
  ``step``, ``source_id``), one folder per schedule step; train on the steps in order;
- ``vocab.tsv``: the doubled vocabulary, ``id, piece, original_id, cloned`` for ids 0..2V-1;
- ``rejected/``: segments the readers refused, and text that gives no token (``no_tokens``);
- ``_manifest.json``: counts that balance, ``clone`` (the settings, V, and the sorted ids of the
  cloned pieces: the seeded choice) and ``clone_steps`` (sequences, cloned share and shifted
  tokens per step).

Every choice is a hash of (seed, key) (:mod:`corpusforge.clone`): a rerun, or a run on another
runner, writes the same shards byte for byte. ``build(p, cfg)`` adds the job to a pipeline
(tests call it); ``main(argv)`` runs it.
"""

from __future__ import annotations

import functools
import json
import os
import posixpath
import sys

import apache_beam as beam
import pydantic

from corpusforge.beam.jobs import run_job
from corpusforge.beam.outputs import write_atomically
from corpusforge.beam.read import ReadInputs, ReadSource
from corpusforge.beam.stages import ApplyStage, ReportStatistics, SumTallies
from corpusforge.beam.write import WriteManifest, WriteShards
from corpusforge.clone import LanguageCloner
from corpusforge.config import ConfigError, InputSpec, construct, read_config_file, resolve_inputs, resolve_path, validate_config
from corpusforge.io.shards import ShardMetadata
from corpusforge.records import stable_id
from corpusforge.schemas import load_schema, schema_id
from corpusforge.transforms.clone import CloneSequences, CloneStats

VOCAB_FILE = "vocab.tsv"


class CloneConfig(pydantic.BaseModel):
    """What the job does (see the module docstring)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    name: str = pydantic.Field(default="clone", pattern=r"^[A-Za-z0-9_.\-]+$")
    seed: int = 0
    inputs: list[InputSpec] = pydantic.Field(min_length=1)
    model: str
    p_clone: float | list[float] = 0.1
    frac_clone: float = pydantic.Field(default=1.0, ge=0.0, le=1.0)
    shard_count: int | None = pydantic.Field(default=1, ge=1)  # per step; None: streaming shards (not byte-stable)
    output: str


def make_stage(cfg: CloneConfig) -> CloneSequences:
    """The clone stage of ``cfg``, set up now so a missing or broken model fails before the run."""
    stage = construct(
        CloneSequences, {"model": cfg.model, "p_clone": cfg.p_clone, "frac_clone": cfg.frac_clone, "seed": cfg.seed}, "config"
    )
    try:
        stage.setup()
    except (OSError, RuntimeError) as exc:
        raise ConfigError(f"model: {exc}") from None
    return stage


def build(p: beam.Pipeline, cfg: CloneConfig | dict) -> None:
    """Add the clone-language job for ``cfg`` to ``p`` (config, model and inputs checked first)."""
    if isinstance(cfg, dict):
        cfg = validate_config(CloneConfig, cfg)
    inputs = resolve_inputs(cfg.inputs, os.getcwd())  # load_config made the paths absolute
    if any(i.kind != "segment" for i in inputs):
        raise ConfigError("inputs: the clone-language job reads segment records (text), not bitext")
    stage = make_stage(cfg)
    cloner = stage.cloner
    digest = stable_id(json.dumps(cfg.model_dump(mode="json", exclude={"output"}), sort_keys=True))[:16]
    stages = [stage.describe()]
    models = {"sentencepiece": cloner.model_id}
    read = p | "Read" >> ReadInputs([ReadSource(i.name, i.reader, i.patterns) for i in inputs])
    cloned = read.kept | "Clone" >> ApplyStage(stage, kind="segment")

    def metadata(kind: str) -> ShardMetadata:
        return ShardMetadata(schema=schema_id(kind), recipe_hash=digest, stages=tuple(stages), models=models)

    shards = {
        "cloned": cloned.kept
        | "Write[cloned]"
        >> WriteShards(
            posixpath.join(cfg.output, "cloned"),
            schema=load_schema("cloned"),
            metadata=metadata("cloned"),
            shard_count=cfg.shard_count,
            partition_by="step",
        ),
        "rejected": (read.rejected, cloned.rejected)
        | "GatherRejected" >> beam.Flatten()
        | "Write[rejected]"
        >> WriteShards(
            posixpath.join(cfg.output, "rejected"),
            schema=load_schema("rejected"),
            metadata=metadata("rejected"),
            shard_count=cfg.shard_count,
        ),
    }
    vocab = p | "Vocabulary" >> beam.Create([None]) | "WriteVocabulary" >> beam.Map(lambda _: write_vocabulary(cloner, cfg.output))
    settings = {**stage.describe(), "cloned_piece_ids": cloner.cloned_pieces(), "vocab_file": VOCAB_FILE}
    sections = {
        "clone": vocab | "CloneSection" >> beam.Map(lambda _, s: s, settings),  # after the vocabulary is written
        "clone_steps": cloned.kept | "CloneSteps" >> ReportStatistics(functools.partial(CloneStats, vocab_size=cloner.vocab_size)),
    }
    _ = p | "Manifest" >> WriteManifest(
        cfg.output,
        config=cfg.model_dump(mode="json"),
        recipe_hash=digest,
        outputs=shards,
        tally=(read.counts, cloned.counts) | "GatherCounts" >> beam.Flatten() | "Account" >> SumTallies(),
        stages=stages,
        models=models,
        sections=sections,
    )


def write_vocabulary(cloner: LanguageCloner, output: str) -> str:
    """Write ``<output>/vocab.tsv`` (temp file, then rename) on any Beam filesystem; its path."""
    path = posixpath.join(output, VOCAB_FILE)
    lines = ["id\tpiece\toriginal_id\tcloned"]
    lines += [f"{i}\t{_escape(piece)}\t{original}\t{str(cloned).lower()}" for i, piece, original, cloned in cloner.vocabulary_rows()]
    write_atomically(path, ("\n".join(lines) + "\n").encode("utf-8"), "text/tab-separated-values")
    return path


def _escape(piece: str) -> str:
    return piece.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def load_config(path: str, overrides: list[str] | None = None) -> CloneConfig:
    """A YAML config with ``--set`` overrides; relative paths (inputs, model, output) are read
    from the config file's folder."""
    cfg = validate_config(CloneConfig, read_config_file(path), overrides)
    base = os.path.dirname(os.path.abspath(path))
    inputs = [spec.model_copy(update={"paths": [resolve_path(p, base) for p in spec.paths]}) for spec in cfg.inputs]
    return cfg.model_copy(update={"inputs": inputs, "model": resolve_path(cfg.model, base), "output": resolve_path(cfg.output, base)})


def main(argv: list[str] | None = None) -> int:
    return run_job("corpusforge.pipelines.clone_language", __doc__, argv, load_config=load_config, build=build)


if __name__ == "__main__":
    sys.exit(main())
