"""Tab-separated values as OPUS and Moses tools write them: split on tab, no quoting rules."""

from __future__ import annotations

from collections.abc import Iterator

from corpusforge.io.base import (
    MIB,
    AddRecord,
    FileBatches,
    FileRejected,
    Line,
    LineHandler,
    LineReader,
    PairRecords,
    SegmentRecords,
    declared_language,
    is_blank,
)


class _TsvFormat(LineReader):
    """Columns by header name (``header=True``; other named columns go to ``meta``, and every
    row must have the header's width) or by 0-based index (rows need at least the highest one).
    A header that cannot be read or lacks a configured column rejects the file as one
    ``bad_header`` row (its lines are not read)."""

    header: bool
    _columns: dict[str, str | int | None]
    _add: AddRecord  # from the record shape mixin

    def _check_columns(self) -> None:
        wanted_type = str if self.header else int
        for role, column in self._columns.items():
            if column is not None and (not isinstance(column, wanted_type) or isinstance(column, bool)):
                how = "a header name (str)" if self.header else "a 0-based index (int), since header=False"
                raise ValueError(f"{role} column {column!r} must be {how}")
            if isinstance(column, int) and column < 0:
                raise ValueError(f"{role} column {column} must be >= 0")

    def _line_handler(self, path: str, lines: Iterator[Line]) -> LineHandler:
        wanted = {role: column for role, column in self._columns.items() if column is not None}
        index: dict[str, int] = {}  # role -> column index
        if self.header:
            first = next(lines, None)
            if first is None:  # empty file: no rows follow
                return lambda line, batches: None
            if first.reason:
                raise FileRejected("bad_header", f"{path}: cannot read the header line: {first.detail}", raw=first.raw)
            assert first.text is not None  # read_lines gives text whenever there is no reason
            names = first.text.split("\t")
            for role, column in wanted.items():
                assert isinstance(column, str)  # _check_columns: with a header, columns are names
                if column not in names:
                    detail = f"{path}: the header has no column {column!r} (columns: {', '.join(names)})"
                    raise FileRejected("bad_header", detail, raw=first.raw)
                index[role] = names.index(column)
            meta_columns = [(name, i) for i, name in enumerate(names) if i not in index.values()]
            width, exact = len(names), True
        else:
            meta_columns = []
            for role, column in wanted.items():
                assert isinstance(column, int)  # _check_columns: without a header, columns are indexes
                index[role] = column
            width, exact = max(index.values()) + 1, False

        def handle(line: Line, batches: FileBatches) -> None:
            assert line.text is not None  # LineReader hands over only lines read without a reason
            if is_blank(line.text):
                batches.reject(line.number, "empty_text", "blank line", line.raw)
                return
            cells = line.text.split("\t")
            if len(cells) < width or (exact and len(cells) != width):
                expected = f"{width} (the header's)" if exact else f"at least {width}"
                batches.reject(line.number, "bad_field_count", f"{len(cells)} columns, expected {expected}", line.raw)
                return
            values = {role: cells[i] for role, i in index.items()}
            meta = {name: cells[i] for name, i in meta_columns}
            self._add(batches, line.number, line.raw, values, meta or None)

        return handle


class TsvReader(SegmentRecords, _TsvFormat):
    """Segments from TSV; ``lang_column`` overrides the declared ``lang`` per row when not empty."""

    def __init__(
        self,
        *,
        text_column: str | int,
        id_column: str | int | None = None,
        lang_column: str | int | None = None,
        doc_id_column: str | int | None = None,
        header: bool = True,
        lang: str | None = None,
        batch_bytes: int = MIB,
        max_line_bytes: int = MIB,
    ):
        super().__init__(batch_bytes=batch_bytes, max_line_bytes=max_line_bytes)
        self.header = header
        self.lang = declared_language(lang)
        self._columns = {"text": text_column, "id": id_column, "lang": lang_column, "doc_id": doc_id_column}
        self._check_columns()


class ParallelTsvReader(PairRecords, _TsvFormat):
    """Sentence pairs from two TSV columns (e.g. OPUS ``.tsv`` or a multi-parallel table)."""

    def __init__(
        self,
        *,
        src_column: str | int,
        tgt_column: str | int,
        id_column: str | int | None = None,
        header: bool = True,
        src_lang: str | None = None,
        tgt_lang: str | None = None,
        batch_bytes: int = MIB,
        max_line_bytes: int = MIB,
    ):
        super().__init__(batch_bytes=batch_bytes, max_line_bytes=max_line_bytes)
        self.header = header
        self.src_lang = declared_language(src_lang)
        self.tgt_lang = declared_language(tgt_lang)
        self._columns = {"src": src_column, "tgt": tgt_column, "id": id_column}
        self._check_columns()
