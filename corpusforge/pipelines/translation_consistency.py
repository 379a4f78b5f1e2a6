"""Human-vs-machine translation consistency of an evaluation set (Agrawal et al. 2024): which
human translations disagree with their English source, per language.

``python -m corpusforge.pipelines.translation_consistency CONFIG.yaml [--set key=value] [beam options]``

Two layouts (JSONL or Parquet rows):

- one file set per language, joined by ``id_field`` (XNLI's layout): ``english: [paths]`` and
  ``languages: {hin_Deva: [paths], ...}``; every file has the ``fields``;
- the translations in the English row: ``inputs: [paths]`` and ``languages: {hin_Deva:
  {premise: premise_hi, ...}}`` (for each field, the column with its human translation).

Every (row, language, field) is an item: the English text is machine-translated into the
language and the human translation back into English (``translate``: a CTranslate2 model and
its options, as the ``translate`` stage takes them), both scored with chrF and BLEU
(:mod:`corpusforge.consistency`). Outputs under ``output``:

- ``consistency/<lang>/part-*.parquet``: ``consistency.v1`` rows, one per item, the row's
  ``keep`` fields (labels) in ``meta``;
- ``summary.json`` (also the manifest's ``consistency`` section): per language, the score
  distributions, the share of items below ``threshold`` and the ``lowest`` items for review;
- ``rejected/``: rows that are not JSON objects, items whose text is missing or empty, items
  without an English row of their id (``missing_source``), repeated ids (``duplicate_id``);
- ``_manifest.json``: counts that balance. A human-translation row of F fields counts as read
  once and created F - 1 times (a wide row of L languages: L x F - 1). English rows of the
  per-language layout are the reference, not records: their read problems are counted in the
  ``consistency_sources`` section, and the items they would have served are ``missing_source``.
"""

from __future__ import annotations

import functools
import json
import os
import posixpath
import sys
from typing import Any, Literal

import apache_beam as beam
import pyarrow as pa
import pydantic
from apache_beam import pvalue

from corpusforge.accounting import Tally
from corpusforge.analysis.consistency import ITEM_COLUMNS, ConsistencyScorer, ConsistencySummary
from corpusforge.beam.jobs import run_job
from corpusforge.beam.outputs import write_atomically
from corpusforge.beam.read import ReadEvalRows
from corpusforge.beam.stages import COUNTS, REJECTED, ReportStatistics, SumTallies
from corpusforge.beam.write import WriteManifest, WriteShards
from corpusforge.config import ConfigError, construct, read_config_file, resolve_path, validate_config
from corpusforge.io.base import as_id, meta_value, text_problem
from corpusforge.io.shards import ShardMetadata
from corpusforge.languages import LanguageCodeError, canonical
from corpusforge.mt.translator import Ct2Translator
from corpusforge.records import Rejections, Split, stable_id
from corpusforge.schemas import as_entries, load_schema, schema_id

STAGE = "translation_consistency"
KIND = "eval"
SUMMARY_FILE = "summary.json"


