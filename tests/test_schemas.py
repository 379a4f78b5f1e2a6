"""The JSON schemas, the code that loads them and the record builders agree."""

import json
from importlib import resources

import pyarrow as pa
import pytest

from corpusforge.records import Rejections, empty_rejected
from corpusforge.schemas import KINDS, SchemaError, conform, extend, field_to_json, load_schema


@pytest.mark.parametrize("kind", KINDS)
def test_json_round_trips_through_arrow(kind):
    spec = json.loads((resources.files("corpusforge.schemas_json") / f"{kind}.v1.json").read_text())
    schema = load_schema(kind)
    assert [field_to_json(f) for f in schema] == spec["fields"]
    assert schema.metadata[b"corpusforge.schema"] == f"{kind}.v1".encode()


@pytest.mark.parametrize("kind", KINDS)
def test_every_record_has_id_and_source(kind):
    schema = load_schema(kind)
    for name in ("id", "source"):
        assert not schema.field(name).nullable


def test_conform_fills_nullable_and_refuses_what_would_lose_data():
    schema = load_schema("segment")
    table = conform(pa.table({"id": ["a"], "source": ["s"], "text": ["hello"]}), schema)
    assert table.schema == schema and table.column("lang").null_count == 1
    with pytest.raises(SchemaError, match="required column 'text'"):
        conform(pa.table({"id": ["a"], "source": ["s"]}), schema)
    with pytest.raises(SchemaError, match="not nullable"):
        conform(pa.table({"id": ["a"], "source": ["s"], "text": pa.array([None], pa.string())}), schema)
    with pytest.raises(SchemaError, match="not in schema"):
        conform(pa.table({"id": ["a"], "source": ["s"], "text": ["x"], "surprise": [1]}), schema)


def test_stage_columns_extend_but_never_retype():
    base = load_schema("segment")
    extended = extend(base, [pa.field("lang_score", pa.float32())])
    assert extended.names[-1] == "lang_score" and extended.names[:-1] == base.names
    assert extend(base, [pa.field("lang", pa.string())]) == base
    with pytest.raises(SchemaError, match="lang"):
        extend(base, [pa.field("lang", pa.int32())])


def test_rejected_rows_match_their_schema_and_bound_the_preview():
    rejections = Rejections(stage="read", kind="segment")
    rejections.add(id="x", source="s", reason="invalid_utf8", raw=b"bad \xff" + b"y" * 10_000, offset=3, file="f.txt")
    batch = rejections.to_batch()
    assert batch.schema == load_schema("rejected") == empty_rejected().schema
    row = batch.to_pylist()[0]
    assert row["preview"].startswith("bad \\xff") and len(row["preview"]) <= 241
