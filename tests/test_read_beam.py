"""ReadRecords and ReadEvalRows on the DirectRunner: the same rows as the plain reader, tallies,
clear errors; damaged eval files and bad lines become rejected rows, never a crash or a loss."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from corpusforge.beam.read import ReadEvalRows, ReadRecords, _ReadRowsFn, expand_patterns
from corpusforge.beam.stages import SumTallies
from corpusforge.io.filesystems import pattern_root
from corpusforge.io.readers import MosesReader, TextReader

pytestmark = pytest.mark.slow


def _options() -> PipelineOptions:
    return PipelineOptions(runner="DirectRunner")


def _rows(batch) -> list[tuple]:
    return [(r["id"], r["source"], r["text"], r["lang"]) for r in batch.to_pylist()]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt.gz").write_bytes(gzip.compress(b"alpha\nbeta\n\ngamma\n"))
    (root / "sub" / "b.txt.zst").write_bytes(zstandard.ZstdCompressor().compress("दो\n".encode() + b"bad \xff\n"))
    (root / "ignored.csv").write_text("not matched\n")
    return root


def test_expand_patterns_gives_keys_relative_to_the_glob_root(corpus):
    files = expand_patterns([f"{corpus}/**.txt.*", f"{corpus}/a.txt.gz"])
    assert sorted(key for _, key in files) == ["a.txt.gz", "sub/b.txt.zst"]
    assert len(files) == 2  # a file matched twice is read once
    assert pattern_root("gs://bucket/data/*/x.gz") == "gs://bucket/data/"
    assert pattern_root("/data/file.txt") == "/data/"


def test_read_records_matches_the_plain_reader(corpus):
    reader = TextReader(lang="hi")
    expected = []
    expected_rejects = 0
    for path, key in expand_patterns([f"{corpus}/**.txt.*"]):
        for split in reader.read(path, source="web", file_key=key):
            expected += _rows(split.kept)
            expected_rejects += split.rejected.num_rows
    assert len(expected) == 4 and expected_rejects == 2

    with beam.Pipeline(options=_options()) as p:
        out = p | ReadRecords(reader, [f"{corpus}/**.txt.*"], source="web")
        assert_that(out.kept | "KeptRows" >> beam.FlatMap(_rows), equal_to(expected), label="Kept")
        reasons = out.rejected | "Reasons" >> beam.FlatMap(lambda b: b.column("reason").to_pylist())
        assert_that(reasons, equal_to(["empty_text", "invalid_utf8"]), label="Rejected")
        totals = out.counts | SumTallies() | beam.Map(lambda t: (t.total("read"), t.total("out"), t.total("rejected")))
        assert_that(totals, equal_to([(6, 4, 2)]), label="Tally")


def test_moses_patterns_name_the_source_side(tmp_path):
    (tmp_path / "c.en").write_text("one\ntwo\n")
    (tmp_path / "c.hi").write_text("एक\nदो\n")
    with beam.Pipeline(options=_options()) as p:
        out = p | ReadRecords(MosesReader(src_lang="en", tgt_lang="hi"), [f"{tmp_path}/*.en"], source="pairs")
        pairs = out.kept | beam.FlatMap(lambda b: list(zip(b.column("src_text").to_pylist(), b.column("tgt_text").to_pylist())))
        assert_that(pairs, equal_to([("one", "एक"), ("two", "दो")]))


def test_a_pattern_matching_nothing_fails_clearly(tmp_path):
    missing = f"{tmp_path}/nothing-*.txt"
    with pytest.raises(FileNotFoundError, match="matches no file"):
        expand_patterns([missing])
    with pytest.raises(Exception, match=r"nothing-\*\.txt.*matches no file"):
        with beam.Pipeline(options=_options()) as p:
            p | ReadRecords(TextReader(), [missing], source="web")


# --- ReadEvalRows: evaluation sets as row dicts -------------------------------------------------


def _read_eval(pattern: str, fmt: str, check) -> None:
    """Read ``pattern`` with ReadEvalRows; ``check(rows, rejected, totals)`` gets the (position,
    id) of every row, every rejected row (dict) and the tally's (read, out, rejected)."""

    def tagged(out):
        rows = out.rows | "Rows" >> beam.Map(lambda r: ("row", (r[1], r[2].get("id"))))
        rejected = out.rejected | "Rejected" >> beam.FlatMap(lambda b: [("rejected", row) for row in b.to_pylist()])
        totals = (
            out.counts | SumTallies() | "Totals" >> beam.Map(lambda t: ("totals", (t.total("read"), t.total("out"), t.total("rejected"))))
        )
        return (rows, rejected, totals) | beam.Flatten()

    def matcher(actual):
        by_tag = {"row": [], "rejected": [], "totals": []}
        for tag, value in actual:
            by_tag[tag].append(value)
        (totals,) = by_tag["totals"]
        check(sorted(by_tag["row"]), sorted(by_tag["rejected"], key=lambda r: r["offset"]), totals)

    with beam.Pipeline(options=_options()) as p:
        out = p | ReadEvalRows([pattern], fmt=fmt, source="eval", kind="eval")
        assert_that(tagged(out), matcher)


