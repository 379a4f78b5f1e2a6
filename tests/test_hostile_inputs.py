"""Hostile input and hostile leftovers: every case ends as kept rows plus rejected rows with a
reason that says what happened, the counts balance (read = kept + rejected per file, and
read = written + rejected + duplicates per source in the manifest), and a dead run's temp files
never block or survive the next run, while a live run's are never touched."""

from __future__ import annotations

import bz2
import codecs
import gzip
import json
import logging
import lzma
import signal
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from support import write_recipe

from corpusforge.cli import main
from corpusforge.config import ConfigError, load_recipe
from corpusforge.io.readers import JsonlReader, TextReader, TmxReader
from corpusforge.outputs import LOCK_NAME
from corpusforge.pipelines.corpus import prepare_output
from corpusforge.schemas import load_schema

CODECS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress, ".zst": zstandard.ZstdCompressor().compress}


def read_all(reader, path: Path) -> tuple[pa.Table, pa.Table]:
    splits = list(reader.read(str(path), source="src"))
    kept = pa.Table.from_batches([s.kept for s in splits], schema=load_schema(reader.kind))
    rejected = pa.Table.from_batches([s.rejected for s in splits], schema=load_schema("rejected"))
    return kept, rejected


def tu(en: str, hi: str, tuid: str) -> str:
    return f'<tu tuid="{tuid}"><tuv xml:lang="en"><seg>{en}</seg></tuv><tuv xml:lang="hi"><seg>{hi}</seg></tuv></tu>\n'


# --------------------------------------------------------------------------------------------
# TMX with a DTD


