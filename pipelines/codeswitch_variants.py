"""Code-switched benchmark variants: an evaluation set (JSONL or Parquet rows with text fields
and labels, e.g. NLI premise/hypothesis/label) in, ``variants`` code-switched copies of every
row out, with the chosen ``fields`` switched and every other field (ids, labels) kept.

Outputs under ``output``:
- ``variants/part-*.jsonl``: one JSON object per (row, variant): the row's fields with the chosen
  fields switched, plus ``cs_variant``, ``cs_row_id`` (the row's id), ``cs_spans`` (per field,
  spans in code points of the switched field) and ``cs_provenance`` (method, stage settings).
- ``codeswitch/``: ``codeswitch.v1`` Parquet, one record per switched field and variant
  (``source_id`` = ``<row id>:<field>``; meta keeps the row's other fields as ``row.<name>``).
- ``rejected/``: ``rejected.v1`` Parquet for input rows that cannot be used (bad JSON, a chosen
  field missing or empty).

Determinism: variant ``v`` of field ``f`` of row ``r`` is drawn from (seed, ``r:f``, ``v``).
``build(p, cfg)`` adds the job to a pipeline (tests call it); ``main(argv)`` runs it from a
YAML config (``--set key=value`` overrides, other arguments go to Beam).
"""

from __future__ import annotations

import json
import os
import posixpath
import sys
from dataclasses import asdict
from typing import Any, Literal

import apache_beam as beam
import pydantic
from apache_beam import pvalue
from apache_beam.options.pipeline_options import PipelineOptions

from corpusforge.beam.read import ReadEvalRows
from corpusforge.beam.write import WriteShards
from corpusforge.codeswitch.dictionary import DictionarySwitchStage
from corpusforge.codeswitch.switcher import EntitySwitchStage, SwitchStage, codeswitch_batch, codeswitch_record
from corpusforge.cli import job_arguments
from corpusforge.config import ConfigError, construct, read_config_file, resolve_path, validate_config
from corpusforge.io.base import as_id, meta_value, text_problem
from corpusforge.io.parquet import ShardMetadata
from corpusforge.records import Rejections, stable_id
from corpusforge.schemas import load_schema, schema_id

REJECTED = "rejected"
STAGES = {"entity": EntitySwitchStage, "dictionary": DictionarySwitchStage}


class VariantsConfig(pydantic.BaseModel):
    """What the job does; ``options`` are the switching stage's constructor arguments
    (``EntitySwitchStage`` for ``method: entity``, ``DictionarySwitchStage`` for ``dictionary``)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    name: str = pydantic.Field(default="eval", pattern=r"^[A-Za-z0-9_.\-]+$")
    inputs: list[str] = pydantic.Field(min_length=1)
    format: Literal["jsonl", "parquet"] = "jsonl"
    id_field: str = "id"
    fields: list[str] = pydantic.Field(min_length=1)
    variants: int = pydantic.Field(default=3, ge=1)
    method: Literal["entity", "dictionary"] = "entity"
    options: dict[str, Any] = {}
    output: str


def make_stage(cfg: VariantsConfig) -> SwitchStage:
    """The switching stage the config names, validated (ConfigError naming the option); its
    ``variants`` is the config's."""
    if "variants" in cfg.options:
        raise ConfigError("options.variants: set variants at the top level of the config")
    return construct(STAGES[cfg.method], {**cfg.options, "variants": cfg.variants}, f"options ({cfg.method})")


