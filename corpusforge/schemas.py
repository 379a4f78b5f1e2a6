"""Versioned Arrow schemas, loaded from the JSON files in ``schemas/``.

A record kind (segment, bitext, codeswitch, rejected) has a base schema that a released
version never changes. Stages add their own columns (declared by the stage, never inferred
from rows): the output schema of a run is the base schema plus those columns, fixed before
the pipeline starts.

No output column is an Arrow ``map``: Hugging Face ``datasets`` has no type for it. A mapping
(``meta``, ``script_props``) is written as its entries, ``list<struct<key, value>>`` (the
physical layout of a Parquet MAP), which datasets, pandas, pyarrow, DuckDB
(``map_from_entries``), polars and Spark all read; :func:`entries_dict` turns one row's value
back into a dict. Version 1 files, whose ``meta`` is a map, still read (:func:`conform` casts).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from importlib import resources
from typing import Any

import pyarrow as pa

KINDS = ("segment", "bitext", "codeswitch", "rejected", "lexicon", "multiway", "cloned", "consistency")
CURRENT_VERSION = {"segment": 2, "bitext": 2, "codeswitch": 2, "rejected": 1, "lexicon": 1, "multiway": 1, "cloned": 1, "consistency": 1}

_PRIMITIVES = {
    "string": pa.string(),
    "bool": pa.bool_(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "float32": pa.float32(),
    "float64": pa.float64(),
    "binary": pa.binary(),
}


def entries_type(key: pa.DataType, value: pa.DataType) -> pa.ListType:
    """A mapping as ``list<struct<key not null, value>>``: what outputs store instead of a map."""
    return pa.list_(pa.struct([pa.field("key", key, nullable=False), pa.field("value", value)]))


META_TYPE = entries_type(pa.string(), pa.string())  # the ``meta`` column of segment, bitext, codeswitch


def entries_array(offsets: pa.Array, keys: pa.Array, values: pa.Array) -> pa.ListArray:
    """Rows of entries from flat ``keys`` and ``values`` (``offsets``: n + 1 int32, as for a map)."""
    entries = pa.StructArray.from_arrays(
        [keys, values], fields=[pa.field("key", keys.type, nullable=False), pa.field("value", values.type)]
    )
    return pa.ListArray.from_arrays(offsets, entries)


def as_entries(mapping: dict | None) -> list[dict] | None:
    """One row's value for an entries column: ``{"url": "x"}`` -> ``[{"key": "url", "value": "x"}]``
    (None and empty stay None)."""
    return [{"key": k, "value": v} for k, v in mapping.items()] if mapping else None


def entries_dict(value: list | None) -> dict:
    """One row's entries (``to_pylist`` of an entries column, or of a version-1 map column: a
    list of pairs) as a dict; null -> ``{}``. A repeated key keeps its last value."""
    return dict((e["key"], e["value"]) if isinstance(e, dict) else e for e in value) if value else {}


class SchemaError(ValueError):
    """A table does not match the schema it is written under."""


def parse_type(spec: Any) -> pa.DataType:
    """Turn a JSON type (``"string"``, ``{"list": T}``, ``{"map": [K, V]}``, ``{"struct": [...]}``) into Arrow."""
    if isinstance(spec, str):
        if spec not in _PRIMITIVES:
            raise SchemaError(f"unknown type {spec!r}; known: {sorted(_PRIMITIVES)}")
        return _PRIMITIVES[spec]
    if isinstance(spec, dict) and len(spec) == 1:
        ((tag, arg),) = spec.items()
        if tag == "list":
            return pa.list_(parse_type(arg))
        if tag == "map":
            key, value = arg
            return pa.map_(parse_type(key), parse_type(value))
        if tag == "struct":
            return pa.struct([parse_field(f) for f in arg])
    raise SchemaError(f"cannot parse type {spec!r}")


def type_to_json(dtype: pa.DataType) -> Any:
    """Inverse of :func:`parse_type`, used to check JSON and code agree."""
    for name, primitive in _PRIMITIVES.items():
        if dtype == primitive:
            return name
    if pa.types.is_map(dtype):
        return {"map": [type_to_json(dtype.key_type), type_to_json(dtype.item_type)]}
    if pa.types.is_list(dtype):
        return {"list": type_to_json(dtype.value_type)}
    if pa.types.is_struct(dtype):
        return {"struct": [field_to_json(dtype.field(i)) for i in range(dtype.num_fields)]}
    raise SchemaError(f"type {dtype} has no JSON form")


def parse_field(spec: dict) -> pa.Field:
    doc = spec.get("doc")
    metadata = {"doc": doc} if doc else None
    return pa.field(spec["name"], parse_type(spec["type"]), nullable=spec.get("nullable", True), metadata=metadata)


def field_to_json(field: pa.Field) -> dict:
    out = {"name": field.name, "type": type_to_json(field.type), "nullable": field.nullable}
    if field.metadata and b"doc" in field.metadata:
        out["doc"] = field.metadata[b"doc"].decode()
    return out


@functools.cache
def load_schema(kind: str, version: int | None = None) -> pa.Schema:
    """The base schema of a record kind, from ``schemas/<kind>.v<version>.json`` (current version by default)."""
    if kind not in CURRENT_VERSION:
        raise SchemaError(f"unknown record kind {kind!r}; known: {', '.join(KINDS)}")
    version = version or CURRENT_VERSION[kind]
    path = resources.files("corpusforge.schemas_json") / f"{kind}.v{version}.json"
    spec = json.loads(path.read_text(encoding="utf-8"))
    if spec["name"] != kind or spec["version"] != version:
        raise SchemaError(f"{path} declares {spec['name']}.v{spec['version']}, expected {kind}.v{version}")
    return pa.schema([parse_field(f) for f in spec["fields"]], metadata={"corpusforge.schema": schema_id(kind, version)})


def schema_id(kind: str, version: int | None = None) -> str:
    return f"{kind}.v{version or CURRENT_VERSION[kind]}"


def extend(base: pa.Schema, extra: Iterable[pa.Field]) -> pa.Schema:
    """Base schema plus stage-declared columns; a stage may not redefine a column with another type."""
    schema = base
    for field in extra:
        index = schema.get_field_index(field.name)
        if index < 0:
            schema = schema.append(field)
        elif schema.field(index).type != field.type:
            raise SchemaError(f"column {field.name!r} declared as {field.type}, but the schema has {schema.field(index).type}")
    return schema


def conform(data: pa.RecordBatch | pa.Table, schema: pa.Schema) -> pa.Table:
    """Select and cast ``data`` to exactly ``schema``: missing non-null columns, nulls in
    non-null columns and undeclared columns are errors, not silent fixes."""
    table = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
    undeclared = set(table.column_names) - set(schema.names)
    if undeclared:
        raise SchemaError(f"columns not in schema {schema.metadata and schema.metadata.get(b'corpusforge.schema')}: {sorted(undeclared)}")
    columns = []
    for field in schema:
        if field.name in table.column_names:
            column = table.column(field.name)
            if column.type != field.type:
                try:
                    column = column.cast(field.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                    raise SchemaError(f"column {field.name!r}: cannot cast {column.type} to {field.type}: {exc}") from exc
        elif field.nullable:
            column = pa.nulls(table.num_rows, field.type)
        else:
            raise SchemaError(f"required column {field.name!r} is missing")
        if not field.nullable and column.null_count:
            raise SchemaError(f"column {field.name!r} is not nullable but has {column.null_count} nulls")
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=schema)
