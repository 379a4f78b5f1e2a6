"""Live progress of a local run: workers' boards, the bytes they count, what the command shows."""

import io

import apache_beam as beam
import pytest

from corpusforge.beam.read import ReadInputs, ReadSource
from corpusforge.io.readers import TextReader
from corpusforge.progress import PROGRESS_DIR_ENV, ProgressBoard, RunDisplay, counting_opener, read_boards


def test_boards_of_several_processes_add_up_and_the_display_caps_each_file(tmp_path):
    board = ProgressBoard(str(tmp_path))
    board.read_bytes("a.txt", 30)
    board.stage_rows("lid", 5)
    board.flush()
    # another worker process's board: its own file in the same folder
    (tmp_path / "99-1.json").write_text('{"files": {"b.txt": 500}, "stages": {"lid": 7}}')
    files, stages = read_boards(str(tmp_path))
    assert files == {"a.txt": 30, "b.txt": 500} and stages == {"lid": 12}
    display = RunDisplay(str(tmp_path), {"a.txt": 100, "b.txt": 100}, stream=io.StringIO())
    with display:
        snapshot = display.snapshot()
    assert snapshot["done"] == 130 and snapshot["total"] == 200 and snapshot["eta"] is not None  # b.txt counts 100, not 500
    assert display.line().startswith("progress: 65% of 200 B read") and "lid 12" in display.line()


def test_without_a_display_the_opener_is_left_as_it_is(monkeypatch):
    monkeypatch.delenv(PROGRESS_DIR_ENV, raising=False)
    opener = open
    assert counting_opener(opener) is opener


def test_lines_on_a_stream_that_is_not_a_terminal(tmp_path):
    stream = io.StringIO()
    board = ProgressBoard(str(tmp_path))
    board.read_bytes("a.txt", 10)
    board.flush()
    with RunDisplay(str(tmp_path), {"a.txt": 10}, stream=stream, interval=0.05):
        import time

        time.sleep(0.3)
    assert "progress: 100% of 10 B read" in stream.getvalue()


@pytest.mark.slow
def test_a_beam_read_reports_every_byte_of_its_files(tmp_path, monkeypatch):
    boards = tmp_path / "boards"
    boards.mkdir()
    monkeypatch.setenv(PROGRESS_DIR_ENV, str(boards))
    files = []
    for n in range(3):
        path = tmp_path / f"in{n}.txt"
        path.write_text("".join(f"line {i} of file {n}\n" for i in range(2000 * (n + 1))))
        files.append(path)
    with beam.Pipeline(runner="DirectRunner") as p:
        _ = p | ReadInputs([ReadSource("web", TextReader(lang="eng_Latn"), [str(tmp_path / "in*.txt")])])
    read, _ = read_boards(str(boards))
    assert {k.rsplit("/", 1)[-1]: v for k, v in read.items()} == {f.name: f.stat().st_size for f in files}


def test_counting_an_uncompressed_file_reads_it_in_blocks_not_bytes(tmp_path, monkeypatch):
    """The display must not slow a run down: lines of a plain file are read through a buffer,
    not one byte per read of the underlying stream, and every byte is still counted."""
    from corpusforge.io.base import read_lines
    from corpusforge.io.compression import open_input

    boards = tmp_path / "boards"
    boards.mkdir()
    monkeypatch.setenv(PROGRESS_DIR_ENV, str(boards))
    path = tmp_path / "in.txt"
    path.write_text("".join(f"line {i}\n" for i in range(20000)))
    reads = []

    class Counted(io.FileIO):
        def readinto(self, buffer):
            reads.append(len(buffer))
            return super().readinto(buffer)

        def read(self, size=-1):
            reads.append(size)
            return super().read(size)

    with open_input(str(path), counting_opener(lambda p: Counted(p, "rb"))) as stream:
        lines = [line.text for line in read_lines(stream, 1 << 20)]
    assert lines == [f"line {i}" for i in range(20000)]
    assert len(reads) < 100  # ~190 KB: a handful of block reads (was one read per byte)
    read, _ = read_boards(str(boards))
    assert read == {str(path): path.stat().st_size}
