"""ReadRecords on the DirectRunner: the same rows as the plain reader, tallies, clear errors."""

from __future__ import annotations

import gzip
from pathlib import Path

import apache_beam as beam
import pytest
import zstandard
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from corpusforge.beam.read import ReadRecords, expand_patterns, pattern_root
from corpusforge.beam.stages import SumTallies
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
    (root / "a.txt.gz").write_bytes(gzip.compress("alpha\nbeta\n\ngamma\n".encode()))
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
