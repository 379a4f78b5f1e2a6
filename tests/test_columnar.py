"""The columnar fast paths give what the per-row definitions give: ids, previews, rejected rows."""

import pyarrow as pa

from corpusforge.hashing import IdPrefix, stable_id
from corpusforge.records import PREVIEW_CHARS, Rejections, preview, previews, reject_where


def test_id_prefix_makes_the_ids_stable_id_makes():
    ids = IdPrefix("mono", "data/part-0.jsonl")
    for position in (1, 2, 10, 123456789):
        assert ids(position) == stable_id("mono", "data/part-0.jsonl", position)
    assert IdPrefix("a\udcff", "k")(3) == stable_id("a\udcff", "k", 3)  # lone surrogates hashed as stable_id does
    assert ids(1) != IdPrefix("mono", "data/part-1.jsonl")(1)


def test_previews_match_preview_row_by_row():
    texts = ["short", "x" * PREVIEW_CHARS, "y" * (PREVIEW_CHARS + 1), "é" * 300, "a\x00b" * 100, None, "", "\x00" * PREVIEW_CHARS]
    assert previews(pa.array(texts, pa.string())).to_pylist() == [preview(t) for t in texts]
    assert previews(pa.array(["ok", None], pa.large_string())).to_pylist() == ["ok", None]


def test_reject_where_gives_the_rows_one_by_one_rejections_give():
    texts = ["keep", "bad\x00" * 80, None, "fine", "z" * 500]
    batch = pa.RecordBatch.from_pydict(
        {"id": [f"r{i}" for i in range(5)], "source": ["s"] * 5, "text": pa.array(texts, pa.string()), "n": list(range(5))}
    )
    mask = [False, True, True, False, True]
    reasons = [None, "a", "b", None, "c"]
    details = [None, "one", None, None, "three"]
    split = reject_where(batch, mask, stage="st", kind="segment", reason=reasons, detail=details)
    expected = Rejections(stage="st", kind="segment")
    for i in (1, 2, 4):
        expected.add(id=f"r{i}", source="s", reason=reasons[i], detail=details[i], raw=texts[i])
    assert split.rejected.equals(expected.to_batch())
    assert split.kept.column("id").to_pylist() == ["r0", "r3"]
    same = reject_where(batch, mask, stage="st", kind="segment", reason="why", detail="d", text_column="absent")
    assert same.rejected.column("reason").to_pylist() == ["why"] * 3
    assert same.rejected.column("preview").to_pylist() == [None] * 3
