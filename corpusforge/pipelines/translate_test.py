"""Translate-test: an evaluation set (JSONL or Parquet rows, e.g. NLI ``premise``,
``hypothesis``, ``label``, ``id``) in, the chosen ``fields`` machine-translated into every target
language out: one row per (input row, target), every other field (ids, labels) kept as it was.

Outputs under ``output``:

- ``translated/``: Parquet, ``<target>/part-*.parquet`` (one folder per target, e.g. ``hin_Deva/``,
  unless ``partition_by_target: false``). Columns: the input's columns, in order and with their
  types, the chosen fields holding their translations; ``id`` and ``source`` (see below); then
  provenance: ``mt_model``, ``mt_src_lang``, ``mt_tgt_lang``, and per translated field (structs
  with one member per field) ``mt_score``, ``mt_truncated``, with ``round_trip`` also
  ``mt_round_trip_chrf`` and ``mt_round_trip_text`` (the translation translated back).
- ``rejected/``: ``rejected.v1`` rows (kind ``eval``) for input rows that cannot be used (bad
  JSON; a chosen field missing, not a string, empty; a value that does not fit the schema) and
  for (row, target) pairs a field of which could not be translated (the translate stage's
  reason: ``same_language``, ``unsupported_src_lang``, ``empty_translation``, ...).
- ``_manifest.json``: counts that balance. A row translated into T targets counts as read once
  and created T - 1 times; each of its T outputs is written or rejected.

The schema is fixed before the run: a Parquet input gives its first file's schema; a JSONL
input's is inferred from the first ``SAMPLE_ROWS`` rows of its first file (pyarrow's inference
per column: ints stay ints, ints mixed with floats become float64, a column with only nulls
becomes string). ``columns`` sets the type of any column (JSON type specs as in
``schemas/*.json``: ``string``, ``int64``, ``{"list": "string"}``) and adds columns the first
file lacks; values are converted to the type (pyarrow's safe cast, so ``1`` -> ``"1"`` for a
string column, never ``1.5`` -> ``1``). A later row whose value does not fit, or that has a
field the schema lacks, is rejected (``schema_mismatch``), never dropped or coerced silently.

``id``: the shards are keyed by a string ``id`` column. An input ``id`` column must be a string
(declare ``columns: {id: string}`` for numeric ids) and is kept; rows without one, or inputs
without the column, get the row's id: its ``id_field`` value, else a stable hash of (name, file,
position). ``source`` holds ``name``; an input column of that name is refused.

All fields of a batch of rows go to the model in one call (``RunInference`` with
:class:`~corpusforge.beam.mt.TranslateModelHandler`, token-batched), so a two-field NLI set
costs one pass. ``build(p, cfg)`` adds the job to a pipeline (tests call it); ``main(argv)``
runs it from a YAML config (``--set key=value`` overrides, other arguments go to Beam).
"""

from __future__ import annotations

import json
import os
import posixpath
import sys
from typing import Any, Literal, cast

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pydantic
from apache_beam.ml.inference.base import PredictionResult, RunInference

from corpusforge.accounting import Tally
from corpusforge.beam.jobs import run_job
from corpusforge.beam.mt import TranslateModelHandler
from corpusforge.beam.read import ReadEvalRows, beam_open, expand_patterns
from corpusforge.beam.stages import COUNTS, REJECTED, SumTallies, emit_split
from corpusforge.beam.write import WriteManifest, WriteShards
from corpusforge.config import ConfigError, construct, read_config_file, resolve_option_paths, resolve_path, validate_config
from corpusforge.io.base import as_id, text_problem
from corpusforge.io.eval_rows import CONVERSION_ERRORS, SAMPLE_ROWS, MixedTypesError, first_schema
from corpusforge.io.shards import ShardMetadata
from corpusforge.manifest import stage_models
from corpusforge.records import Rejections, Split, stable_id
from corpusforge.schemas import SchemaError, load_schema, parse_type, schema_id
from corpusforge.transforms.translate import TranslateStage