class _VariantsFn(beam.DoFn):
    """One eval row -> ``variants`` JSON rows (main), codeswitch.v1 records, or a rejected row."""

    def __init__(self, stage: SwitchStage, cfg: VariantsConfig):
        self._stage = stage
        self._cfg = cfg

    def setup(self):
        self._stage.setup()

    def process(self, element):
        file_key, position, row = element
        cfg, stage = self._cfg, self._stage
        row_id = as_id(row.get(cfg.id_field)) or stable_id(cfg.name, file_key, position)
        for name in cfg.fields:
            problem = text_problem(row.get(name), f"field {name!r}")
            if problem:
                rejected = Rejections(stage="codeswitch_variants", kind="codeswitch")
                rejected.add(id=row_id, source=cfg.name, reason=problem[0], detail=problem[1], file=file_key, offset=position, raw=json.dumps(row, ensure_ascii=False, default=str))
                yield pvalue.TaggedOutput(REJECTED, rejected.to_batch())
                return
        carried = {f"row.{k}": meta_value(v) for k, v in row.items() if k not in cfg.fields and v is not None}
        provenance = {"method": cfg.method, "stage": stage.describe(), "input": file_key, "position": position}
        records = []
        for variant in range(stage.variants):
            out = dict(row)
            spans = {}
            for name in cfg.fields:
                source_id = f"{row_id}:{name}"
                switched = stage.switch_row(row[name], record_id=source_id, variant=variant, extra=None)
                out[name] = switched.text
                spans[name] = [asdict(span) for span in switched.spans]
                if switched.spans:
                    meta = {**carried, "field": name, "row_id": row_id, "cs.variant": str(variant)}
                    records.append(codeswitch_record(switched, source=cfg.name, source_id=source_id, method=stage.method, variant=variant, meta=meta))
            out.update(cs_variant=variant, cs_row_id=row_id, cs_spans=spans, cs_provenance=provenance)
            yield json.dumps(out, ensure_ascii=False, sort_keys=True, default=str)
        if records:
            yield pvalue.TaggedOutput("records", codeswitch_batch(records))


def build(p: beam.Pipeline, cfg: VariantsConfig | dict) -> None:
    """Add the variants job for ``cfg`` to ``p``; the config and the stage are checked first."""
    if isinstance(cfg, dict):
        cfg = validate_config(VariantsConfig, cfg)
    stage = make_stage(cfg)
    digest = stable_id(json.dumps(cfg.model_dump(mode="json", exclude={"output"}), sort_keys=True))[:16]  # not where it writes
    rows = p | "Read" >> ReadEvalRows(cfg.inputs, fmt=cfg.format, source=cfg.name, kind="codeswitch")
    variants = rows.rows | "SpreadRows" >> beam.Reshuffle() | "Switch" >> beam.ParDo(_VariantsFn(stage, cfg)).with_outputs(REJECTED, "records", main="lines")
    _ = variants.lines | "WriteVariants" >> beam.io.WriteToText(
        posixpath.join(cfg.output, "variants", "part"), file_name_suffix=".jsonl", shard_name_template="-SSSSS-of-NNNNN"
    )
    stages = [stage.describe()]
    for kind, pcoll in (("codeswitch", variants.records), ("rejected", (rows.rejected, variants[REJECTED]) | "GatherRejected" >> beam.Flatten())):
        _ = pcoll | f"Write[{kind}]" >> WriteShards(
            posixpath.join(cfg.output, kind),
            schema=load_schema(kind),
            metadata=ShardMetadata(schema=schema_id(kind), recipe_hash=digest, stages=stages),
        )


def load_config(path: str, overrides: list[str] | None = None) -> VariantsConfig:
    """A YAML config with ``--set`` overrides; relative input and output paths are read from
    the config file's folder."""
    cfg = validate_config(VariantsConfig, read_config_file(path), overrides)
    base = os.path.dirname(os.path.abspath(path))
    return cfg.model_copy(update={"inputs": [resolve_path(p, base) for p in cfg.inputs], "output": resolve_path(cfg.output, base)})


def main(argv: list[str] | None = None) -> int:
    args, beam_args = job_arguments("corpusforge.pipelines.codeswitch_variants", __doc__, argv)
    cfg = load_config(args.config, args.set)
    with beam.Pipeline(options=PipelineOptions(beam_args or ["--runner=DirectRunner"])) as p:
        build(p, cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
