"""Readers, without Beam: every format and compression, ids, languages, byte-sized batches, and
one corrupted file per format in which every bad line becomes exactly one rejected row."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import logging
import lzma
import re
import shutil
import tracemalloc
import zlib
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import zstandard

from corpusforge.io.readers import (
    JsonlReader,
    MosesReader,
    ParallelJsonlReader,
    ParallelParquetReader,
    ParallelTsvReader,
    ParquetReader,
    TextReader,
    TmxReader,
    TsvReader,
    open_input,
)
from corpusforge.records import PREVIEW_CHARS, stable_id
from corpusforge.schemas import entries_dict, load_schema

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

COMPRESSORS = {
    "": lambda data: data,
    ".gz": gzip.compress,
    ".bz2": bz2.compress,
    ".xz": lzma.compress,
    # two frames, as pzstd or `cat a.zst b.zst` write them
    ".zst": lambda data: (
        zstandard.ZstdCompressor().compress(data[: len(data) // 2]) + zstandard.ZstdCompressor().compress(data[len(data) // 2 :])
    ),
}


def write(path: Path, data: bytes | str) -> str:
    """Write ``data`` to ``path``, compressed by the path's extension."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    ext = next((e for e in COMPRESSORS if e and path.name.endswith(e)), "")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(COMPRESSORS[ext](raw))
    return str(path)


def read_all(reader, path: str, source: str = "src", **kwargs) -> tuple[pa.Table, pa.Table, int]:
    """All kept rows, all rejected rows, and the number of chunks the reader yielded."""
    splits = list(reader.read(path, source=source, **kwargs))
    for split in splits:
        assert split.kept.schema.equals(load_schema(reader.kind), check_metadata=False)
        assert split.rejected.schema.equals(load_schema("rejected"), check_metadata=False)
    kept = pa.Table.from_batches([s.kept for s in splits], schema=load_schema(reader.kind))
    rejected = pa.Table.from_batches([s.rejected for s in splits], schema=load_schema("rejected"))
    return kept, rejected, len(splits)


def reasons_by_offset(rejected: pa.Table) -> dict[int, str]:
    offsets = rejected.column("offset").to_pylist()
    assert len(offsets) == len(set(offsets)), "one rejected row per bad position"
    return dict(zip(offsets, rejected.column("reason").to_pylist()))


def assert_rejected_rows(rejected: pa.Table, *, path: str, source: str, kind: str, file_key: str) -> None:
    for row in rejected.to_pylist():
        assert (row["stage"], row["kind"], row["source"]) == ("read", kind, source)
        assert row["file"] == path
        assert row["id"] == stable_id(source, file_key, row["offset"])
        assert row["detail"]
        assert row["preview"] is None or len(row["preview"]) <= PREVIEW_CHARS + 1


# --------------------------------------------------------------------------------------------
# Compression and plain text

LINES = [f"line {i}: नमस्ते दुनिया {i}" for i in range(1, 201)]


@pytest.mark.parametrize("ext", list(COMPRESSORS))
def test_every_compression_reads_the_same_records(tmp_path, ext):
    path = write(tmp_path / f"corpus.txt{ext}", "\n".join(LINES) + "\n")
    kept, rejected, _ = read_all(TextReader(lang="hi"), path, file_key="corpus.txt")
    assert kept.column("text").to_pylist() == LINES
    assert set(kept.column("lang").to_pylist()) == {"hin_Deva"}
    assert rejected.num_rows == 0
    # Same file_key, same ids, whatever the compression.
    assert kept.column("id").to_pylist() == [stable_id("src", "corpus.txt", n) for n in range(1, 201)]


def test_open_input_streams_and_closes(tmp_path):
    path = write(tmp_path / "a.txt.gz", "one\ntwo\n")
    with open_input(path) as stream:
        assert stream.readline() == b"one\n"
        assert list(stream) == [b"two\n"]
    assert stream.closed