STAGE = "translate_test"
KIND = "eval"  # rejected rows were meant to be evaluation rows
SCHEMA_ID = "translate_test.v1"
OWN_STAGE_OPTIONS = ("origin", "round_trip", "round_trip_text")  # set by this job, not by translate:


class TranslateTestConfig(pydantic.BaseModel):
    """What the job does; ``translate`` holds :class:`TranslateStage` options as a recipe's
    ``translate:`` stage does (``model``, ``targets``, ``src_lang``, ``beam_size``, ``device``, ...)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    name: str = pydantic.Field(default="eval", pattern=r"^[A-Za-z0-9_.\-]+$")
    inputs: list[str] = pydantic.Field(min_length=1)
    format: Literal["jsonl", "parquet"] = "jsonl"
    fields: list[str] = pydantic.Field(min_length=1)
    id_field: str = "id"
    lang_field: str | None = None  # a column with each row's source language; translate.src_lang is the fallback
    columns: dict[str, Any] = {}  # column -> JSON type spec; overrides and extends the first file's schema
    translate: dict[str, Any]
    round_trip: bool = False
    batch_rows: int = pydantic.Field(default=256, ge=1)  # rows per batch handed to RunInference
    batch_tokens: int = pydantic.Field(default=65536, ge=1)  # estimated source tokens per engine call
    shard_count: int | None = pydantic.Field(default=1, ge=1)  # None: streaming shards (not byte-stable)
    partition_by_target: bool = True
    output: str

    @pydantic.model_validator(mode="after")
    def _distinct_roles(self) -> TranslateTestConfig:
        if len(set(self.fields)) != len(self.fields):
            raise ValueError(f"fields repeat: {self.fields}")
        for role in ("id_field", "lang_field"):
            if getattr(self, role) in self.fields:
                raise ValueError(f"{role} {getattr(self, role)!r} is also a field to translate")
        return self


def make_stage(cfg: TranslateTestConfig) -> TranslateStage:
    """The translate stage of ``cfg.translate`` (ConfigError naming the option), set for
    forward translation with ``cfg.round_trip``; fails when rows would have no source language."""
    own = [key for key in OWN_STAGE_OPTIONS if key in cfg.translate]
    if own:
        raise ConfigError(f"translate.{own[0]}: translate-test sets it (use round_trip at the top level)")
    stage = construct(TranslateStage, {**cfg.translate, "round_trip": cfg.round_trip, "round_trip_text": cfg.round_trip}, "translate")
    tags = stage.translator.tags
    if tags.multilingual and tags.convention.source_tag and stage.src_lang is None and cfg.lang_field is None:
        raise ConfigError(
            f"translate.src_lang: {stage.translator.info.model_id} needs each row's source language; "
            "set translate.src_lang (or lang_field, a column holding it)"
        )
    return stage


def input_schema(cfg: TranslateTestConfig) -> pa.Schema:
    """The input's columns and types, fixed before the run (see the module doc): the first
    file's schema, inferred for JSONL, with ``cfg.columns`` applied; checked against the roles."""
    declared = {}
    for name, spec in cfg.columns.items():
        try:
            declared[name] = parse_type(spec)
        except SchemaError as exc:
            raise ConfigError(f"columns.{name}: {exc}") from None
    text = [*cfg.fields, *([cfg.lang_field] if cfg.lang_field else [])]  # text whatever a bad row holds
    path, schema = _first_schema(cfg, {**dict.fromkeys(text, pa.string()), **declared})
    fields = {f.name: pa.field(f.name, f.type) for f in schema}  # metadata dropped; every column nullable
    fields.update({name: pa.field(name, dtype) for name, dtype in declared.items()})
    for name in cfg.fields:
        if name not in fields:
            raise ConfigError(f"fields: {name!r} is not a column of {path} (columns: {', '.join(fields)})")
        if not (pa.types.is_string(fields[name].type) or pa.types.is_large_string(fields[name].type)):
            raise ConfigError(f"fields: column {name!r} is {fields[name].type}, not text")
    if cfg.lang_field is not None and cfg.lang_field not in fields:
        raise ConfigError(f"lang_field: {cfg.lang_field!r} is not a column of {path}")
    if "id" in fields and not pa.types.is_string(fields["id"].type):
        raise ConfigError(
            f"columns: the input's id column is {fields['id'].type}; output shards need string ids: set columns: {{id: string}}"
        )
    if "source" in fields:
        raise ConfigError(f"{path} has a column 'source', which the output needs for the input's name")
    return pa.schema(list(fields.values()))