def test_eval_rows_reject_blank_and_malformed_lines_and_read_on(tmp_path):
    path = tmp_path / "eval.jsonl"
    lines = ['{"id": "a", "text": "one"}', "  \t", "{broken", "[1, 2]", "", '{"id": "b", "text": "two"}']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def check(rows, rejected, totals):
        assert rows == [(1, "a"), (6, "b")]
        assert [(r["reason"], r["offset"], r["file"], r["stage"]) for r in rejected] == [
            ("empty_text", 2, str(path), "read"),
            ("invalid_json", 3, str(path), "read"),
            ("invalid_json", 4, str(path), "read"),
            ("empty_text", 5, str(path), "read"),
        ]
        assert rejected[0]["detail"] == "blank line" and rejected[0]["preview"] == "  \t"  # the line's bytes
        assert totals == (len(lines), 2, 4)

    _read_eval(str(path), "jsonl", check)


def test_truncated_gz_eval_file_keeps_its_first_rows_and_ends_in_one_corrupt_row(tmp_path):
    data = "".join(f'{{"id": "r{i}", "text": "row {i} of a download that stopped early"}}\n' for i in range(1, 5001)).encode()
    compressed = gzip.compress(data)
    cut = compressed[: len(compressed) // 2]
    path = tmp_path / "eval.jsonl.gz"
    path.write_bytes(cut)
    readable = zlib.decompressobj(wbits=31).decompress(cut).count(b"\n")  # complete lines before the cut
    assert readable < 5000

    def check(rows, rejected, totals):
        assert 0 < len(rows) == readable  # every complete line before the cut, in order
        assert rows == [(i, f"r{i}") for i in range(1, len(rows) + 1)]
        (row,) = rejected
        assert (row["reason"], row["offset"], row["file"]) == ("corrupt_file", len(rows) + 1, str(path))
        assert "truncated or damaged" in row["detail"]
        assert totals == (len(rows) + 1, len(rows), 1)

    _read_eval(str(path), "jsonl", check)


@pytest.mark.parametrize("damage", ["truncated", "damaged_pages"])
def test_damaged_parquet_eval_file_ends_in_one_corrupt_row(tmp_path, damage):
    path = tmp_path / "eval.parquet"
    n = 20000  # ~4 MB of text: several of the reader's ~1 MiB batches
    pq.write_table(
        pa.table({"id": [f"r{i}" for i in range(1, n + 1)], "text": [f"row {i} " * 24 for i in range(1, n + 1)]}), path, row_group_size=2000
    )
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]  # no footer: nothing can be read
    else:
        middle = len(data) // 2  # inside a middle row group's pages
        data[middle : middle + 64] = bytes(b ^ 0x5A for b in data[middle : middle + 64])
    path.write_bytes(bytes(data))

    def check(rows, rejected, totals):
        (row,) = rejected
        assert (row["reason"], row["offset"], row["file"]) == ("corrupt_file", len(rows) + 1, str(path))
        assert rows == [(i, f"r{i}") for i in range(1, len(rows) + 1)]  # the rows before the damage
        assert (len(rows) == 0) if damage == "truncated" else (0 < len(rows) < n)
        assert totals == (len(rows) + 1, len(rows), 1)

    _read_eval(str(path), "parquet", check)


def test_parquet_eval_row_with_invalid_utf8_is_rejected_not_a_crash(tmp_path):
    path = tmp_path / "eval.parquet"
    text = pa.Array.from_buffers(pa.string(), 3, pa.array([b"ok", b"bad \xff", b"fine"], pa.binary()).buffers())
    pq.write_table(pa.table({"id": ["a", "b", "c"], "text": text}), path)

    def check(rows, rejected, totals):
        assert rows == [(1, "a"), (3, "c")]
        assert [(r["reason"], r["offset"]) for r in rejected] == [("invalid_utf8", 2)]
        assert totals == (3, 2, 1)

    _read_eval(str(path), "parquet", check)


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_an_eval_file_that_cannot_be_opened_fails_the_run(tmp_path, fmt):
    # Only damaged data becomes a rejected row: an I/O error (a file gone, no permission) is
    # the runner's to retry or report, never a silent corrupt_file.
    read = _ReadRowsFn(fmt, "eval", "eval")
    with pytest.raises(OSError):
        list(read.process((str(tmp_path / f"gone.{fmt}"), f"gone.{fmt}")))