@pytest.mark.parametrize("ext", [".gz", ".bz2", ".xz"])
def test_truncated_archive_keeps_what_was_read_and_says_where_it_broke(tmp_path, ext, caplog):
    data = "".join(f"line {i} of a download that stopped early\n" for i in range(1, 60001)).encode()  # 3 bz2 blocks
    compressed = COMPRESSORS[ext](data)
    path = tmp_path / f"cut.txt{ext}"
    cut = compressed[: len(compressed) // 2]
    path.write_bytes(cut)
    # What could be read at all: the complete lines of what the cut file decompresses to.
    decompressor = {".gz": lambda: zlib.decompressobj(wbits=31), ".bz2": bz2.BZ2Decompressor, ".xz": lzma.LZMADecompressor}[ext]
    readable = decompressor().decompress(cut)
    with caplog.at_level(logging.WARNING):
        kept, rejected, _ = read_all(TextReader(lang="en"), str(path))
    (row,) = rejected.to_pylist()
    assert row["reason"] == "corrupt_file"
    assert row["offset"] == kept.num_rows + 1
    assert kept.num_rows == readable.count(b"\n") > 0  # every complete line before the cut, none lost
    assert kept.column("text").to_pylist() == [f"line {i} of a download that stopped early" for i in range(1, kept.num_rows + 1)]
    assert "truncated or damaged" in caplog.text


def test_truncated_zstd_is_a_corrupt_file_and_drops_the_cut_line(tmp_path, caplog):
    lines = [f"line {i} of a zstd download that stopped early" for i in range(1, 20001)]
    compressed = COMPRESSORS[".zst"]("".join(line + "\n" for line in lines).encode())
    cut = compressed[: len(compressed) * 9 // 10]
    path = tmp_path / "cut.txt.zst"
    path.write_bytes(cut)
    # What could be read at all: the complete lines of the cut file's decompressible prefix.
    readable = zstandard.ZstdDecompressor().stream_reader(cut, read_across_frames=True).read()
    assert not readable.endswith(b"\n")  # the cut falls inside a line
    with caplog.at_level(logging.WARNING):
        kept, rejected, _ = read_all(TextReader(lang="en"), str(path))
    (row,) = rejected.to_pylist()
    assert row["reason"] == "corrupt_file" and row["offset"] == kept.num_rows + 1
    assert kept.num_rows == readable.count(b"\n")
    assert kept.column("text").to_pylist() == lines[: kept.num_rows]
    assert "truncated or damaged" in caplog.text
    # A complete multi-frame file still reads whole, without a rejected row.
    path.write_bytes(compressed)
    kept, rejected, _ = read_all(TextReader(lang="en"), str(path))
    assert (kept.num_rows, rejected.num_rows) == (len(lines), 0)


def test_ids_stable_across_reads_and_checkouts(tmp_path):
    data = "alpha\nbeta\ngamma\n"
    first = write(tmp_path / "checkout1" / "data" / "sub" / "x.txt.gz", data)
    second = write(tmp_path / "checkout2" / "elsewhere" / "sub" / "x.txt.gz", data)
    reader = TextReader(lang="en")

    def ids(path, **kw):
        return read_all(reader, path, **kw)[0].column("id").to_pylist()

    assert ids(first, file_key="sub/x.txt.gz") == ids(second, file_key="sub/x.txt.gz") == ids(first, file_key="sub/x.txt.gz")
    assert ids(first) == ids(second)  # default key: the basename
    assert ids(first, file_key="other.txt.gz") != ids(first)
    assert ids(first, source="other") != ids(first)
    assert len(set(ids(first))) == 3


def test_declared_language_is_canonicalised_and_checked():
    assert TextReader(lang="hi-IN").lang == "hin_Deva"
    assert TextReader().lang is None
    with pytest.raises(ValueError):
        TextReader(lang="not a language")
    with pytest.raises(ValueError):
        MosesReader(src_lang="en", tgt_lang="qqqqq")


def test_text_corrupted_file_loses_nothing(tmp_path):
    max_line = 200
    lines = [
        b"\xef\xbb\xbfBOM is removed",  # 1
        b"crlf line\r",  # 2 (\r\n ending)
        b"",  # 3 empty_text
        b"  \t ",  # 4 empty_text (whitespace only)
        b"caf\xc3\xa9 ok",  # 5
        b"bad \xff byte",  # 6 invalid_utf8
        b"truncated \xe0\xa4",  # 7 invalid_utf8
        b"nul \x00 byte",  # 8 nul_byte
        b"x" * (max_line + 1),  # 9 line_too_long
        b"y" * max_line,  # 10 exactly the limit: kept
        b"control \x07 chars are the normaliser's business",  # 11
        b"last line with a lone CR\r",  # 12 (no final newline)
    ]
    path = write(tmp_path / "bad.txt", b"\n".join(lines[:-1]) + b"\r\n" + lines[-1])
    kept, rejected, _ = read_all(TextReader(lang="en", max_line_bytes=max_line), path)
    assert reasons_by_offset(rejected) == {
        3: "empty_text",
        4: "empty_text",
        6: "invalid_utf8",
        7: "invalid_utf8",
        8: "nul_byte",
        9: "line_too_long",
    }
    assert kept.column("text").to_pylist() == [
        "BOM is removed",
        "crlf line",
        "café ok",
        "y" * max_line,
        "control \x07 chars are the normaliser's business",
        "last line with a lone CR",
    ]
    assert kept.num_rows + rejected.num_rows == len(lines)
    assert_rejected_rows(rejected, path=path, source="src", kind="segment", file_key="bad.txt")
    by_offset = {r["offset"]: r for r in rejected.to_pylist()}
    assert "at byte 4" in by_offset[6]["detail"]
    assert "\\xff" in by_offset[6]["preview"]
    assert "\\x00" in by_offset[8]["preview"]


def test_huge_line_is_rejected_without_reading_it_whole(tmp_path):
    path = tmp_path / "huge.txt"
    path.write_bytes(b"before\n" + b"z" * (3 * 1024 * 1024) + b"\nafter\n")
    reader = TextReader(lang="en", max_line_bytes=1024 * 1024)
    tracemalloc.start()
    try:
        kept, rejected, _ = read_all(reader, str(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kept.column("text").to_pylist() == ["before", "after"]
    (row,) = rejected.to_pylist()
    assert (row["reason"], row["offset"]) == ("line_too_long", 2)
    assert len(row["preview"]) <= PREVIEW_CHARS + 1
    assert peak < 2.5 * 1024 * 1024  # the 3 MiB line never sits in memory


def test_batches_are_sized_by_bytes(tmp_path):
    lines = [f"{i:06d} " + "w" * 93 for i in range(5000)]  # 100 bytes + newline each
    path = write(tmp_path / "many.txt.gz", "\n".join(lines) + "\n")
    batch_bytes = 64 * 1024
    splits = list(TextReader(lang="en", batch_bytes=batch_bytes).read(path, source="s"))
    assert 7 <= len(splits) <= 9  # 505,000 bytes / 64 KiB
    for split in splits:
        assert sum(len(t) + 1 for t in split.kept.column("text").to_pylist()) <= batch_bytes + 101
    assert sum(s.kept.num_rows for s in splits) == 5000


def test_progress_is_logged_for_long_reads(tmp_path, monkeypatch, caplog):
    from corpusforge import progress

    monkeypatch.setattr(progress, "INTERVAL_SECONDS", 0.0)  # as if every chunk took 10 s
    path = write(tmp_path / "p.txt", "a line\n" * 1000)
    with caplog.at_level(logging.INFO, logger="corpusforge.io.readers"):
        read_all(TextReader(batch_bytes=1024), path)
    assert f"{path}: 1,000 rows, 0.0 MB, " in caplog.text  # 7 kB


def test_documents_mode(tmp_path):
    text = "\n\nfirst doc line 1\nfirst doc line 2\n\n  \nsecond doc\n\nbad \xff doc\nmore\n\n" + "long\n" * 30 + "\nlast doc"
    path = write(tmp_path / "docs.txt", text.encode("utf-8", "surrogateescape").replace(b"\xc3\xbf", b"\xff"))
    kept, rejected, _ = read_all(TextReader(lang="en", documents=True, max_line_bytes=100), path)
    assert kept.column("text").to_pylist() == ["first doc line 1\nfirst doc line 2", "second doc", "last doc"]
    assert reasons_by_offset(rejected) == {9: "invalid_utf8", 12: "line_too_long"}
    ids = kept.column("id").to_pylist()
    assert ids == [stable_id("src", "docs.txt", n) for n in (3, 7, 43)]


# --------------------------------------------------------------------------------------------
# JSON Lines


def test_jsonl_fields_ids_meta_and_languages(tmp_path):
    rows = [
        {"id": "a1", "text": "hello", "lang": "en-US", "url": "http://x", "score": 0.5, "tags": ["é", 1]},
        {"id": "", "text": "no own id", "url": None},
        {"text": "declared language", "lang": ""},
        {"id": 7, "text": "int id", "lang": "zh-Hant", "doc": "d1"},
    ]
    path = write(tmp_path / "in.jsonl.zst", "".join(json.dumps(r) + "\n" for r in rows))
    reader = JsonlReader(id_field="id", lang_field="lang", doc_id_field="doc", lang="hi")
    kept, rejected, _ = read_all(reader, path)
    assert rejected.num_rows == 0
    got = kept.to_pylist()
    assert [r["id"] for r in got] == ["a1", stable_id("src", "in.jsonl.zst", 2), stable_id("src", "in.jsonl.zst", 3), "7"]
    assert [r["lang"] for r in got] == ["eng_Latn", "hin_Deva", "hin_Deva", "zho_Hant"]
    assert [r["doc_id"] for r in got] == [None, None, None, "d1"]
    assert entries_dict(got[0]["meta"]) == {"url": "http://x", "score": "0.5", "tags": '["é", 1]'}
    assert entries_dict(got[1]["meta"]) == {"url": None}
    assert got[2]["meta"] is None


def test_jsonl_dotted_fields(tmp_path):
    rows = [{"translation": {"en": "Hello", "hi": "नमस्ते"}, "n": 1}, {"a.b": "literal dotted key"}]
    path = write(tmp_path / "t.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    kept, _, _ = read_all(JsonlReader(text_field="translation.hi", lang="hi"), path)
    assert kept.column("text").to_pylist() == ["नमस्ते"]
    assert entries_dict(kept.column("meta")[0].as_py()) == {"n": "1"}  # `translation` is not repeated in meta
    kept, _, _ = read_all(JsonlReader(text_field="a.b"), path)
    assert kept.column("text").to_pylist() == ["literal dotted key"]


def test_jsonl_corrupted_file_loses_nothing(tmp_path):
    lines = [
        b'{"text": "good one", "lang": "hi"}',  # 1
        b'{"text": "broken',  # 2 invalid_json
        b"[1, 2]",  # 3 invalid_json (not an object)
        b'{"other": "x"}',  # 4 missing_field
        b'{"text": null}',  # 5 missing_field
        b'{"text": 12}',  # 6 bad_field_type
        b'{"text": "   "}',  # 7 empty_text
        b"",  # 8 empty_text (blank line)
        b'{"text": "bad code", "lang": "xx-notalang"}',  # 9 bad_language_code
        b'{"text": "caf\xe9"}',  # 10 invalid_utf8 (latin-1 byte)
        b'{"text": "raw \x00 nul"}',  # 11 nul_byte
        b'{"text": "escaped \\u0000 nul"}',  # 12 nul_byte
        b'{"text": "lone \\ud800 surrogate"}',  # 13 invalid_json
        b'{"text": "' + b"x" * 300 + b'"}',  # 14 line_too_long
        b'{"text": "paired \\ud83d\\ude00 surrogates are fine"}',  # 15
        b'{"text": "' + b"[" * 10 + b'"}',  # 16 good (brackets inside a string)
        b"[" * 250,  # 17 invalid_json
    ]
    path = write(tmp_path / "bad.jsonl.gz", b"\n".join(lines) + b"\n")
    kept, rejected, _ = read_all(JsonlReader(lang_field="lang", lang="en", max_line_bytes=260), path, file_key="k")
    assert reasons_by_offset(rejected) == {
        2: "invalid_json",
        3: "invalid_json",
        4: "missing_field",
        5: "missing_field",
        6: "bad_field_type",
        7: "empty_text",
        8: "empty_text",
        9: "bad_language_code",
        10: "invalid_utf8",
        11: "nul_byte",
        12: "nul_byte",
        13: "invalid_json",
        14: "line_too_long",
        17: "invalid_json",
    }
    assert kept.column("text").to_pylist() == ["good one", "paired 😀 surrogates are fine", "[" * 10]
    assert kept.column("lang").to_pylist() == ["hin_Deva", "eng_Latn", "eng_Latn"]
    assert kept.num_rows + rejected.num_rows == len(lines)
    assert_rejected_rows(rejected, path=path, source="src", kind="segment", file_key="k")


def test_jsonl_rejected_rows_keep_the_inputs_own_id(tmp_path):
    path = write(tmp_path / "a.jsonl", '{"id": "mine", "text": ""}\n')
    _, rejected, _ = read_all(JsonlReader(id_field="id"), path)
    assert rejected.column("id").to_pylist() == ["mine"]


def test_parallel_jsonl(tmp_path):
    rows = [
        {"id": "p1", "translation": {"en": "Hello", "hi": "नमस्ते"}},
        {"translation": {"en": "only English", "hi": ""}},
        {"translation": {"en": "no target"}},
    ]
    path = write(tmp_path / "p.jsonl.bz2", "".join(json.dumps(r) + "\n" for r in rows))
    reader = ParallelJsonlReader(src_field="translation.en", tgt_field="translation.hi", id_field="id", src_lang="en", tgt_lang="hi")
    kept, rejected, _ = read_all(reader, path)
    assert kept.to_pylist() == [
        {
            "id": "p1",
            "source": "src",
            "src_text": "Hello",
            "tgt_text": "नमस्ते",
            "src_lang": "eng_Latn",
            "tgt_lang": "hin_Deva",
            "origin": "corpus",
            "source_id": None,
            "meta": None,
        }
    ]
    assert reasons_by_offset(rejected) == {2: "empty_text", 3: "missing_field"}
    assert all(d.startswith("target side") for d in rejected.column("detail").to_pylist())
    assert_rejected_rows(rejected, path=path, source="src", kind="bitext", file_key="p.jsonl.bz2")


# --------------------------------------------------------------------------------------------
# TSV


def test_tsv_by_header_name_with_meta(tmp_path):
    text = "\ufeffid\tlang\tsentence\tsource_url\nu1\tur\tیہ ایک جملہ ہے\thttp://a\nu2\t\tplain\thttp://b\n"
    path = write(tmp_path / "in.tsv.xz", text)
    reader = TsvReader(text_column="sentence", id_column="id", lang_column="lang", lang="en")
    kept, rejected, _ = read_all(reader, path)
    assert rejected.num_rows == 0
    assert kept.column("id").to_pylist() == ["u1", "u2"]
    assert kept.column("lang").to_pylist() == ["urd_Arab", "eng_Latn"]
    assert [entries_dict(m) for m in kept.column("meta").to_pylist()] == [{"source_url": "http://a"}, {"source_url": "http://b"}]


def test_tsv_by_index_without_header(tmp_path):
    path = write(tmp_path / "in.tsv", "x\tfirst\ty\nx\tsecond\n")
    kept, _, _ = read_all(TsvReader(text_column=1, header=False, lang="de"), path)
    assert kept.column("text").to_pylist() == ["first", "second"]
    assert kept.column("id").to_pylist() == [stable_id("src", "in.tsv", n) for n in (1, 2)]


def test_tsv_column_errors_are_clear(tmp_path):
    with pytest.raises(ValueError, match="header name"):
        TsvReader(text_column=0)
    with pytest.raises(ValueError, match="0-based index"):
        TsvReader(text_column="a", header=False)


def test_tsv_corrupted_file_loses_nothing(tmp_path):
    lines = [
        b"text\tlang\tnote",  # 1 header
        b"good\thi\tn1",  # 2
        b"too few\thi",  # 3 bad_field_count
        b"too\tmany\tcolumns\there",  # 4 bad_field_count
        b"\thi\tn",  # 5 empty_text (empty cell)
        b"",  # 6 empty_text (blank line)
        b"bad lang\t??\tn",  # 7 bad_language_code
        b"bad \xfe\thi\tn",  # 8 invalid_utf8
        b"nul\x00\thi\tn",  # 9 nul_byte
        b"long " + b"l" * 200 + b"\thi\tn",  # 10 line_too_long
        b"\xe2\x80\x83\thi\tn",  # 11 empty_text (an em space only)
        b"good again\t\tn",  # 12
    ]
    path = write(tmp_path / "bad.tsv.gz", b"\r\n".join(lines) + b"\r\n")
    kept, rejected, _ = read_all(TsvReader(text_column="text", lang_column="lang", max_line_bytes=100), path)
    assert reasons_by_offset(rejected) == {
        3: "bad_field_count",
        4: "bad_field_count",
        5: "empty_text",
        6: "empty_text",
        7: "bad_language_code",
        8: "invalid_utf8",
        9: "nul_byte",
        10: "line_too_long",
        11: "empty_text",
    }
    assert kept.column("text").to_pylist() == ["good", "good again"]
    assert kept.column("lang").to_pylist() == ["hin_Deva", None]
    assert kept.num_rows + rejected.num_rows == len(lines) - 1  # the header is no record
    assert_rejected_rows(rejected, path=path, source="src", kind="segment", file_key="bad.tsv.gz")


@pytest.mark.parametrize(
    "header, match",
    [
        ("a\tb", r"in\.tsv: the header has no column 'text' \(columns: a, b\)"),
        ("text\t\xff", r"in\.tsv: cannot read the header line: invalid UTF-8"),
    ],
)
def test_tsv_bad_header_rejects_the_file_not_the_job(tmp_path, header, match):
    path = write(tmp_path / "in.tsv", header.encode("latin-1") + b"\nx\ty\nz\tw\n")
    kept, rejected, _ = read_all(TsvReader(text_column="text"), path)
    assert kept.num_rows == 0
    (row,) = rejected.to_pylist()
    assert (row["reason"], row["file"], row["offset"]) == ("bad_header", path, 1)
    assert re.search(match, row["detail"])
    # The other files of the input still read.
    good = write(tmp_path / "ok.tsv", "text\nfine\n")
    assert read_all(TsvReader(text_column="text"), good)[0].column("text").to_pylist() == ["fine"]


def test_parallel_tsv(tmp_path):
    path = write(tmp_path / "p.tsv", "en\thi\tid\nHello\tनमस्ते\tk1\nBye\t\tk2\n")
    reader = ParallelTsvReader(src_column="en", tgt_column="hi", id_column="id", src_lang="en", tgt_lang="hi")
    kept, rejected, _ = read_all(reader, path)
    assert kept.select(["id", "src_text", "tgt_text", "tgt_lang"]).to_pylist() == [
        {"id": "k1", "src_text": "Hello", "tgt_text": "नमस्ते", "tgt_lang": "hin_Deva"}
    ]
    assert rejected.select(["id", "reason", "offset"]).to_pylist() == [{"id": "k2", "reason": "empty_text", "offset": 3}]


@pytest.mark.shared_data
@pytest.mark.skipif(not (SHARED_DATA / "parallel_dev.tsv").exists(), reason="../shared/data is absent")
def test_parallel_tsv_on_real_multiparallel_data():
    path = str(SHARED_DATA / "parallel_dev.tsv")
    with open(path, encoding="utf-8") as f:
        rows = sum(1 for _ in f) - 1
    reader = ParallelTsvReader(src_column="en", tgt_column="hi", id_column="unit", src_lang="en", tgt_lang="hi")
    kept, rejected, _ = read_all(reader, path)
    assert kept.num_rows + rejected.num_rows == rows
    assert kept.num_rows > 100
    assert set(rejected.column("reason").to_pylist()) <= {"empty_text"}  # untranslated cells
    assert kept.column("tgt_lang").unique().to_pylist() == ["hin_Deva"]


# --------------------------------------------------------------------------------------------
# Parquet


def test_parquet_columns_ids_languages_meta_and_batches(tmp_path):
    n = 3000
    table = pa.table(
        {
            "uid": [f"u{i}" if i % 10 else None for i in range(n)],
            "text": [f"sentence number {i} " + "p" * 80 for i in range(n)],
            "lang": ["hi" if i % 2 else "ur-PK" for i in range(n)],
            "score": [i / 2 for i in range(n)],
            "tags": [["a", str(i)] for i in range(n)],
        }
    )
    path = str(tmp_path / "in.parquet")
    pq.write_table(table, path, row_group_size=500)
    reader = ParquetReader(id_column="uid", lang_column="lang", batch_bytes=32 * 1024)
    kept, rejected, chunks = read_all(reader, path)
    assert rejected.num_rows == 0 and kept.num_rows == n
    assert chunks > 5
    assert kept.column("text").to_pylist() == table.column("text").to_pylist()
    ids = kept.column("id").to_pylist()
    assert ids[1] == "u1" and ids[0] == stable_id("src", "in.parquet", 1) and ids[2990] == stable_id("src", "in.parquet", 2991)
    assert kept.column("lang").to_pylist()[:2] == ["urd_Arab", "hin_Deva"]
    assert entries_dict(kept.column("meta")[3].as_py()) == {"score": "1.5", "tags": '["a", "3"]'}


@pytest.mark.parametrize("version", [1, 2])
def test_parquet_output_read_back_keeps_its_meta_entries(tmp_path, version):
    """A corpusforge output as input: its ``meta`` (a map in version 1, entries in version 2)
    is carried over entry by entry, not nested as one JSON string; other columns follow."""
    meta_type = pa.map_(pa.string(), pa.string()) if version == 1 else load_schema("segment").field("meta").type
    table = pa.table(
        {
            "id": ["a", "b", "c"],
            "source": ["web", "web", "news"],
            "text": ["one", "two", "three"],
            "meta": pa.array([[("url", "http://x"), ("crawl", None)], None, []], meta_type),
        }
    )
    path = str(tmp_path / "part-00000-of-00001.parquet")
    pq.write_table(table, path)
    kept, rejected, _ = read_all(ParquetReader(id_column="id"), path)
    assert rejected.num_rows == 0 and kept.column("id").to_pylist() == ["a", "b", "c"]
    assert kept.schema.field("meta").type == load_schema("segment").field("meta").type
    assert [entries_dict(m) for m in kept.column("meta").to_pylist()] == [
        {"url": "http://x", "crawl": None, "source": "web"},
        {"source": "web"},
        {"source": "news"},
    ]
    only_meta = pq.read_table(path).select(["text", "meta"])
    pq.write_table(only_meta, path)
    kept, _, _ = read_all(ParquetReader(), path)
    assert kept.column("meta").to_pylist() == [[{"key": "url", "value": "http://x"}, {"key": "crawl", "value": None}], None, []]


def test_parquet_corrupted_file_loses_nothing(tmp_path):
    texts = ["good", None, "", "  ", "nul \x00 here", "l" * 300, "bad lang", "good too"]
    langs = ["en", "en", "en", "en", "en", "en", "notalanguage!", None]
    path = str(tmp_path / "bad.parquet")
    pq.write_table(pa.table({"text": texts, "lang": langs}), path)
    reader = ParquetReader(lang_column="lang", lang="de", max_line_bytes=100, batch_bytes=64)
    kept, rejected, _ = read_all(reader, path)
    assert reasons_by_offset(rejected) == {
        2: "missing_field",
        3: "empty_text",
        4: "empty_text",
        5: "nul_byte",
        6: "line_too_long",
        7: "bad_language_code",
    }
    assert kept.select(["text", "lang"]).to_pylist() == [
        {"text": "good", "lang": "eng_Latn"},
        {"text": "good too", "lang": "deu_Latn"},
    ]
    assert kept.num_rows + rejected.num_rows == len(texts)
    assert_rejected_rows(rejected, path=path, source="src", kind="segment", file_key="bad.parquet")


def test_parquet_wrong_text_type_and_missing_column(tmp_path):
    path = str(tmp_path / "ints.parquet")
    pq.write_table(pa.table({"text": [1, 2, None]}), path)
    kept, rejected, _ = read_all(ParquetReader(), path)
    assert kept.num_rows == 0
    assert reasons_by_offset(rejected) == {1: "bad_field_type", 2: "bad_field_type", 3: "missing_field"}
    kept, rejected, _ = read_all(ParquetReader(text_column="body"), path)
    assert kept.num_rows == 0
    (row,) = rejected.to_pylist()
    assert (row["reason"], row["file"]) == ("missing_column", path)
    assert "ints.parquet: no column 'body' (columns: text)" in row["detail"]


def write_parquet_lines(path: Path, n: int) -> list[str]:
    """A snappy Parquet file of ``n`` text rows in row groups of 1000; returns the texts."""
    texts = [f"row {i} of a Parquet file " * 3 for i in range(1, n + 1)]
    pq.write_table(pa.table({"text": texts}), path, row_group_size=1000, compression="snappy")
    return texts


@pytest.mark.parametrize("damage", ["empty", "truncated", "no_footer"])
def test_parquet_unreadable_file_is_one_corrupt_row(tmp_path, damage):
    path = tmp_path / "bad.parquet"
    write_parquet_lines(path, 3000)
    data = path.read_bytes()
    path.write_bytes({"empty": b"", "truncated": data[: len(data) // 2], "no_footer": data[:-3]}[damage])
    kept, rejected, _ = read_all(ParquetReader(lang="en"), str(path))
    assert kept.num_rows == 0
    (row,) = rejected.to_pylist()
    assert (row["reason"], row["file"], row["offset"]) == ("corrupt_file", str(path), 1)
    assert str(path) in row["detail"]


def test_parquet_damaged_pages_keep_the_rows_before(tmp_path):
    path = tmp_path / "pages.parquet"
    texts = write_parquet_lines(path, 5000)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2  # inside the third row group's data pages
    data[middle : middle + 64] = bytes(b ^ 0x5A for b in data[middle : middle + 64])
    path.write_bytes(bytes(data))
    kept, rejected, _ = read_all(ParquetReader(lang="en", batch_bytes=1000), str(path))
    (row,) = rejected.to_pylist()
    assert row["reason"] == "corrupt_file" and row["offset"] == kept.num_rows + 1
    assert 0 < kept.num_rows < len(texts)
    assert kept.column("text").to_pylist() == texts[: kept.num_rows]


@pytest.mark.parametrize("failure", [ConnectionResetError(104, "Connection reset by peer"), OSError(5, "Input/output error")])
def test_parquet_read_failure_is_not_blamed_on_the_file(tmp_path, failure):
    # A network or disk failure is the runner's to retry or report: never a corrupt_file row
    # that would silently drop the rest of a good file.
    path = tmp_path / "good.parquet"
    write_parquet_lines(path, 5000)

    class Failing(io.FileIO):
        reads = 0

        def read(self, size=-1):
            Failing.reads += 1
            if Failing.reads == 2:
                raise failure
            return super().read(size)

        readall = read

    with pytest.raises(type(failure)):
        read_all(ParquetReader(lang="en"), str(path), opener=lambda p: Failing(p, "rb"))


def string_array(values: list[bytes | None]) -> pa.Array:
    """A string array holding ``values`` as they are, invalid UTF-8 included (as a buggy writer makes)."""
    return pa.Array.from_buffers(pa.string(), len(values), pa.array(values, pa.binary()).buffers())


def test_parquet_invalid_utf8_rows_are_rejected(tmp_path):
    path = str(tmp_path / "bytes.parquet")
    text = string_array([b"good", b"bad \xff end", b"  ", b"\xc3", b"fine", b"meta is bad"])
    note = string_array([b"n1", b"n2", b"n3", b"n4", None, b"\xe0\xa4"])
    pq.write_table(pa.table({"text": text, "note": note}), path)
    kept, rejected, _ = read_all(ParquetReader(lang="en"), path)
    assert reasons_by_offset(rejected) == {2: "invalid_utf8", 3: "empty_text", 4: "invalid_utf8", 6: "invalid_utf8"}
    assert kept.column("text").to_pylist() == ["good", "fine"]
    assert [entries_dict(m) for m in kept.column("meta").to_pylist()] == [{"note": "n1"}, {"note": None}]
    previews = {r["offset"]: r["preview"] for r in rejected.to_pylist()}
    assert previews[2] == "bad \\xff end"
    assert "'note'" in {r["offset"]: r["detail"] for r in rejected.to_pylist()}[6]
    assert kept.num_rows + rejected.num_rows == len(text)


def test_parquet_invalid_utf8_inside_a_nested_column_rejects_only_its_row(tmp_path):
    path = str(tmp_path / "nested.parquet")
    bytes_lists = pa.array([[b"ok", b"fine"], [b"ok", b"\xff\xfe"], None, [b"\xe0\xa4"], [b"last"]], type=pa.list_(pa.binary()))
    tags = pa.ListArray.from_arrays(bytes_lists.offsets, bytes_lists.values.view(pa.string()), mask=pc.is_null(bytes_lists))
    people = pa.StructArray.from_arrays([tags], names=["tags"])  # deeper: struct<list<string>>
    pq.write_table(pa.table({"text": [f"row {i}" for i in range(1, 6)], "tags": tags, "people": people}), path)
    kept, rejected, _ = read_all(ParquetReader(lang="en"), path)
    assert reasons_by_offset(rejected) == {2: "invalid_utf8", 4: "invalid_utf8"}
    assert kept.column("text").to_pylist() == ["row 1", "row 3", "row 5"]
    assert "'tags'" in rejected.column("detail")[0].as_py()


def test_parallel_parquet_missing_column_and_invalid_utf8(tmp_path):
    path = str(tmp_path / "p.parquet")
    pq.write_table(pa.table({"en": ["Hello", "Bye"], "hi": string_array([b"\xff", b"alvida"])}), path)
    reader = ParallelParquetReader(src_column="en", tgt_column="hi", src_lang="en", tgt_lang="hi")
    kept, rejected, _ = read_all(reader, path)
    assert kept.column("tgt_text").to_pylist() == ["alvida"]
    assert reasons_by_offset(rejected) == {1: "invalid_utf8"}
    missing = ParallelParquetReader(src_column="en", tgt_column="ur", src_lang="en", tgt_lang="ur")
    assert read_all(missing, path)[1].column("reason").to_pylist() == ["missing_column"]


def test_parallel_parquet(tmp_path):
    path = str(tmp_path / "p.parquet")
    pq.write_table(pa.table({"en": ["Hello", "Bye", None], "hi": ["नमस्ते", "", "x"], "k": [1, 2, 3]}), path)
    reader = ParallelParquetReader(src_column="en", tgt_column="hi", id_column="k", src_lang="en", tgt_lang="hi")
    kept, rejected, _ = read_all(reader, path)
    assert kept.select(["id", "src_text", "tgt_text", "src_lang", "origin", "meta"]).to_pylist() == [
        {"id": "1", "src_text": "Hello", "tgt_text": "नमस्ते", "src_lang": "eng_Latn", "origin": "corpus", "meta": None}
    ]
    assert rejected.select(["id", "reason", "offset"]).to_pylist() == [
        {"id": "2", "reason": "empty_text", "offset": 2},
        {"id": "3", "reason": "missing_field", "offset": 3},
    ]
    assert rejected.column("detail").to_pylist()[1].startswith("source side")


# --------------------------------------------------------------------------------------------
# Moses


@pytest.mark.parametrize("ext", ["", ".gz"])
def test_moses_unpaired_tail_is_rejected_with_a_warning(tmp_path, ext, caplog):
    src = write(tmp_path / f"corpus.en{ext}", "".join(f"english {i}\n" for i in range(1, 11)))
    tgt = write(tmp_path / f"corpus.hi{ext}", "".join(f"हिंदी {i}\n" for i in range(1, 14)))
    reader = MosesReader(src_lang="en", tgt_lang="hi")
    assert reader.target_path(src) == tgt
    with caplog.at_level(logging.WARNING):
        kept, rejected, _ = read_all(reader, src)
    assert kept.num_rows == 10
    assert kept.column("src_text").to_pylist()[9] == "english 10"
    assert kept.column("tgt_text").to_pylist()[9] == "हिंदी 10"
    assert reasons_by_offset(rejected) == {11: "unpaired_line", 12: "unpaired_line", 13: "unpaired_line"}
    assert set(rejected.column("file").to_pylist()) == {tgt}
    assert f"{tgt} has 3 more lines than {src}" in caplog.text
    assert kept.column("id").to_pylist()[0] == stable_id("src", f"corpus.en{ext}", 1)


def test_moses_corrupted_pair_files_lose_nothing(tmp_path):
    src_lines = [b"one", b"", b"three", b"bad \xff", b"five", b"six", b"n\x00ul", b"eight", b"nine"]
    tgt_lines = [b"ek", b"do", b"  ", b"char", b"paanch \xc3", b"x" * 120, b"saat", b"aath\r"]
    src = write(tmp_path / "c.en", b"\n".join(src_lines) + b"\n")
    write(tmp_path / "c.hi", b"\n".join(tgt_lines) + b"\n")
    kept, rejected, _ = read_all(MosesReader(src_lang="en", tgt_lang="hi", max_line_bytes=100), src)
    assert reasons_by_offset(rejected) == {
        2: "empty_text",
        3: "empty_text",
        4: "invalid_utf8",
        5: "invalid_utf8",
        6: "line_too_long",
        7: "nul_byte",
        9: "unpaired_line",
    }
    assert kept.select(["src_text", "tgt_text"]).to_pylist() == [
        {"src_text": "one", "tgt_text": "ek"},
        {"src_text": "eight", "tgt_text": "aath"},
    ]
    assert kept.num_rows + rejected.num_rows == max(len(src_lines), len(tgt_lines))
    details = {r["offset"]: r["detail"] for r in rejected.to_pylist()}
    assert details[2].startswith("source side") and details[3].startswith("target side")
    files = {r["offset"]: r["file"] for r in rejected.to_pylist()}
    assert files[4] == src and files[5].endswith("c.hi")


def test_moses_truncated_target_is_blamed_on_the_target(tmp_path, caplog):
    src = write(tmp_path / "c.en.gz", "".join(f"english line {i}\n" for i in range(1, 20001)))
    whole = gzip.compress("".join(f"हिंदी पंक्ति {i}\n" for i in range(1, 20001)).encode())
    tgt = tmp_path / "c.hi.gz"
    tgt.write_bytes(whole[: len(whole) // 2])
    with caplog.at_level(logging.WARNING):
        kept, rejected, _ = read_all(MosesReader(src_lang="en", tgt_lang="hi"), src)
    (row,) = rejected.to_pylist()
    assert (row["reason"], row["file"], row["offset"]) == ("corrupt_file", str(tgt), kept.num_rows + 1)
    assert str(tgt) in row["detail"] and src not in row["detail"]
    assert 0 < kept.num_rows < 20000
    assert kept.column("tgt_text").to_pylist()[-1] == f"हिंदी पंक्ति {kept.num_rows}"
    assert f"{tgt}: compressed data truncated or damaged" in caplog.text


def test_moses_suffixes_and_naming(tmp_path):
    reader = MosesReader(src_lang="eng_Latn", tgt_lang="zho_Hans")
    assert (reader.src_suffix, reader.tgt_suffix) == ("en", "zh")
    assert reader.target_path("gs://b/x/corpus.en.zst") == "gs://b/x/corpus.zh.zst"
    custom = MosesReader(src_lang="en", tgt_lang="zh", src_suffix="en_US", tgt_suffix="zh_CN")
    assert custom.target_path("a.en_US") == "a.zh_CN"
    with pytest.raises(ValueError, match=r"\*\.en"):
        reader.target_path(str(tmp_path / "corpus.hi"))


# --------------------------------------------------------------------------------------------
# TMX

TMX_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<tmx version="1.4"><header srclang="en" datatype="plaintext"/>\n<body>\n'


def tu(*tuvs: tuple[str, str], tuid: str | None = None, attr: str = "xml:lang") -> str:
    inner = "".join(f'<tuv {attr}="{lang}"><seg>{seg}</seg></tuv>' for lang, seg in tuvs)
    tuid_attr = f' tuid="{tuid}"' if tuid else ""
    return f"<tu{tuid_attr}>{inner}</tu>\n"


def test_tmx_units_languages_and_inline_markup(tmp_path):
    body = (
        tu(("en-US", "Hello <bpt i='1'>&lt;b&gt;</bpt>world<ept i='1'>&lt;/b&gt;</ept>"), ("hi-IN", " नमस्ते दुनिया "), tuid="t1")
        + tu(("fr", "Bonjour"), ("HI", "नमस्ते"), ("EN", "Hello"), attr="lang")
        + tu(("en", "English only"), ("fr", "Français"))  # tmx_bad_unit: no Hindi
        + tu(("en", "Empty target"), ("hi", "   "), tuid="t4")  # tmx_bad_unit: empty seg
    )
    path = write(tmp_path / "m.tmx.gz", TMX_HEAD + body + "</body></tmx>\n")
    kept, rejected, _ = read_all(TmxReader(src_lang="eng_Latn", tgt_lang="hin_Deva"), path)
    assert kept.select(["id", "src_text", "tgt_text", "src_lang", "tgt_lang"]).to_pylist() == [
        {"id": "t1", "src_text": "Hello <b>world</b>", "tgt_text": "नमस्ते दुनिया", "src_lang": "eng_Latn", "tgt_lang": "hin_Deva"},
        {"id": stable_id("src", "m.tmx.gz", 2), "src_text": "Hello", "tgt_text": "नमस्ते", "src_lang": "eng_Latn", "tgt_lang": "hin_Deva"},
    ]
    assert reasons_by_offset(rejected) == {3: "tmx_bad_unit", 4: "tmx_bad_unit"}
    assert rejected.column("id").to_pylist()[1] == "t4"


def test_tmx_malformed_file_keeps_the_units_before(tmp_path):
    body = (
        tu(("en", "one"), ("hi", "ek"))
        + tu(("en", "two"), ("hi", "do"))
        + "<tu><tuv xml:lang='en'><seg>three</tuv></tu>\n"
        + tu(("en", "four"), ("hi", "char"))
    )
    path = write(tmp_path / "broken.tmx", TMX_HEAD + body + "</body></tmx>\n")
    kept, rejected, _ = read_all(TmxReader(src_lang="en", tgt_lang="hi"), path)
    assert kept.column("src_text").to_pylist() == ["one", "two"]
    (row,) = rejected.to_pylist()
    assert (row["reason"], row["offset"]) == ("malformed_xml", 3)
    assert "line 6" in row["detail"]


def test_tmx_unknown_encoding_is_malformed_xml(tmp_path):
    path = write(tmp_path / "k.tmx", TMX_HEAD.replace("UTF-8", "klingon") + tu(("en", "one"), ("hi", "ek")) + "</body></tmx>\n")
    kept, rejected, _ = read_all(TmxReader(src_lang="en", tgt_lang="hi"), path)
    assert kept.num_rows == 0
    (row,) = rejected.to_pylist()
    assert (row["reason"], row["offset"]) == ("malformed_xml", 1)
    assert "klingon" in row["detail"]


def test_tmx_in_a_default_namespace_reads_like_plain_tmx(tmp_path):
    body = tu(("en", "one"), ("hi", "ek"), tuid="a") + tu(("en", "two"), ("hi", "do")) + tu(("en", "three"), ("fr", "trois"))
    plain = write(tmp_path / "plain.tmx", TMX_HEAD + body + "</body></tmx>\n")
    spaced = write(tmp_path / "ns.tmx", TMX_HEAD.replace("<tmx ", '<tmx xmlns="http://x" ') + body + "</body></tmx>\n")
    reader = TmxReader(src_lang="en", tgt_lang="hi")
    kept, rejected, _ = read_all(reader, spaced, file_key="plain.tmx")
    assert kept.column("src_text").to_pylist() == ["one", "two"]
    assert kept.column("tgt_text").to_pylist() == ["ek", "do"]
    assert kept.equals(read_all(reader, plain)[0])
    assert reasons_by_offset(rejected) == {3: "tmx_bad_unit"}


def test_tmx_internal_entities_are_never_expanded(tmp_path):
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE tmx [\n<!ENTITY a "aaaaaaaaaa">\n<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n]>\n'
        '<tmx version="1.4"><body><tu><tuv xml:lang="en"><seg>&b;</seg></tuv><tuv xml:lang="hi"><seg>x</seg></tuv></tu></body></tmx>\n'
    )
    path = write(tmp_path / "bomb.tmx", bomb)
    kept, rejected, _ = read_all(TmxReader(src_lang="en", tgt_lang="hi"), path)
    assert kept.num_rows == 0
    (row,) = rejected.to_pylist()
    assert row["reason"] == "tmx_entity"
    assert "aaaaaaaaaa" not in str(row)


def test_tmx_external_entities_are_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    doc = (
        f'<?xml version="1.0"?>\n<!DOCTYPE tmx [<!ENTITY s SYSTEM "file://{secret}">]>\n'
        '<tmx version="1.4"><body><tu><tuv xml:lang="en"><seg>&s;</seg></tuv><tuv xml:lang="hi"><seg>x</seg></tuv></tu></body></tmx>\n'
    )
    path = write(tmp_path / "ext.tmx", doc)
    kept, rejected, _ = read_all(TmxReader(src_lang="en", tgt_lang="hi"), path)
    assert kept.num_rows == 0
    (row,) = rejected.to_pylist()
    assert row["reason"] == "tmx_entity"
    assert "TOP-SECRET" not in str(row)


def test_tmx_plain_doctype_is_allowed_and_not_fetched(tmp_path):
    doc = (
        TMX_HEAD.replace("<tmx", '<!DOCTYPE tmx SYSTEM "http://unreachable.invalid/tmx14.dtd">\n<tmx')
        + tu(("en", "a"), ("hi", "b"))
        + "</body></tmx>"
    )
    kept, rejected, _ = read_all(TmxReader(src_lang="en", tgt_lang="hi"), write(tmp_path / "d.tmx", doc))
    assert kept.num_rows == 1 and rejected.num_rows == 0


def test_tmx_batches_are_bounded(tmp_path):
    body = "".join(tu(("en", f"sentence {i} " + "e" * 100), ("hi", f"वाक्य {i}")) for i in range(2000))
    path = write(tmp_path / "big.tmx.xz", TMX_HEAD + body + "</body></tmx>\n")
    kept, rejected, chunks = read_all(TmxReader(src_lang="en", tgt_lang="hi", batch_bytes=64 * 1024), path)
    assert kept.num_rows == 2000 and rejected.num_rows == 0
    assert chunks >= 4
    assert kept.column("id").to_pylist()[1999] == stable_id("src", "big.tmx.xz", 2000)


def test_copying_a_checkout_keeps_ids(tmp_path):
    """The same relative file key in two locations gives the same ids, for a pair format too."""
    a = tmp_path / "one"
    write(a / "corpus.en", "x\ny\n")
    write(a / "corpus.hi", "क\nख\n")
    b = tmp_path / "two"
    shutil.copytree(a, b)
    reader = MosesReader(src_lang="en", tgt_lang="hi")
    ids_a = read_all(reader, str(a / "corpus.en"), file_key="corpus.en")[0].column("id")
    ids_b = read_all(reader, str(b / "corpus.en"), file_key="corpus.en")[0].column("id")
    assert ids_a.equals(ids_b)