def test_tmx_with_a_dtd_keeps_its_clean_units_and_rejects_only_those_using_an_entity(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    doc = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE tmx [\n<!ENTITY brand "ACME-EXPANDED">\n'
        f'<!ENTITY leak SYSTEM "file://{secret}">\n<!ENTITY % remote SYSTEM "http://unreachable.invalid/x.dtd">\n%remote;\n]>\n'
        '<tmx version="1.4"><header srclang="en"/><body>\n'
        + tu("one &amp; only", "ek", "1")
        + tu("made by &brand;", "do", "2")
        + tu("read &leak;", "teen", "3")
        + tu("four", "char &#2350;", "4")
        + "</body></tmx>\n"
    )
    path = tmp_path / "dtd.tmx"
    path.write_text(doc, encoding="utf-8")
    kept, rejected = read_all(TmxReader(src_lang="en", tgt_lang="hi"), path)
    assert kept.column("id").to_pylist() == ["1", "4"]
    assert kept.column("src_text").to_pylist() == ["one & only", "four"]
    assert [(r["id"], r["reason"]) for r in rejected.to_pylist()] == [("2", "tmx_entity"), ("3", "tmx_entity")]
    assert "&brand;" in rejected.column("detail")[0].as_py() and "&leak;" in rejected.column("detail")[1].as_py()
    assert "ACME-EXPANDED" not in str(rejected.to_pylist()) and "TOP-SECRET" not in str(rejected.to_pylist())
    assert kept.num_rows + rejected.num_rows == 4  # read = units, not 1


def test_tmx_entity_bomb_is_refused_where_it_is_declared_without_expanding_it(tmp_path):
    entities = (
        '<!ENTITY l0 "' + "lol" * 10 + '">\n' + "".join(f'<!ENTITY l{i} "' + f"&l{i - 1};" * 10 + '">\n' for i in range(1, 10))
    )  # l9 would be 3 * 10**10 bytes
    doc = (
        f'<?xml version="1.0"?>\n<!DOCTYPE tmx [\n{entities}]>\n<tmx version="1.4"><body>\n'
        + tu('<hi x="&l9;"/>&l9;', "x", "1")
        + "</body></tmx>\n"
    )
    path = tmp_path / "bomb.tmx"
    path.write_text(doc, encoding="utf-8")
    tracemalloc.start()
    try:
        kept, rejected = read_all(TmxReader(src_lang="en", tgt_lang="hi"), path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 << 20
    assert kept.num_rows == 0
    (row,) = rejected.to_pylist()
    assert row["reason"] == "xml_entity_bomb" and row["file"] == str(path) and "max_line_bytes" in row["detail"]


# --------------------------------------------------------------------------------------------
# Empty files


@pytest.mark.parametrize("ext", list(CODECS))
def test_zero_byte_compressed_file_is_one_rejected_row_naming_it(tmp_path, ext):
    path = tmp_path / f"download.txt{ext}"
    path.write_bytes(b"")
    kept, rejected = read_all(TextReader(lang="en"), path)
    assert kept.num_rows == 0
    (row,) = rejected.to_pylist()
    assert (row["reason"], row["file"], row["offset"]) == ("empty_file", str(path), 1)
    assert str(path) in row["detail"] and "zero-byte" in row["detail"]


def test_a_valid_compressed_file_of_no_lines_is_not_an_empty_file(tmp_path):
    path = tmp_path / "nothing.txt.gz"
    path.write_bytes(gzip.compress(b""))  # a real (empty) archive: nothing to reject
    kept, rejected = read_all(TextReader(lang="en"), path)
    assert kept.num_rows == 0 and rejected.num_rows == 0


def test_empty_plain_file_gives_no_row_and_a_warning(tmp_path, caplog):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    with caplog.at_level(logging.WARNING):
        kept, rejected = read_all(TextReader(lang="en"), path)
    assert kept.num_rows == 0 and rejected.num_rows == 0
    assert any(str(path) in r.getMessage() and "no rows" in r.getMessage() for r in caplog.records)


def test_inputs_that_give_nothing_are_in_the_manifest_and_warned_about(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "good.txt").write_text("hello world\nnamaste duniya\n", encoding="utf-8")
    (data / "empty.txt").write_bytes(b"")
    (data / "failed.txt.zst").write_bytes(b"")
    inputs = [
        {"name": name, "format": "text", "paths": [str(data / file)], "options": {"lang": "en"}}
        for name, file in (("good", "good.txt"), ("blank", "empty.txt"), ("download", "failed.txt.zst"))
    ]
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(json.dumps({"name": "t", "inputs": inputs, "output": {"path": str(tmp_path / "out")}}), encoding="utf-8")
    assert main(["run", str(recipe), "--no-progress"]) == 0
    manifest = json.loads((tmp_path / "out" / "_manifest.json").read_text(encoding="utf-8"))
    sources = manifest["sources"]
    assert set(sources) == {"good", "blank", "download"}
    assert {k: sources["blank"][k] for k in ("files", "read", "written", "rejected")} == {
        "files": 1,
        "read": 0,
        "written": 0,
        "rejected": 0,
    }
    assert {k: sources["download"][k] for k in ("files", "read", "written", "rejected")} == {
        "files": 1,
        "read": 1,
        "written": 0,
        "rejected": 1,
    }
    assert sources["download"]["rejected_by_stage"] == {"read": {"empty_file": 1}}
    for entry in sources.values():
        assert entry["balanced"] and entry["read"] == entry["written"] + entry["rejected"] + entry["duplicates"]
    err = capsys.readouterr().err
    assert "source blank: no rows were read" in err
    assert "source download: all 1 rows were rejected (top reason: empty_file" in err


# --------------------------------------------------------------------------------------------
# Misleading reasons


def test_json_nested_past_the_recursion_limit_is_too_deep(tmp_path):
    deep = "[" * (sys.getrecursionlimit() * 2) + "]" * (sys.getrecursionlimit() * 2)
    path = tmp_path / "deep.jsonl"
    path.write_text('{"text": "fine"}\n' + '{"text": "deep", "x": ' + deep + "}\n" + '{"text": "also fine"}\n', encoding="utf-8")
    kept, rejected = read_all(JsonlReader(lang="en"), path)
    assert kept.column("text").to_pylist() == ["fine", "also fine"]
    assert [(r["offset"], r["reason"]) for r in rejected.to_pylist()] == [(2, "too_deep")]
    assert kept.num_rows + rejected.num_rows == 3


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le"])
def test_utf16_file_with_a_bom_is_decoded(tmp_path, encoding):
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE, "utf-32-le": codecs.BOM_UTF32_LE}[encoding]
    lines = ["नमस्ते दुनिया", "hello world", "", "ĉu vi parolas?"]
    path = tmp_path / "wide.txt.gz"
    path.write_bytes(gzip.compress(bom + "\r\n".join(lines).encode(encoding) + "\r\n".encode(encoding)))
    kept, rejected = read_all(TextReader(lang="en"), path)
    assert kept.column("text").to_pylist() == [line for line in lines if line]
    assert [(r["offset"], r["reason"]) for r in rejected.to_pylist()] == [(3, "empty_text")]
    assert kept.num_rows + rejected.num_rows == len(lines)  # one row per line, none more


def test_utf16_without_a_bom_says_so_in_the_nul_byte_rejection(tmp_path):
    path = tmp_path / "nobom.txt"
    path.write_bytes("hello\nworld".encode("utf-16-le"))
    kept, rejected = read_all(TextReader(lang="en"), path)
    assert kept.num_rows == 0
    assert set(rejected.column("reason").to_pylist()) == {"nul_byte"}
    assert "UTF-16" in rejected.column("detail")[0].as_py()


# --------------------------------------------------------------------------------------------
# Values past max_line_bytes are refused without being held


def traced_peak(fn) -> int:
    """Peak bytes Python allocated while ``fn()`` ran (tracemalloc)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_huge_tmx_seg_is_rejected_without_being_held(tmp_path):
    huge = 40 * 1024 * 1024  # 40 MiB of text in one <seg>; max_line_bytes is 1 MiB
    path = tmp_path / "huge.tmx"
    with open(path, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<tmx version="1.4"><header srclang="en"/><body>\n')
        f.write(tu("before", "pahle", "1"))
        f.write('<tu tuid="2"><tuv xml:lang="en"><seg>')
        for _ in range(huge // (1 << 20)):
            f.write("words" * (1 << 18))
        f.write('</seg></tuv><tuv xml:lang="hi"><seg>do</seg></tuv></tu>\n')
        f.write(tu("after", "baad", "3") + "</body></tmx>\n")
    result = {}
    peak = traced_peak(lambda: result.update(zip(("kept", "rejected"), read_all(TmxReader(src_lang="en", tgt_lang="hi"), path))))
    kept, rejected = result["kept"], result["rejected"]
    assert kept.column("id").to_pylist() == ["1", "3"]
    assert [(r["id"], r["reason"]) for r in rejected.to_pylist()] == [("2", "line_too_long")]
    assert peak < 8 * 1024 * 1024, f"{peak:,} bytes held for a 40 MiB <seg>"  # it held ~5x the <seg> before


def test_a_json_line_of_millions_of_values_is_rejected_unparsed(tmp_path):
    path = tmp_path / "values.jsonl"
    n = 1_500_000  # "[]," is 3 bytes of text and a 56-byte list once parsed: ~90 MB for a 4.5 MB line
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"text": "fine"}\n')
        f.write('{"text": "short, but its meta is not", "x": [' + ",".join(["[]"] * n) + "]}\n")
        f.write('{"text": "also fine", "x": [1, 2, 3]}\n')
    result = {}
    reader = JsonlReader(lang="en", max_line_bytes=16 * 1024 * 1024)  # a raised limit lets the line in
    peak = traced_peak(lambda: result.update(zip(("kept", "rejected"), read_all(reader, path))))
    kept, rejected = result["kept"], result["rejected"]
    assert kept.column("text").to_pylist() == ["fine", "also fine"]
    assert [(r["offset"], r["reason"]) for r in rejected.to_pylist()] == [(2, "json_too_large")]
    assert peak < 40 * 1024 * 1024, f"{peak:,} bytes held for a {path.stat().st_size:,}-byte file"


# --------------------------------------------------------------------------------------------
# Leftovers of a dead run; a live run's files


# A run that claims the output, writes a complete temp shard as the Beam sink does, then dies
# (SIGKILL) or, with "wait", stays alive until its stdin closes.
_WRITER = textwrap.dedent(
    """
    import os, signal, sys
    import pyarrow as pa, pyarrow.parquet as pq
    from corpusforge.config import load_recipe
    from corpusforge.pipelines.corpus import prepare_output
    recipe = load_recipe(sys.argv[1])
    prepare_output(recipe)
    temp = os.path.join(recipe.output_dir, "segment", ".tmp-0123456789abcdef")
    os.makedirs(temp)
    pq.write_table(pa.table({"text": ["x" * 1000] * 100}), os.path.join(temp, "4567.parquet"))
    open(os.path.join(recipe.output_dir, "_manifest.json.tmp"), "w").write("{")
    print("written", flush=True)
    if sys.argv[2] == "wait":
        sys.stdin.read()
    else:
        os.kill(os.getpid(), signal.SIGKILL)
    """
)


def start_writer(recipe: Path, mode: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(recipe), mode], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "written"
    return proc


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_killed_runs_temp_shards_are_removed_by_the_next_run(tmp_path, overwrite):
    output = tmp_path / "out"
    recipe = write_recipe(tmp_path, output, overwrite=overwrite, text="hello world\n")
    proc = start_writer(recipe, "kill")
    assert proc.wait() == -signal.SIGKILL
    leftover = output / "segment" / ".tmp-0123456789abcdef" / "4567.parquet"
    assert pq.read_table(leftover).num_rows == 100  # complete, readable: what a user would find
    assert main(["run", str(recipe), "--no-progress"]) == 0  # no "exists and is not empty"
    assert not leftover.parent.exists() and not (output / "_manifest.json.tmp").exists()
    assert not list(output.rglob(".tmp-*")) and not (output / LOCK_NAME).exists()
    manifest = json.loads((output / "_manifest.json").read_text(encoding="utf-8"))
    assert manifest["balanced"] and manifest["sources"]["a"]["written"] == 1


def test_a_live_runs_temp_files_are_never_removed(tmp_path):
    output = tmp_path / "out"
    recipe = write_recipe(tmp_path, output, overwrite=True, text="hello world\n")
    proc = start_writer(recipe, "wait")
    try:
        temp = output / "segment" / ".tmp-0123456789abcdef" / "4567.parquet"
        with pytest.raises(ConfigError, match=rf"another corpusforge run is writing to .*pid {proc.pid}"):
            prepare_output(load_recipe(recipe))
        assert pq.read_table(temp).num_rows == 100 and (output / "_manifest.json.tmp").exists()
    finally:
        proc.stdin.close()
        proc.wait()
    prepare_output(load_recipe(recipe))  # its process has ended: the claim is free, the leftovers go
    assert not temp.exists() and not (output / "_manifest.json.tmp").exists()


def test_a_directory_with_leftovers_and_a_file_of_the_user_is_still_refused(tmp_path):
    output = tmp_path / "out"
    recipe = write_recipe(tmp_path, output, overwrite=False, text="hello world\n")
    proc = start_writer(recipe, "kill")
    proc.wait()
    (output / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ConfigError, match="exists and is not empty"):
        prepare_output(load_recipe(recipe))
    assert (output / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert (output / "segment" / ".tmp-0123456789abcdef" / "4567.parquet").exists()  # a refused directory stays as it was


def test_temp_files_of_a_job_that_takes_no_lock_are_never_taken_for_leftovers(tmp_path):
    """translate-test and variants write `.tmp-*` folders without claiming the directory: with
    no lock file there is no proof their run is gone, so they stay and the directory is in use."""
    output = tmp_path / "out"
    live = output / "translated" / ".tmp-1234" / "abc.parquet"
    live.parent.mkdir(parents=True)
    live.write_bytes(b"still being written")
    recipe = write_recipe(tmp_path, output, overwrite=False, text="hello world\n")
    with pytest.raises(ConfigError, match="exists and is not empty"):
        prepare_output(load_recipe(recipe))
    assert live.read_bytes() == b"still being written"


# --------------------------------------------------------------------------------------------
# Broken files, odd names, hostile recipes and a failing disk


@pytest.mark.parametrize("ext", list(CODECS))
def test_a_truncated_compressed_file_keeps_its_complete_rows_and_ends_with_corrupt_file(tmp_path, ext):
    lines = [f"line {i} of a download that was cut short" for i in range(80_000)]  # ~3 MB: several bzip2 blocks
    data = CODECS[ext](("\n".join(lines) + "\n").encode())
    path = tmp_path / f"cut.txt{ext}"
    path.write_bytes(data[: int(len(data) * 0.7)])
    kept, rejected = read_all(TextReader(lang="en"), path)
    texts = kept.column("text").to_pylist()
    assert 0 < len(texts) < len(lines) and texts == lines[: len(texts)]  # what decoded, in order, nothing made up
    (row,) = rejected.to_pylist()
    assert (row["reason"], row["file"], row["offset"]) == ("corrupt_file", str(path), len(texts) + 1)


def test_a_binary_file_given_as_text_is_one_binary_file_row(tmp_path):
    lines = "".join(f"line {i}\n" for i in range(5000)).encode()
    gz = tmp_path / "data.txt"  # gzip data without its .gz
    gz.write_bytes(gzip.compress(lines))
    png = tmp_path / "image.txt"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 40)
    for path, what in ((gz, "gzip"), (png, "PNG")):
        kept, rejected = read_all(TextReader(lang="en"), path)
        assert kept.num_rows == 0
        (row,) = rejected.to_pylist()  # one row, not one per "line" of junk
        assert row["reason"] == "binary_file" and row["file"] == str(path) and what in row["detail"]
    text = tmp_path / "pk.txt"  # text that merely starts like a signature is read
    text.write_text("PAR1 is the name of the first part\nsecond line\n", encoding="utf-8")
    kept, rejected = read_all(TextReader(lang="en"), text)
    assert kept.num_rows == 2 and rejected.num_rows == 0


def test_an_id_past_the_limit_is_rejected_and_its_row_gets_a_derived_id(tmp_path):
    from corpusforge.io.base import MAX_ID_BYTES

    path = tmp_path / "ids.jsonl"
    long_id = "x" * (MAX_ID_BYTES + 1)
    path.write_text(
        json.dumps({"id": "short", "text": "fine"}) + "\n" + json.dumps({"id": long_id, "text": "an id as long as a document"}) + "\n",
        encoding="utf-8",
    )
    kept, rejected = read_all(JsonlReader(lang="en", id_field="id"), path)
    assert kept.column("id").to_pylist() == ["short"]
    (row,) = rejected.to_pylist()
    assert row["reason"] == "id_too_long" and row["offset"] == 2 and len(row["id"]) < 100
    assert kept.num_rows + rejected.num_rows == 2


def test_a_symlink_loop_in_a_glob_ends_and_lists_each_file_once(tmp_path):
    from corpusforge.beam.read import expand_patterns

    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "sub" / "b.txt").write_text("hello\n", encoding="utf-8")
    (data / "sub" / "loop").symlink_to(data, target_is_directory=True)  # data/sub/loop -> data
    found = [path for path, _ in expand_patterns([str(data / "**" / "*.txt")])]
    assert len(found) == len(set(found)) and str(data / "sub" / "b.txt") in found
    assert all(len(Path(p).parts) < len(data.parts) + 8 for p in found)  # not followed round the loop


def test_yaml_tags_in_a_recipe_are_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"name: !!python/object/apply:os.system ['touch {marker}']\ninputs: []\noutput: {{path: out}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML.*python/object/apply"):
        load_recipe(recipe)
    assert not marker.exists()


def test_partition_values_never_escape_the_output_directory(tmp_path):
    from corpusforge.io.shards import ShardMetadata, write_shards

    values = ["../../escaped", "/etc/passwd", "..", ".", "a/b", "C:\\x", "%2e%2e", "_hidden", "null", "", None, "hin_Deva"]
    schema = load_schema("segment")
    rows = [{"id": f"{i:03d}", "source": "s", "text": f"row {i}", "lang": value} for i, value in enumerate(values)]
    out = tmp_path / "out"
    write_shards(
        [pa.RecordBatch.from_pylist(rows, schema=schema)],
        out,
        schema=schema,
        metadata=ShardMetadata(schema="segment.v2", recipe_hash="h"),
        partition_by="lang",
    )
    everything = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(out in p.parents for p in everything)  # nothing written outside
    files = [p for p in everything if p.suffix == ".parquet"]
    assert all(p.parent.parent == out and not p.parent.name.startswith((".", "_")) for p in files)  # one plain folder each
    assert len({p.parent for p in files}) == len(values)  # no two values share a folder
    back = {r["id"]: r["lang"] for f in files for r in pq.read_table(f).to_pylist()}
    assert back == {row["id"]: row["lang"] for row in rows}


def test_an_output_directory_that_cannot_be_prepared_is_one_config_error(tmp_path, monkeypatch, capsys):
    import errno

    from corpusforge.outputs import RunLock

    recipe = write_recipe(tmp_path, tmp_path / "out", overwrite=False)

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path / "out"))

    monkeypatch.setattr(RunLock, "acquire", read_only)
    assert main(["run", str(recipe), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "Read-only file system" in err and str(tmp_path / "out") in err and "Traceback" not in err


@pytest.mark.parametrize(
    "error", [(28, "No space left on device", "the disk is full"), (13, "Permission denied", "Permission denied")], ids=["ENOSPC", "EACCES"]
)
def test_a_disk_error_while_writing_is_one_line_and_leaves_no_visible_shard(tmp_path, monkeypatch, capsys, error):
    from corpusforge.io.shards import ShardWriter

    code, message, shown = error
    out = tmp_path / "out"
    recipe = write_recipe(tmp_path, out, overwrite=False)
    original = ShardWriter.close

    def fail(self):
        raise OSError(code, message, self.path)

    monkeypatch.setattr(ShardWriter, "close", fail)
    assert main(["run", str(recipe), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert shown in err and str(out) in err and "Traceback" not in err
    assert not list(out.rglob("part-*.parquet")) and not (out / "_manifest.json").exists()  # nothing half-written is visible
    monkeypatch.setattr(ShardWriter, "close", original)
    assert main(["run", str(recipe), "--no-progress"]) == 0  # the disk is back: the next run cleans up and succeeds
    assert not [p for p in out.rglob(".tmp-*")] and (out / "_manifest.json").exists()
