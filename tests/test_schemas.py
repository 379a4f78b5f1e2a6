"""The JSON schemas, the code that loads them and the record builders agree."""

import json
from importlib import resources

import pyarrow as pa
import pytest

from corpusforge.records import Rejections, empty_rejected
from corpusforge.schemas import (
    CURRENT_VERSION,
    KINDS,
    META_TYPE,
    SchemaError,
    as_entries,
    conform,
    entries_dict,
    extend,
    field_to_json,
    load_schema,
    schema_id,
)

SCHEMA_FILES = sorted(f.name for f in resources.files("corpusforge.schemas_json").iterdir() if f.name.endswith(".json"))


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_json_round_trips_through_arrow(name):
    kind, version = name.split(".")[0], int(name.split(".")[1][1:])
    spec = json.loads((resources.files("corpusforge.schemas_json") / name).read_text())
    schema = load_schema(kind, version)
    assert [field_to_json(f) for f in schema] == spec["fields"]
    assert schema.metadata[b"corpusforge.schema"] == f"{kind}.v{version}".encode()


@pytest.mark.parametrize("kind", KINDS)
def test_every_version_up_to_the_current_one_is_kept(kind):
    versions = sorted(int(n.split(".")[1][1:]) for n in SCHEMA_FILES if n.split(".")[0] == kind)
    assert versions == list(range(1, CURRENT_VERSION[kind] + 1))
    assert schema_id(kind) == f"{kind}.v{CURRENT_VERSION[kind]}"


def _has_map(dtype: pa.DataType) -> bool:
    if pa.types.is_map(dtype):
        return True
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        return _has_map(dtype.value_type)
    return pa.types.is_struct(dtype) and any(_has_map(f.type) for f in dtype)


@pytest.mark.parametrize("kind", ["segment", "bitext", "codeswitch", "rejected"])
def test_record_outputs_hold_no_arrow_map(kind):
    """Hugging Face datasets has no type for an Arrow map (``load_dataset`` fails on one)."""
    assert not [f.name for f in load_schema(kind) if _has_map(f.type)]
    assert load_schema(kind).field("meta").type == META_TYPE if kind != "rejected" else True


def test_entries_read_back_as_dicts_from_either_version():
    v1 = pa.array([[("url", "x"), ("n", None)], None], pa.map_(pa.string(), pa.string()))
    v2 = v1.cast(META_TYPE)  # what conform does to a version-1 meta column
    assert [entries_dict(v) for v in v1.to_pylist()] == [entries_dict(v) for v in v2.to_pylist()] == [{"url": "x", "n": None}, {}]
    assert pa.array([as_entries({"url": "x"}), as_entries({})], META_TYPE).to_pylist() == [[{"key": "url", "value": "x"}], None]
    old = pa.table({"id": ["a"], "source": ["s"], "text": ["t"], "meta": v1.slice(0, 1)})
    assert conform(old, load_schema("segment")).column("meta").to_pylist() == [[{"key": "url", "value": "x"}, {"key": "n", "value": None}]]


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


def test_a_stage_is_told_its_record_kind_and_library_callers_get_one_reading_of_the_columns():
    """kind_of gives the kind the runner told (told_kind), whatever the columns suggest; without
    one it reads the columns once, the same way for every stage that asks."""
    import pyarrow as pa

    from corpusforge.premium import text_sides
    from corpusforge.records import SIDES, kind_of, told_kind
    from corpusforge.transforms.normalize import _sides

    bitext = pa.RecordBatch.from_pylist([{"src_text": "a", "tgt_text": "b", "src_lang": "eng_Latn", "tgt_lang": "hin_Deva"}])
    segment = pa.RecordBatch.from_pylist([{"text": "a", "lang": "eng_Latn"}])
    codeswitch = pa.RecordBatch.from_pylist([{"text": "a", "matrix_lang": "eng_Latn"}])
    assert [kind_of(b) for b in (bitext, segment, codeswitch)] == ["bitext", "segment", "codeswitch"]
    assert _sides(bitext) == ("bitext", [("src_text", "src_lang"), ("tgt_text", "tgt_lang")])
    assert [column for _, column, _ in text_sides(bitext.schema)] == [column for column, _ in SIDES["bitext"]]
    with told_kind("segment"):
        assert kind_of(codeswitch) == "segment"
        with told_kind("bitext"):
            assert kind_of(segment) == "bitext"
        assert kind_of(codeswitch) == "segment"
        with pytest.raises(ValueError, match="normalize needs a segment"):
            _sides(bitext)  # told segment, but no text column: refused, not guessed
    assert kind_of(codeswitch) == "codeswitch"