def output_schema(cfg: TranslateTestConfig, columns: pa.Schema) -> pa.Schema:
    """The input's columns, then ``id`` (when the input has none) and ``source``, then provenance."""

    def per_field(dtype: pa.DataType) -> pa.DataType:
        return pa.struct([pa.field(name, dtype) for name in cfg.fields])

    added = [
        pa.field("source", pa.string(), nullable=False, metadata={"doc": "Name of the evaluation set (the job's name)."}),
        pa.field("mt_model", pa.string(), nullable=False, metadata={"doc": "Id of the translation model (directory name @ content hash)."}),
        pa.field(
            "mt_src_lang", pa.string(), metadata={"doc": "Language the fields were translated from (null when the model takes none)."}
        ),
        pa.field("mt_tgt_lang", pa.string(), nullable=False, metadata={"doc": "Language the fields were translated into."}),
        pa.field("mt_score", per_field(pa.float64()), metadata={"doc": "Per field: mean per-token log-probability of its translation."}),
        pa.field(
            "mt_truncated", per_field(pa.bool_()), metadata={"doc": "Per field: a sentence was over max_input_length tokens and was cut."}
        ),
    ]
    if cfg.round_trip:
        added += [
            pa.field(
                "mt_round_trip_chrf", per_field(pa.float64()), metadata={"doc": "Per field: chrF of the original against the round trip."}
            ),
            pa.field("mt_round_trip_text", per_field(pa.string()), metadata={"doc": "Per field: the translation translated back."}),
        ]
    clash = [f.name for f in added if f.name in columns.names]
    if clash:
        raise ConfigError(f"the input has column(s) {clash}, which the output adds; rename them")
    fields = [f.with_nullable(f.name != "id") for f in columns]
    if "id" not in columns.names:
        fields.append(pa.field("id", pa.string(), nullable=False, metadata={"doc": "The row's id (id_field value, else derived)."}))
    return pa.schema(fields + added, metadata={"corpusforge.schema": SCHEMA_ID})


def _first_schema(cfg: TranslateTestConfig, known: dict[str, pa.DataType]) -> tuple[str, pa.Schema]:
    """The first input file that gives a schema, and that schema (:func:`~corpusforge.io.eval_rows.first_schema`)."""
    try:
        found = first_schema(
            (path for path, _ in expand_patterns(cfg.inputs)), cfg.format, known, opener=beam_open, sample_rows=SAMPLE_ROWS
        )
    except MixedTypesError as exc:
        raise ConfigError(str(exc)) from None
    if found is None:
        raise ConfigError(f"inputs: no file gives the columns ({cfg.format}); all are damaged or hold no JSON object")
    return found


def _convert(values: list, dtype: pa.DataType) -> pa.Array:
    """``values`` as an array of ``dtype``: directly, else inferred and safely cast."""
    try:
        return pa.array(values, type=dtype)
    except CONVERSION_ERRORS:
        return pa.array(values).cast(dtype)


