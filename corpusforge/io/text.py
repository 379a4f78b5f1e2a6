"""Plain text: one segment per line, or blank-line separated documents."""

from __future__ import annotations

from collections.abc import Iterator

from corpusforge.io.base import (
    MIB,
    FileBatches,
    Line,
    LineHandler,
    LineReader,
    declared_language,
    is_blank,
    open_input,
    read_lines,
)
from corpusforge.io.compression import Opener
from corpusforge.records import Split


class TextReader(LineReader):
    """Plain UTF-8 text in the declared language ``lang``.

    One record per line; with ``documents=True`` one record per blank-line separated document
    (its lines joined with ``\\n``, position = its first line; a document with a bad line, or
    over ``max_line_bytes`` in total, is rejected whole).
    """

    kind = "segment"

    def __init__(
        self,
        *,
        lang: str | None = None,
        documents: bool = False,
        batch_bytes: int = MIB,
        max_line_bytes: int = MIB,
    ):
        super().__init__(batch_bytes=batch_bytes, max_line_bytes=max_line_bytes)
        self.lang = declared_language(lang)
        self.documents = documents

    def _line_handler(self, path: str, lines: Iterator[Line]) -> LineHandler:
        return self._line

    def _line(self, line: Line, batches: FileBatches) -> None:
        assert line.text is not None  # LineReader hands over only lines read without a reason
        if is_blank(line.text):
            batches.reject(line.number, "empty_text", "empty or whitespace-only line", line.raw)
        else:
            batches.keep(line.number, {"text": line.text, "lang": self.lang})

    def _read(self, path: str, batches: FileBatches, opener: Opener) -> Iterator[Split]:
        if not self.documents:
            yield from super()._read(path, batches, opener)
            return
        with open_input(path, opener) as stream:
            document = _Document(self.max_line_bytes)
            for line in read_lines(stream, self.max_line_bytes, refuse_binary=True):
                if line.text is not None and is_blank(line.text):  # text is None exactly when there is a reason
                    document.finish(batches, self.lang)
                else:
                    document.add(line)
                split = batches.consumed(line.size)
                if split is not None:
                    yield split
            document.finish(batches, self.lang)


class _Document:
    """The lines of the document being read; memory stays under ``max_bytes``."""

    def __init__(self, max_bytes: int):
        self._max_bytes = max_bytes
        self._reset()

    def _reset(self) -> None:
        self.start: int | None = None
        self._lines: list[str] = []
        self._bytes = 0
        self._problem: tuple[str, str, bytes | str] | None = None

    def add(self, line: Line) -> None:
        if self.start is None:
            self.start = line.number
        if self._problem:
            return
        if line.reason:
            self._problem = (line.reason, f"line {line.number}: {line.detail}", line.raw)
            return
        self._bytes += len(line.raw) + 1
        if self._bytes > self._max_bytes:
            head = "\n".join(self._lines)
            detail = f"document from line {self.start} grows past max_line_bytes={self._max_bytes} at line {line.number}"
            self._problem = ("line_too_long", detail, head)
            self._lines = []
            return
        assert line.text is not None  # no reason, so read_lines gave text
        self._lines.append(line.text)

    def finish(self, batches: FileBatches, lang: str | None) -> None:
        """Add the document read so far (it starts with a non-blank line) as a record or a rejection."""
        if self.start is None:
            return
        if self._problem:
            batches.reject(self.start, *self._problem)
        else:
            batches.keep(self.start, {"text": "\n".join(self._lines), "lang": lang})
        self._reset()
