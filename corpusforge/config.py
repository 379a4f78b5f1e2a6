"""Recipes: YAML that says what a run does, loaded into typed objects before anything runs.

Unknown keys, wrong types, unknown formats or stages, bad language codes and input patterns
that match no file all fail here, with a message naming the key or path to change. Readers and
stages are built from their own typed constructors, so a recipe accepts exactly the options
the code does.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import hashlib
import importlib
import inspect
import json
import re
import typing
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar

import pydantic
import yaml

PACKAGE_PREFIX = "corpusforge:"
M = TypeVar("M", bound=pydantic.BaseModel)

# (format, kind) -> reader class, as "module:Class" so optional dependencies load only when used.
READERS = {
    ("text", "segment"): "corpusforge.io.readers:TextReader",
    ("jsonl", "segment"): "corpusforge.io.readers:JsonlReader",
    ("tsv", "segment"): "corpusforge.io.readers:TsvReader",
    ("parquet", "segment"): "corpusforge.io.readers:ParquetReader",
    ("moses", "bitext"): "corpusforge.io.readers:MosesReader",
    ("tsv", "bitext"): "corpusforge.io.readers:ParallelTsvReader",
    ("tmx", "bitext"): "corpusforge.io.readers:TmxReader",
    ("jsonl", "bitext"): "corpusforge.io.readers:ParallelJsonlReader",
    ("parquet", "bitext"): "corpusforge.io.readers:ParallelParquetReader",
}

STAGES = {
    "normalize": "corpusforge.transforms.normalize:Normalizer",
    "lid": "corpusforge.transforms.lid:LanguageIdentifier",
    "lang_filter": "corpusforge.transforms.lid:LanguageFilter",
    "script": "corpusforge.transforms.script:ScriptDetector",
    "bitext_score": "corpusforge.transforms.bitext_filters:BitextScorer",
    "bitext_filter": "corpusforge.transforms.bitext_filters:BitextFilter",
    "token_tags": "corpusforge.transforms.tokens:TokenTagger",
    "codemix_metrics": "corpusforge.transforms.codemix:CodeMixingMetrics",
    "premium": "corpusforge.transforms.premium:BytePremiumAnnotator",
    "sample": "corpusforge.transforms.sampling:ByteBudgetSampler",
    "multiway": "corpusforge.transforms.multiway:MultiwayJoin",
    "translit": "corpusforge.transforms.translit:TransliterateStage",
    "translit_pairs": "corpusforge.transforms.translit:TransliterationPairs",
    "translate": "corpusforge.transforms.translate:TranslateStage",
    "entity_switch": "corpusforge.transforms.codeswitch:EntitySwitchStage",
    "dictionary_switch": "corpusforge.transforms.codeswitch:DictionarySwitchStage",
    "quality": "corpusforge.transforms.quality:QualityScorer",
    "quality_filter": "corpusforge.transforms.quality:QualityFilter",
}


class ConfigError(ValueError):
    """A recipe that cannot run; the message names the key or path to change."""


def register_stage(name: str, spec: str) -> None:
    """Make ``name`` a recipe stage built from ``spec`` (``"module:Class"``, imported only when a
    recipe uses it): the hook for stages defined outside this package. Registering a name
    again with another class is an error, so a plugin cannot silently replace a stage."""
    module, sep, cls = spec.partition(":")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or not (sep and module and cls):
        raise ValueError(f"register_stage({name!r}, {spec!r}): expected a snake_case name and 'module:Class'")
    if STAGES.get(name, spec) != spec:
        raise ValueError(f"stage {name!r} is already registered as {STAGES[name]}")
    STAGES[name] = spec


def _load_class(spec: str) -> type[Any]:
    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class OptionDoc:
    """One constructor option of a reader or stage, as a recipe writes it."""

    name: str
    type: str
    default: str | None  # None: required
    doc: str


def _parameters(cls: type[Any]) -> dict[str, inspect.Parameter]:
    return {
        name: p
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def _type_name(hint: Any) -> str:
    text = getattr(hint, "__name__", None) if not typing.get_args(hint) else None
    return text or str(hint).replace("typing.", "").replace("NoneType", "None")


def _option_docs(cls: type[Any]) -> dict[str, str]:
    """Per option, the sentence of the class or ``__init__`` docstring that starts with its
    name (``- ``name``: ...``): the docs the classes already carry, read, not repeated."""
    docs: dict[str, str] = {}
    text = "\n".join(filter(None, [inspect.getdoc(cls), inspect.getdoc(cls.__init__)]))
    sentences = [s.strip().removeprefix("- ") for s in re.split(r"(?<=[.;])\s+|\n\s*-\s+", text)]
    for name in _parameters(cls):
        for sentence in sentences:
            if sentence.startswith(f"``{name}``"):
                docs.setdefault(name, " ".join(sentence.split()))
                break
    return docs


def options_of(cls: type[Any]) -> list[OptionDoc]:
    """The options a recipe may give ``cls``: exactly what :func:`construct` accepts (one source
    of truth for ``corpusforge stages`` and validation)."""
    hints = typing.get_type_hints(cls.__init__)
    docs = _option_docs(cls)
    return [
        OptionDoc(
            name=name,
            type=_type_name(hints.get(name, Any)),
            default=None if p.default is p.empty else repr(p.default),
            doc=docs.get(name, ""),
        )
        for name, p in _parameters(cls).items()
    ]


def summary_of(cls: type) -> str:
    """The first paragraph of a class's docstring, on one line."""
    return " ".join((inspect.getdoc(cls) or "").split("\n\n")[0].split())