def rows_to_batch(rows: list[dict], schema: pa.Schema) -> tuple[pa.RecordBatch, dict[int, str]]:
    """The rows that fit ``schema`` as one batch, and why each other row does not (by index).
    Whole columns convert at once; per-value conversion only for a column that fails."""
    problems: dict[int, str] = {}
    for i, row in enumerate(rows):
        extra = [name for name in row if name not in schema.names]
        if extra:
            problems[i] = f"field(s) {extra} not in the schema (declare them under columns:)"
    columns = []
    for field in schema:
        values = [row.get(field.name) for row in rows]
        try:
            columns.append(_convert(values, field.type))
            continue
        except CONVERSION_ERRORS:
            pass
        pieces = []
        for i, value in enumerate(values):
            try:
                pieces.append(_convert([value], field.type))
            except CONVERSION_ERRORS as exc:
                problems.setdefault(i, f"field {field.name!r}: {value!r} is not {field.type} ({exc})")
                pieces.append(pa.nulls(1, field.type))
        columns.append(pa.concat_arrays(pieces))
    batch = pa.RecordBatch.from_arrays(columns, schema=schema)
    if problems:
        batch = batch.filter(pa.array([i not in problems for i in range(len(rows))]))
    return batch, problems


class _PrepareFn(beam.DoFn):
    """A list of (file key, position, row) -> one batch of segments, each field of each usable row
    (row-major), that carry their row (``row`` struct) and provenance through RunInference.
    Unusable rows go to REJECTED; every row counts as read."""

    def __init__(self, cfg: TranslateTestConfig, schema: pa.Schema, targets: int):
        self._cfg = cfg
        self._schema = schema
        self._targets = targets

    def process(self, elements):
        cfg = self._cfg
        rejected = Rejections(stage=STAGE, kind=KIND)
        rows, where = [], []
        for file_key, position, row in elements:
            row_id = as_id(row.get(cfg.id_field)) or stable_id(cfg.name, file_key, position)
            problem = self._problem(row)
            if problem is None:
                rows.append(row)
                where.append((row_id, file_key, position))
            else:
                rejected.add(
                    id=row_id, source=cfg.name, reason=problem[0], detail=problem[1], file=file_key, offset=position, raw=_preview(row)
                )
        batch, mismatched = rows_to_batch(rows, self._schema)
        for i, detail in sorted(mismatched.items()):
            row_id, file_key, position = where[i]
            rejected.add(
                id=row_id, source=cfg.name, reason="schema_mismatch", detail=detail, file=file_key, offset=position, raw=_preview(rows[i])
            )
        where = [w for i, w in enumerate(where) if i not in mismatched]
        tally = Tally()  # the rows were counted as read by ReadEvalRows
        tally.add(STAGE, cfg.name, "created", batch.num_rows * (self._targets - 1))
        rejected_batch = rejected.to_batch()
        tally += Tally.of_split(STAGE, Split(rejected_batch.slice(0, 0), rejected_batch))
        segments = self._segments(batch, where) if batch.num_rows else batch.slice(0, 0)
        yield from emit_split(Split(segments, rejected_batch), tally)

    def _problem(self, row: dict) -> tuple[str, str] | None:
        for name in self._cfg.fields:
            problem = text_problem(row.get(name), f"field {name!r}")
            if problem:
                return problem
        lang_field = self._cfg.lang_field
        if lang_field is not None and not isinstance(row.get(lang_field), (str, type(None))):
            return "bad_field_type", f"field {lang_field!r} is {type(row[lang_field]).__name__}, expected a language code"
        return None

    def _segments(self, batch: pa.RecordBatch, where: list[tuple[str, str, int]]) -> pa.RecordBatch:
        cfg, n = self._cfg, batch.num_rows
        fields = cfg.fields
        repeat = np.repeat(np.arange(n), len(fields))
        row_ids = [row_id for row_id, _, _ in where for _ in fields]
        texts = pa.concat_arrays([batch.column(name).cast(pa.string()) for name in fields]).take(
            np.arange(n * len(fields)).reshape(len(fields), n).T.ravel()  # field-major -> row-major
        )
        lang = batch.column(cfg.lang_field).take(repeat).cast(pa.string()) if cfg.lang_field else pa.nulls(len(repeat), pa.string())
        return pa.RecordBatch.from_pydict(
            {
                "id": [stable_id(cfg.name, key, position, name) for _, key, position in where for name in fields],
                "source": [cfg.name] * len(repeat),
                "text": texts,
                "lang": lang,
                "row": pa.StructArray.from_arrays(batch.columns, fields=list(batch.schema)).take(repeat),
                "row_id": row_ids,
                "file": [key for _, key, _ in where for _ in fields],
                "offset": pa.array([position for _, _, position in where for _ in fields], pa.int64()),
            }
        )