class ConsistencyConfig(pydantic.BaseModel):
    """What the job does (see the module docstring)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    name: str = pydantic.Field(default="eval", pattern=r"^[A-Za-z0-9_.\-]+$")
    format: Literal["jsonl", "parquet"] = "jsonl"
    fields: list[str] = pydantic.Field(min_length=1)
    id_field: str = "id"
    keep: list[str] = []  # row fields kept in meta (labels, ...)
    source_lang: str = "eng_Latn"
    english: list[str] = []  # per-language layout: the English rows
    inputs: list[str] = []  # wide layout: rows with the English fields and their translations
    languages: dict[str, list[str] | dict[str, str]] = pydantic.Field(min_length=1)
    translate: dict[str, Any]
    threshold: float = 30.0
    lowest: int = pydantic.Field(default=20, ge=0)
    batch_rows: int = pydantic.Field(default=64, ge=1)
    shard_count: int | None = pydantic.Field(default=1, ge=1)
    output: str

    @pydantic.model_validator(mode="after")
    def _layout(self) -> ConsistencyConfig:
        kinds = {isinstance(v, dict) for v in self.languages.values()}
        if len(kinds) > 1:
            raise ValueError("languages: give every language either files (one file set per language) or columns (wide rows), not both")
        wide = kinds == {True}
        if wide and (not self.inputs or self.english):
            raise ValueError("languages name columns: the rows are in inputs (and english is for one file set per language)")
        if not wide and (not self.english or self.inputs):
            raise ValueError("languages name files: the English rows are in english (inputs is for wide rows)")
        if wide:
            for lang, columns in self.languages.items():
                assert isinstance(columns, dict)
                missing = [f for f in self.fields if f not in columns]
                if missing:
                    raise ValueError(f"languages.{lang}: no column for field(s) {missing}")
        return self

    @property
    def wide(self) -> bool:
        return all(isinstance(v, dict) for v in self.languages.values())


def make_translator(cfg: ConsistencyConfig) -> tuple[Ct2Translator, str, dict[str, str]]:
    """The translator of ``cfg.translate``, the canonical source language and the languages
    (canonical -> as written); ConfigError for a language the model lacks."""
    options = dict(cfg.translate)
    if "model" not in options:
        raise ConfigError("translate.model: the CTranslate2 model directory is required")
    model = options.pop("model")
    translator = construct(Ct2Translator, {"model_dir": model, **options}, "translate")
    try:
        source = canonical(cfg.source_lang)
        languages = {canonical(lang): lang for lang in cfg.languages}
    except LanguageCodeError as exc:
        raise ConfigError(f"languages: {exc}") from None
    for lang in languages:
        try:
            translator.check_languages(source, lang)
            translator.check_languages(lang, source)
        except ValueError as exc:
            raise ConfigError(f"languages.{languages[lang]}: {exc}") from None
    return translator, source, languages


class _ItemsFn(beam.DoFn):
    """(file key, position, row) of one language (or a wide row) -> item dicts (main) and
    rejected items; with the English rows as a side input in the per-language layout."""

    def __init__(self, cfg: ConsistencyConfig, lang: str | None, languages: dict[str, str]):
        self._cfg, self._lang, self._languages = cfg, lang, languages

    def process(self, element, english: dict | None = None):
        cfg = self._cfg
        file_key, position, row = element
        row_id = as_id(row.get(cfg.id_field)) or stable_id(cfg.name, file_key, position)
        rejected = Rejections(stage=STAGE, kind=KIND)
        meta = as_entries({k: meta_value(row.get(k)) for k in cfg.keep if k in row})
        items = []
        if self._lang is None:  # wide: every language of the row
            for lang, written in self._languages.items():
                columns = cfg.languages[written]
                assert isinstance(columns, dict)  # the wide layout's languages name columns
                for name in cfg.fields:
                    items.append((lang, name, row.get(name), row.get(columns[name]), f"field {columns[name]!r}"))
        else:
            source_row = english.get(row_id) if english is not None else None
            for name in cfg.fields:
                source = source_row.get(name) if isinstance(source_row, dict) else None
                items.append((self._lang, name, source, row.get(name), f"field {name!r}"))
        tally = Tally()
        tally.add(STAGE, cfg.name, "created", len(items) - 1)
        for lang, name, source, human, label in items:
            item_id = stable_id(cfg.name, row_id, lang, name)
            problem = None
            if self._lang is not None and (english is None or row_id not in english):
                problem = ("missing_source", f"no English row with {cfg.id_field} {row_id!r}")
            elif self._lang is not None and english is not None and english[row_id] is None:
                problem = ("duplicate_id", f"several English rows have {cfg.id_field} {row_id!r}")
            problem = problem or text_problem(source, f"English field {name!r}") or text_problem(human, label)
            if problem is not None:
                rejected.add(id=item_id, source=cfg.name, reason=problem[0], detail=f"{lang}: {problem[1]}", file=file_key, offset=position)
                continue
            yield {
                "id": item_id,
                "source": cfg.name,
                "item_id": row_id,
                "lang": lang,
                "field": name,
                "source_text": source,
                "human_text": human,
                "meta": meta,
                "_where": (file_key, position),
            }
        batch = rejected.to_batch()
        tally += Tally.of_split(STAGE, Split(batch.slice(0, 0), batch))
        if batch.num_rows:
            yield pvalue.TaggedOutput(REJECTED, batch)
        yield pvalue.TaggedOutput(COUNTS, tally)


def _first_of(element, cfg: ConsistencyConfig):
    """One item id's items (the same row id twice in a language): the first by (file, position)
    goes on, the others are rejected as ``duplicate_id``."""
    item_id, items = element
    items = sorted(items, key=lambda item: item["_where"])
    yield items[0]
    if len(items) > 1:
        rejected = Rejections(stage=STAGE, kind=KIND)
        for item in items[1:]:
            file_key, position = item["_where"]
            detail = f"{item['lang']}: {cfg.id_field} {item['item_id']!r} again (first at {items[0]['_where'][0]}:{items[0]['_where'][1]})"
            rejected.add(id=item_id, source=cfg.name, reason="duplicate_id", detail=detail, file=file_key, offset=position)
        batch = rejected.to_batch()
        yield pvalue.TaggedOutput(REJECTED, batch)
        yield pvalue.TaggedOutput(COUNTS, Tally.of_split(STAGE, Split(batch.slice(0, 0), batch)))


def _english_rows(element, cfg: ConsistencyConfig):
    """(row id, row) of the English side; an id repeated there maps to None (ambiguous)."""
    row_id, rows = element
    rows = list(rows)
    return row_id, (rows[0] if len(rows) == 1 else None)


class _ScoreFn(beam.DoFn):
    """A list of item dicts -> one ``consistency.v1`` batch (the model loads once per DoFn)."""

    def __init__(self, scorer: ConsistencyScorer):
        self._scorer = scorer

    def setup(self):
        self._scorer.setup()

    def process(self, items: list[dict]):
        columns = {name: [item[name] for item in items] for name in ITEM_COLUMNS}
        schema = load_schema("consistency")
        batch = pa.RecordBatch.from_pydict({name: pa.array(values, schema.field(name).type) for name, values in columns.items()})
        yield self._scorer.score(batch)


def build(p: beam.Pipeline, cfg: ConsistencyConfig | dict) -> None:
    """Add the job for ``cfg`` to ``p`` (config, model and languages checked first)."""
    if isinstance(cfg, dict):
        cfg = validate_config(ConsistencyConfig, cfg)
    translator, source_lang, languages = make_translator(cfg)
    scorer = ConsistencyScorer(translator, source_lang=source_lang, threshold=cfg.threshold)
    digest = stable_id(json.dumps(cfg.model_dump(mode="json", exclude={"output"}), sort_keys=True))[:16]
    stages = [{"name": STAGE, "version": "1", "threshold": cfg.threshold, "source_lang": source_lang, **translator.describe()}]
    models = {"translate": translator.info.model_id}
    rejected, counts, parts = [], [], []
    sections: dict[str, beam.PCollection] = {}
    if cfg.wide:
        read = p | "Read" >> ReadEvalRows(cfg.inputs, fmt=cfg.format, source=cfg.name, kind=KIND)
        made = read.rows | "Items" >> beam.ParDo(_ItemsFn(cfg, None, languages)).with_outputs(REJECTED, COUNTS, main="items")
        rejected += [read.rejected, made[REJECTED]]
        counts += [read.counts, made[COUNTS]]
        parts.append(made.items)
    else:
        source = p | "ReadEnglish" >> ReadEvalRows(cfg.english, fmt=cfg.format, source=f"{cfg.name}.{source_lang}", kind=KIND)
        english = (
            source.rows
            | "KeyEnglish" >> beam.Map(lambda e, f: (as_id(e[2].get(f)) or "", e[2]), cfg.id_field)
            | "GroupEnglish" >> beam.GroupByKey()
            | "EnglishRows" >> beam.Map(_english_rows, cfg)
        )
        sections["consistency_sources"] = source.rejected | "EnglishProblems" >> beam.combiners.ToList() | beam.Map(_problems)
        side = pvalue.AsDict(english)
        for lang, written in languages.items():
            paths = cfg.languages[written]
            assert isinstance(paths, list)  # the per-language layout's languages name files
            read = p | f"Read[{lang}]" >> ReadEvalRows(paths, fmt=cfg.format, source=cfg.name, kind=KIND)
            made = read.rows | f"Items[{lang}]" >> beam.ParDo(_ItemsFn(cfg, lang, languages), side).with_outputs(
                REJECTED, COUNTS, main="items"
            )
            rejected += [read.rejected, made[REJECTED]]
            counts += [read.counts, made[COUNTS]]
            parts.append(made.items)
    unique = (
        parts
        | "AllItems" >> beam.Flatten()
        | "KeyItems" >> beam.Map(lambda item: (item["id"], item))
        | "GroupItems" >> beam.GroupByKey()
        | "FirstOfEach" >> beam.ParDo(_first_of, cfg).with_outputs(REJECTED, COUNTS, main="items")
    )
    rejected.append(unique[REJECTED])
    counts.append(unique[COUNTS])
    scored = (
        unique.items
        | "Batch" >> beam.BatchElements(min_batch_size=cfg.batch_rows, max_batch_size=cfg.batch_rows)
        | "Score" >> beam.ParDo(_ScoreFn(scorer))
    )

    def metadata(kind: str) -> ShardMetadata:
        return ShardMetadata(schema=schema_id(kind), recipe_hash=digest, stages=tuple(stages), models=models)

    shards = {
        "consistency": scored
        | "Write[consistency]"
        >> WriteShards(
            posixpath.join(cfg.output, "consistency"),
            schema=load_schema("consistency"),
            metadata=metadata("consistency"),
            shard_count=cfg.shard_count,
            partition_by="lang",
        ),
        "rejected": rejected
        | "GatherRejected" >> beam.Flatten()
        | "Write[rejected]"
        >> WriteShards(
            posixpath.join(cfg.output, "rejected"),
            schema=load_schema("rejected"),
            metadata=metadata("rejected"),
            shard_count=cfg.shard_count,
        ),
    }
    summary = scored | "Summary" >> ReportStatistics(functools.partial(ConsistencySummary, threshold=cfg.threshold, lowest=cfg.lowest))
    sections["consistency"] = summary | "WriteSummary" >> beam.Map(write_summary, cfg.output)
    _ = p | "Manifest" >> WriteManifest(
        cfg.output,
        config=cfg.model_dump(mode="json"),
        recipe_hash=digest,
        outputs=shards,
        tally=counts | "GatherCounts" >> beam.Flatten() | "Account" >> SumTallies(),
        stages=stages,
        models=models,
        sections=sections,
    )


def _problems(batches: list[pa.RecordBatch]) -> dict:
    reasons: dict[str, int] = {}
    for batch in batches:
        for reason in batch.column("reason").to_pylist():
            reasons[reason] = reasons.get(reason, 0) + 1
    return {"english_rows_unusable": dict(sorted(reasons.items()))}


def write_summary(summary: dict, output: str) -> dict:
    """Write ``<output>/summary.json`` (temp file, then rename) on any Beam filesystem; the summary."""
    data = (json.dumps(summary, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    write_atomically(posixpath.join(output, SUMMARY_FILE), data, "application/json")
    return summary


def load_config(path: str, overrides: list[str] | None = None) -> ConsistencyConfig:
    """A YAML config with ``--set`` overrides; relative paths (files, output, translate.model)
    are read from the config file's folder."""
    from corpusforge.config import resolve_option_paths

    cfg = validate_config(ConsistencyConfig, read_config_file(path), overrides)
    base = os.path.dirname(os.path.abspath(path))

    def paths(values: list[str]) -> list[str]:
        return [resolve_path(v, base) for v in values]

    languages = {lang: paths(v) if isinstance(v, list) else v for lang, v in cfg.languages.items()}
    return cfg.model_copy(
        update={
            "english": paths(cfg.english),
            "inputs": paths(cfg.inputs),
            "languages": languages,
            "translate": resolve_option_paths(cfg.translate, base),
            "output": resolve_path(cfg.output, base),
        }
    )


def main(argv: list[str] | None = None) -> int:
    return run_job("corpusforge.pipelines.translation_consistency", __doc__, argv, load_config=load_config, build=build)


if __name__ == "__main__":
    sys.exit(main())