def construct(cls: type[Any], options: dict[str, Any], where: str) -> Any:
    """Build ``cls(**options)`` after checking every key and type against its constructor."""
    params = _parameters(cls)
    for key in options:
        if key not in params:
            hint = difflib.get_close_matches(key, params, n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ConfigError(f"{where}.{key}: unknown option{suggestion}; {cls.__name__} accepts: {', '.join(params)}")
    hints = typing.get_type_hints(cls.__init__)
    fields: dict[str, Any] = {  # Any: mypy checks a **dict against create_model's own keywords (__config__...) too
        name: (hints.get(name, Any), ... if p.default is p.empty else p.default) for name, p in params.items()
    }
    model = pydantic.create_model(
        f"{cls.__name__}Options", __config__=pydantic.ConfigDict(extra="forbid", arbitrary_types_allowed=True), **fields
    )
    try:
        validated = model(**options)
    except pydantic.ValidationError as exc:
        raise ConfigError(_format_errors(exc, where)) from None
    try:
        return cls(**{name: getattr(validated, name) for name in params})
    except (ValueError, TypeError, FileNotFoundError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _format_errors(exc: pydantic.ValidationError, where: str, model: type[pydantic.BaseModel] | None = None) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(part) for part in err["loc"])
        message = err["msg"]
        if err["type"] == "extra_forbidden" and model is not None:
            known = _keys_at(model, err["loc"][:-1])
            hint = difflib.get_close_matches(str(err["loc"][-1]), known, n=1)
            message = "unknown key" + (f" (did you mean {hint[0]!r}?)" if hint else "") + (f"; known: {', '.join(known)}" if known else "")
        lines.append(f"{where}.{loc}: {message}" if loc else f"{where}: {message}")
    return "\n".join(lines)


def _keys_at(model: type[pydantic.BaseModel], loc: tuple) -> list[str]:
    """The field names of the (nested) model found at ``loc`` (list indices skipped)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = _model_in(field.annotation)
    return list(getattr(current, "model_fields", {}))


def _model_in(annotation: Any) -> Any:
    """The pydantic model an annotation holds (``Spec``, ``list[Spec]``, ``Spec | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


class _Strict(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")


class InputSpec(_Strict):
    """One input: a name (the ``source`` of its records), files, a format and reader options."""

    name: str = pydantic.Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    format: Literal["text", "jsonl", "tsv", "parquet", "moses", "tmx"]
    kind: Literal["segment", "bitext"] = "segment"
    paths: list[str] = pydantic.Field(min_length=1)
    options: dict[str, Any] = {}


class DedupSpec(_Strict):
    scope: Literal["global", "source", "none"] = "global"


class NearDedupSpec(_Strict):
    """Near-duplicate removal after the stages (see ``corpusforge.dedup.near.NearDedupParams``
    for what each key means); off unless the recipe has a ``near_dedup`` key."""

    threshold: float = pydantic.Field(default=0.8, gt=0.0, le=1.0)
    ngram: int = pydantic.Field(default=5, ge=1)
    num_perm: int = pydantic.Field(default=128, ge=1)
    bands: int = pydantic.Field(default=25, ge=1, le=63)
    rows: int = pydantic.Field(default=5, ge=1, le=64)
    seed: int = 1
    method: Literal["rensa", "numpy"] = "rensa"
    scope: Literal["lang", "source", "global"] = "lang"
    bitext: Literal["pair", "src", "tgt", "none"] = "pair"
    # shuffle groups per bucket; each holds about rows x bands / partitions band keys: raise it
    # with the corpus (16 suits ~10M rows a language). The output does not change.
    partitions: int = pydantic.Field(default=16, ge=1)

    @pydantic.model_validator(mode="after")
    def _bands_fit(self) -> NearDedupSpec:
        if self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands x rows ({self.bands} x {self.rows}) must not exceed num_perm ({self.num_perm})")
        return self


class OutputSpec(_Strict):
    path: str
    shard_count: int | None = pydantic.Field(default=None, ge=1)
    target_shard_bytes: int = pydantic.Field(default=256 << 20, ge=1 << 10)
    partition_by: Literal["lang"] | None = None
    overwrite: bool = False
    # Stage each input's rows under <output>/.resume/ so that `run --resume` can continue a killed
    # run (costs a write of the rows and their size on disk until the manifest is written).
    resumable: bool = True


class RecipeSpec(_Strict):
    name: str
    seed: int = 0
    inputs: list[InputSpec] = pydantic.Field(min_length=1)
    stages: list[dict[str, dict[str, Any] | None]] = [{"normalize": {}}]
    dedup: DedupSpec = DedupSpec()
    near_dedup: NearDedupSpec | None = None
    # Reshuffle record batches after reading, so that the stages of a few large files run on
    # every worker (Dataflow, Flink); costs one shuffle of the data, and on the local runner
    # holds the whole input in memory. The output does not change.
    rebalance: bool = False
    # Fail the run (exit status 1) when a source has more than this fraction of its rows
    # rejected: a wrong text_field or format rejects everything and should not pass as a run.
    max_rejected_fraction: float | None = pydantic.Field(default=None, ge=0.0, le=1.0)
    output: OutputSpec


@dataclass(frozen=True)
class Input:
    """A resolved input: its spec, the reader built from it and its patterns as absolute paths."""

    spec: InputSpec
    reader: Any
    patterns: list[str]

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kind(self) -> str:
        return self.spec.kind


@dataclass(frozen=True)
class Recipe:
    """A validated recipe, ready to build a pipeline from."""

    spec: RecipeSpec
    inputs: list[Input]
    stages: list[Any]
    output_dir: str
    recipe_hash: str
    base_dir: str
    recipe_path: str | None = None  # the recipe file, when it was loaded from one (never inside the output)

    def stages_for(self, kind: str) -> list[Any]:
        return [s for s in self.stages if kind in s.kinds]

    def as_dict(self) -> dict:
        return self.spec.model_dump(mode="json")


def resolve_path(path: str, base_dir: str) -> str:
    """``corpusforge:data/demo/x`` -> inside the installed package; URLs as given; relative -> base_dir."""
    if path.startswith(PACKAGE_PREFIX):
        return str(resources.files("corpusforge") / path[len(PACKAGE_PREFIX) :])
    if "://" in path or Path(path).is_absolute():
        return path
    return str(Path(base_dir) / path)


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """``--set output.path=/tmp/x`` and ``--set inputs.0.paths=[a.txt]``: dotted keys, YAML values."""
    data = copy.deepcopy(data)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value")
        key, raw = item.split("=", 1)
        value = yaml.safe_load(raw) if raw else ""
        node: Any = data
        parts = key.split(".")
        part: str | int  # a list index once read as one
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise ConfigError(f"--set {key}: {'.'.join(parts[:i]) or 'recipe'} has no item {part}")
                part = int(part)
            elif not isinstance(node, dict):
                raise ConfigError(f"--set {key}: {'.'.join(parts[:i])} is not a mapping")
            if last:
                node[part] = value
            else:
                if isinstance(node, dict) and part not in node:
                    node[part] = {}
                node = node[part]
    return data


# Where output goes, and how work is spread, is not part of what a recipe does: the same work
# written elsewhere hashes the same.
_UNHASHED_OUTPUT_KEYS = ("path", "overwrite", "resumable")
_UNHASHED_KEYS = ("rebalance", "max_rejected_fraction")


def recipe_hash(data: dict) -> str:
    """Hash of the recipe as written (after overrides), independent of where it runs and writes."""
    content = copy.deepcopy(data)
    for key in _UNHASHED_OUTPUT_KEYS:
        (content.get("output") or {}).pop(key, None)
    for key in _UNHASHED_KEYS:
        content.pop(key, None)
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def load_recipe(
    path: str | Path,
    overrides: list[str] | None = None,
    *,
    check_files: bool = True,
) -> Recipe:
    """Read, override, validate and resolve a recipe file. Raises ConfigError on any problem."""
    path = Path(path)
    data = read_config_file(path, what="recipe")
    recipe = recipe_from_dict(data, base_dir=str(path.parent.resolve()), overrides=overrides, check_files=check_files)
    return dataclasses.replace(recipe, recipe_path=str(path.resolve()))


def read_config_file(path: str | Path, *, what: str = "config") -> dict:
    """The YAML mapping in ``path``; a ConfigError naming the file when it is missing or not one."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {path} must be a mapping")
    return data


def validate_config(model: type[M], data: dict, overrides: list[str] | None = None, *, where: str = "config") -> M:
    """``data`` with ``--set`` overrides applied, validated as ``model``; ConfigError naming each bad key."""
    try:
        return model.model_validate(apply_overrides(data, overrides or []))
    except pydantic.ValidationError as exc:
        raise ConfigError(_format_errors(exc, where, model)) from None


def recipe_from_dict(
    data: dict,
    *,
    base_dir: str,
    overrides: list[str] | None = None,
    check_files: bool = True,
) -> Recipe:
    data = apply_overrides(data, overrides or [])
    spec = validate_config(RecipeSpec, data, where="recipe")
    names = [i.name for i in spec.inputs]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ConfigError(f"inputs: names must be unique; repeated: {', '.join(duplicated)}")
    inputs = resolve_inputs(spec.inputs, base_dir, check_files=check_files)
    stages = [_build_stage(n, entry, base_dir, spec.seed) for n, entry in enumerate(spec.stages)]
    _check_stage_order(stages, {i.kind for i in inputs})
    return Recipe(
        spec=spec,
        inputs=inputs,
        stages=stages,
        output_dir=spec.output.path if "://" in spec.output.path else str(Path(spec.output.path).resolve()),
        recipe_hash=recipe_hash(data),
        base_dir=base_dir,
    )


def resolve_inputs(specs: list[InputSpec], base_dir: str, *, check_files: bool = True, where: str = "inputs") -> list[Input]:
    """The ``inputs:`` of a job config that reads corpora as a recipe does (the clone-language
    job): readers built from their options, patterns resolved from ``base_dir``; ConfigError."""
    return [_resolve_input(spec, f"{where}.{index}", base_dir, check_files) for index, spec in enumerate(specs)]


def _resolve_input(spec: InputSpec, where: str, base_dir: str, check_files: bool) -> Input:
    key = (spec.format, spec.kind)
    if key not in READERS:
        kinds = [k for f, k in READERS if f == spec.format]
        raise ConfigError(f"{where}: format {spec.format!r} reads {', '.join(kinds)} records, not {spec.kind!r}")
    reader = construct(_load_class(READERS[key]), spec.options, f"{where}.options")
    patterns = [resolve_path(p, base_dir) for p in spec.paths]
    if check_files:
        _check_files(reader, patterns, f"{where}.paths")
    return Input(spec=spec, reader=reader, patterns=patterns)


def _check_files(reader: Any, patterns: list[str], where: str) -> None:
    """Every pattern matches a file (and, for pairs, the other side exists): local paths here,
    ``gs://`` and other schemes on the filesystem registered for them (Beam's, in the jobs)."""
    from corpusforge.io.filesystems import check_input_files

    try:
        check_input_files(reader, patterns)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _check_stage_order(stages: list[Any], input_kinds: set[str]) -> None:
    """Each stage has records to work on, and the columns it reads come from a stage before it."""
    from corpusforge.schemas import load_schema

    kinds = set(input_kinds)
    columns = {kind: set(load_schema(kind).names) for kind in ("segment", "bitext", "codeswitch")}
    for index, stage in enumerate(stages):
        where = f"stages.{index}.{stage.name}"
        if not kinds & set(stage.kinds):
            raise ConfigError(f"{where}: applies to {', '.join(stage.kinds)} records, but no input or stage before it gives any")
        for kind in kinds & set(stage.kinds):
            missing = [c for c in stage.requires if c not in columns[kind]]
            if missing:
                raise ConfigError(f"{where}: reads {', '.join(missing)}, which no stage before it adds (put the stage that does first)")
            if not stage.derives:
                columns[kind] |= {f.name for f in stage.output_fields(kind)}
        if stage.derives:
            kinds.add(stage.derives)
            columns[stage.derives] |= {f.name for f in stage.output_fields(stage.derives)}


# Stage options that name files (models, lexicons, tables): relative ones are read from the
# recipe's folder, like input paths, so a recipe and its models can move together.
PATH_OPTIONS = frozenset(
    {"model", "model_path", "parallel", "table", "lexicon_path", "dictionary_path", "source_spm", "target_spm", "lexicons", "words_file"}
)


def resolve_option_paths(options: dict[str, Any], base_dir: str) -> dict[str, Any]:
    """``options`` with every file-naming value (see PATH_OPTIONS; a mapping of them too) resolved."""

    def one(value: Any) -> Any:
        return resolve_path(value, base_dir) if isinstance(value, str) else value

    return {
        key: ({k: one(v) for k, v in value.items()} if isinstance(value, dict) else one(value)) if key in PATH_OPTIONS else value
        for key, value in options.items()
    }


def _build_stage(index: int, entry: dict[str, dict[str, Any] | None], base_dir: str, seed: int) -> Any:
    where = f"stages.{index}"
    if len(entry) != 1:
        raise ConfigError(f"{where}: each stage is one mapping `name: {{options}}`, got keys {sorted(entry)}")
    ((name, options),) = entry.items()
    if name not in STAGES:
        hint = difflib.get_close_matches(name, STAGES, n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ConfigError(f"{where}: unknown stage {name!r}{suggestion}; known: {', '.join(STAGES)}")
    cls = _load_class(STAGES[name])
    options = resolve_option_paths(options or {}, base_dir)
    if "seed" in inspect.signature(cls.__init__).parameters:
        options.setdefault("seed", seed)  # the recipe's seed, unless the stage sets its own
    return construct(cls, options, f"{where}.{name}")