class _AssembleFn(beam.DoFn):
    """PredictionResult(segments, Split of bitext pairs) -> one output row per (row, target)
    whose every field was translated; a pair with a refused field goes to REJECTED with the
    stage's reason."""

    def __init__(self, stage: TranslateStage, cfg: TranslateTestConfig, schema: pa.Schema):
        self._stage = stage
        self._cfg = cfg
        self._schema = schema

    def process(self, result: PredictionResult):
        # Beam types PredictionResult's fields as bare TypeVars; TranslateModelHandler gives these.
        segments, split = cast(pa.RecordBatch, result.example), cast(Split, result.inference)
        cfg, stage = self._cfg, self._stage
        width = len(cfg.fields)
        ids = segments.column("id").to_pylist()
        kept = split.kept
        found = {key: j for j, key in enumerate(zip(kept.column("source_id").to_pylist(), kept.column("tgt_lang").to_pylist()))}
        refused = {r["id"]: (r["reason"], r["detail"]) for r in split.rejected.to_pylist()}
        rejected = Rejections(stage=STAGE, kind=KIND)
        picks: list[tuple[int, str, list[int]]] = []  # (first segment of the row, target, kept index per field)
        for first in range(0, segments.num_rows, width):
            for target in stage.targets:
                chosen = [found.get((ids[first + f], target)) for f in range(width)]
                if None not in chosen:
                    picks.append((first, target, [j for j in chosen if j is not None]))  # = chosen (no None), typed int
                    continue
                f = chosen.index(None)
                reason, detail = refused[stage.pair_id(ids[first + f], target)]
                rejected.add(
                    id=segments.column("row_id")[first].as_py(),
                    source=cfg.name,
                    reason=reason,
                    detail=f"field {cfg.fields[f]!r} into {target}: {detail}",
                    file=segments.column("file")[first].as_py(),
                    offset=segments.column("offset")[first].as_py(),
                    raw=segments.column("text")[first + f].as_py(),
                )
        done = Split(self._rows(segments, kept, picks), rejected.to_batch())
        yield from emit_split(done, Tally.of_split(STAGE, done))

    def _rows(self, segments: pa.RecordBatch, kept: pa.RecordBatch, picks: list) -> pa.RecordBatch:
        cfg, n = self._cfg, len(picks)
        firsts = [first for first, _, _ in picks]
        row = segments.column("row").take(firsts)
        columns = dict(zip([f.name for f in row.type], row.flatten()))
        row_ids = segments.column("row_id").take(firsts).to_pylist()
        own_ids = columns["id"].to_pylist() if "id" in columns else [None] * n
        columns["id"] = pa.array([own or row_id for own, row_id in zip(own_ids, row_ids)], pa.string())
        by_field = [kept.take([chosen[f] for _, _, chosen in picks]) for f in range(len(cfg.fields))]

        def per_field(column: str) -> pa.StructArray:
            return pa.StructArray.from_arrays([rows.column(column) for rows in by_field], names=cfg.fields)

        for name, rows in zip(cfg.fields, by_field):
            columns[name] = rows.column("tgt_text").cast(self._schema.field(name).type)
        columns.update(
            source=pa.array([cfg.name] * n, pa.string()),
            mt_model=pa.array([self._stage.translator.info.model_id] * n, pa.string()),
            mt_src_lang=by_field[0].column("src_lang"),
            mt_tgt_lang=pa.array([target for _, target, _ in picks], pa.string()),
            mt_score=per_field("mt_score"),
            mt_truncated=per_field("mt_truncated"),
        )
        if cfg.round_trip:
            columns.update(mt_round_trip_chrf=per_field("mt_round_trip_chrf"), mt_round_trip_text=per_field("mt_round_trip_text"))
        return pa.RecordBatch.from_arrays([columns[name] for name in self._schema.names], schema=self._schema)


