"""Code-switched benchmark variants: an evaluation set (JSONL or Parquet rows with text fields
and labels, e.g. NLI premise/hypothesis/label) in, ``variants`` code-switched copies of every
row out, with the chosen ``fields`` switched and every other field (ids, labels) kept.

Outputs under ``output``:
- ``variants/part-*.jsonl``: one JSON object per (row, variant): the row's fields with the chosen
  fields switched, plus ``cs_variant``, ``cs_row_id`` (the row's id), ``cs_spans`` (per field,
  spans in code points of the switched field) and ``cs_provenance`` (method, stage settings).
  Written under ``variants/.tmp-<uuid>/`` and moved into place at the end, replacing the files
  an earlier run left (as the Parquet outputs replace their shards).
- ``codeswitch/``: ``codeswitch.v1`` Parquet, one record per switched field and variant
  (``source_id`` = ``<row id>:<field>``; meta keeps the row's other fields as ``row.<name>``).
- ``rejected/``: ``rejected.v1`` Parquet for input rows that cannot be used: lines that are not
  JSON objects (blank, malformed), the damaged end of a truncated or corrupt file
  (``corrupt_file``), a chosen field missing, not a string or empty.
- ``_manifest.json``: the run's counts, balanced as every job's are
  (read + created = written + rejected + duplicates), and the files of each output. Each input
  row counts as read once. A usable row makes ``variants`` JSON lines and a ``codeswitch``
  record for each field and variant where something was switched, all written; the rows it
  makes beyond the one read count as created (``variants - 1`` lines plus its records). An
  unusable row is rejected. So written = JSON lines + codeswitch records, and ``outputs``
  gives each apart (``variants``, ``codeswitch``). The JSON lines are counted from the files
  written (one more read of them, cheap next to switching).

Determinism: variant ``v`` of field ``f`` of row ``r`` is drawn from (seed, ``r:f``, ``v``).
``build(p, cfg)`` adds the job to a pipeline (tests call it); ``main(argv)`` runs it from a
YAML config (``--set key=value`` overrides, other arguments go to Beam).
"""

from __future__ import annotations

import json
import os
import posixpath
import sys
import uuid
from dataclasses import asdict
from typing import Any, Literal

import apache_beam as beam
import pydantic
from apache_beam import pvalue
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from corpusforge.accounting import Tally
from corpusforge.beam.jobs import run_job
from corpusforge.beam.read import ReadEvalRows
from corpusforge.beam.stages import COUNTS, REJECTED, SumTallies, emit_split
from corpusforge.beam.write import WriteManifest, WriteShards, matching
from corpusforge.codeswitch.switcher import codeswitch_batch, codeswitch_record
from corpusforge.config import ConfigError, construct, read_config_file, resolve_path, validate_config
from corpusforge.io.base import as_id, meta_value, text_problem
from corpusforge.io.shards import ShardInfo, ShardMetadata
from corpusforge.manifest import stage_models
from corpusforge.records import Rejections, Split, stable_id
from corpusforge.schemas import load_schema, schema_id
from corpusforge.transforms.codeswitch import DictionarySwitchStage, EntitySwitchStage, SwitchStage

STAGE = "codeswitch_variants"
LINES_SCHEMA = "codeswitch_variants.v1"  # the layout of a variants JSON line (see above)
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
    """One eval row -> ``variants`` JSON rows (main) and codeswitch.v1 records, or a rejected
    row; and its tally (COUNTS): created rows, or the rejection."""

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
                rejected = Rejections(stage=STAGE, kind="codeswitch")
                rejected.add(
                    id=row_id,
                    source=cfg.name,
                    reason=problem[0],
                    detail=problem[1],
                    file=file_key,
                    offset=position,
                    raw=json.dumps(row, ensure_ascii=False, default=str),
                )
                batch = rejected.to_batch()
                split = Split(batch.slice(0, 0), batch)
                yield from emit_split(split, Tally.of_split(STAGE, split))
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
                    records.append(
                        codeswitch_record(switched, source=cfg.name, source_id=source_id, method=stage.method, variant=variant, meta=meta)
                    )
            out.update(cs_variant=variant, cs_row_id=row_id, cs_spans=spans, cs_provenance=provenance)
            yield json.dumps(out, ensure_ascii=False, sort_keys=True, default=str)
        if records:
            yield pvalue.TaggedOutput("records", codeswitch_batch(records))
        tally = Tally()
        tally.add(STAGE, cfg.name, "out", stage.variants + len(records))
        tally.add(STAGE, cfg.name, "created", stage.variants - 1 + len(records))  # the row itself was read
        yield pvalue.TaggedOutput(COUNTS, tally)