def _preview(row: dict) -> str:
    return json.dumps(row, ensure_ascii=False, default=str)


def build(p: beam.Pipeline, cfg: TranslateTestConfig | dict) -> None:
    """Add the translate-test job for ``cfg`` to ``p``; the config, the model directory, the
    languages and the input schema are checked first (ConfigError)."""
    if isinstance(cfg, dict):
        cfg = validate_config(TranslateTestConfig, cfg)
    stage = make_stage(cfg)
    try:
        columns = input_schema(cfg)
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise ConfigError(f"inputs: {exc}") from None
    schema = output_schema(cfg, columns)
    digest = stable_id(json.dumps(cfg.model_dump(mode="json", exclude={"output"}), sort_keys=True))[:16]  # not where it writes
    stages = [stage.describe()]
    models = stage_models(stages)
    read = p | "Read" >> ReadEvalRows(cfg.inputs, fmt=cfg.format, source=cfg.name, kind=KIND)
    prepared = (
        read.rows
        | "Batch" >> beam.BatchElements(min_batch_size=cfg.batch_rows, max_batch_size=cfg.batch_rows)
        | "Prepare" >> beam.ParDo(_PrepareFn(cfg, columns, len(stage.targets))).with_outputs(REJECTED, COUNTS, main="segments")
    )
    translated = (
        prepared.segments
        | "Translate" >> RunInference(TranslateModelHandler(stage, batch_tokens=cfg.batch_tokens))
        | "Assemble" >> beam.ParDo(_AssembleFn(stage, cfg, schema)).with_outputs(REJECTED, COUNTS, main="rows")
    )
    shards = {
        "translated": translated.rows
        | "Write[translated]"
        >> WriteShards(
            posixpath.join(cfg.output, "translated"),
            schema=schema,
            metadata=ShardMetadata(schema=SCHEMA_ID, recipe_hash=digest, stages=tuple(stages), models=models),
            shard_count=cfg.shard_count,
            partition_by="mt_tgt_lang" if cfg.partition_by_target else None,
        ),
        "rejected": (read.rejected, prepared[REJECTED], translated[REJECTED])
        | "GatherRejected" >> beam.Flatten()
        | "Write[rejected]"
        >> WriteShards(
            posixpath.join(cfg.output, "rejected"),
            schema=load_schema("rejected"),
            metadata=ShardMetadata(schema=schema_id("rejected"), recipe_hash=digest, stages=tuple(stages), models=models),
            shard_count=cfg.shard_count,
        ),
    }
    tallies = (read.counts, prepared[COUNTS], translated[COUNTS])
    _ = p | "Manifest" >> WriteManifest(
        cfg.output,
        config=cfg.model_dump(mode="json"),
        recipe_hash=digest,
        outputs=shards,
        tally=tallies | "GatherCounts" >> beam.Flatten() | "Account" >> SumTallies(),
        stages=stages,
        models=models,
    )


def load_config(path: str, overrides: list[str] | None = None) -> TranslateTestConfig:
    """A YAML config with ``--set`` overrides; relative paths (inputs, output, translate.model
    and its sentencepiece files) are read from the config file's folder."""
    cfg = validate_config(TranslateTestConfig, read_config_file(path), overrides)
    base = os.path.dirname(os.path.abspath(path))
    translate = resolve_option_paths(cfg.translate, base)
    return cfg.model_copy(
        update={"inputs": [resolve_path(p, base) for p in cfg.inputs], "output": resolve_path(cfg.output, base), "translate": translate}
    )


def main(argv: list[str] | None = None) -> int:
    return run_job("corpusforge.pipelines.translate_test", __doc__, argv, load_config=load_config, build=build)


if __name__ == "__main__":
    sys.exit(main())