def _lines_file(path: str, source: str) -> ShardInfo:
    """A written variants file as the manifest lists it: its lines counted from the file (one
    read of it); all are ``source``'s. Ids are not tracked for JSON lines."""
    lines = size = 0
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            lines += chunk.count(b"\n")
            size += len(chunk)
    return ShardInfo(
        path=path, schema=LINES_SCHEMA, rows=lines, bytes_uncompressed=size, bytes_on_disk=size, partition=None,
        rows_by_source={source: lines} if lines else {}, min_id="", max_id="",
    )  # fmt: skip


def _publish_lines(_written: list, temp_dir: str, out_dir: str, source: str) -> list[ShardInfo]:
    """Move this run's JSON-line files into ``out_dir``, replacing an earlier run's, and
    describe them. All of ``temp_dir``'s part files are this run's, whichever attempt of Beam's
    finalising step named them (a retried one names only the files it renamed itself)."""
    written = sorted(matching([FileSystems.join(temp_dir, "part-*.jsonl")]))
    stale = matching([FileSystems.join(out_dir, "part-*.jsonl")])
    if stale:
        FileSystems.delete(stale)
    final = [FileSystems.join(out_dir, posixpath.basename(path)) for path in written]
    if written:
        FileSystems.rename(written, final)
    if FileSystems.exists(temp_dir):
        FileSystems.delete([temp_dir])  # with whatever a retried write left
    return [_lines_file(path, source) for path in final]


def build(p: beam.Pipeline, cfg: VariantsConfig | dict) -> None:
    """Add the variants job for ``cfg`` to ``p``; the config and the stage are checked first."""
    if isinstance(cfg, dict):
        cfg = validate_config(VariantsConfig, cfg)
    stage = make_stage(cfg)
    digest = stable_id(json.dumps(cfg.model_dump(mode="json", exclude={"output"}), sort_keys=True))[:16]  # not where it writes
    stages = [stage.describe()]
    models = stage_models(stages)
    rows = p | "Read" >> ReadEvalRows(cfg.inputs, fmt=cfg.format, source=cfg.name, kind="codeswitch")
    variants = (
        rows.rows
        | "SpreadRows" >> beam.Reshuffle()
        | "Switch" >> beam.ParDo(_VariantsFn(stage, cfg)).with_outputs(REJECTED, COUNTS, "records", main="lines")
    )
    lines_dir = posixpath.join(cfg.output, "variants")
    temp_dir = posixpath.join(lines_dir, f".tmp-{uuid.uuid4().hex}")  # drawn when the pipeline is built
    outputs = {
        "variants": variants.lines
        | "WriteVariants"
        >> beam.io.WriteToText(posixpath.join(temp_dir, "part"), file_name_suffix=".jsonl", shard_name_template="-SSSSS-of-NNNNN")
        | "GatherVariants" >> beam.combiners.ToList()
        | "PublishVariants" >> beam.FlatMap(_publish_lines, temp_dir, lines_dir, cfg.name)
    }
    for kind, pcoll in (
        ("codeswitch", variants.records),
        ("rejected", (rows.rejected, variants[REJECTED]) | "GatherRejected" >> beam.Flatten()),
    ):
        outputs[kind] = pcoll | f"Write[{kind}]" >> WriteShards(
            posixpath.join(cfg.output, kind),
            schema=load_schema(kind),
            metadata=ShardMetadata(schema=schema_id(kind), recipe_hash=digest, stages=tuple(stages), models=models),
        )
    _ = p | "Manifest" >> WriteManifest(
        cfg.output,
        config=cfg.model_dump(mode="json"),
        recipe_hash=digest,
        outputs=outputs,
        tally=(rows.counts, variants[COUNTS]) | "GatherCounts" >> beam.Flatten() | "Account" >> SumTallies(),
        stages=stages,
        models=models,
    )


def load_config(path: str, overrides: list[str] | None = None) -> VariantsConfig:
    """A YAML config with ``--set`` overrides; relative input and output paths are read from
    the config file's folder."""
    cfg = validate_config(VariantsConfig, read_config_file(path), overrides)
    base = os.path.dirname(os.path.abspath(path))
    return cfg.model_copy(update={"inputs": [resolve_path(p, base) for p in cfg.inputs], "output": resolve_path(cfg.output, base)})


def main(argv: list[str] | None = None) -> int:
    return run_job("corpusforge.pipelines.codeswitch_variants", __doc__, argv, load_config=load_config, build=build)


if __name__ == "__main__":
    sys.exit(main())
