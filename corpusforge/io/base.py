"""The reader contract and the parts every reader shares.

A reader turns one input file into :class:`~corpusforge.records.Split` chunks: records of its
kind (exactly the base schema's columns) and rejected rows (stage ``read``), each chunk about
``batch_bytes`` of input. Shared here: the line core (bounded reads, decoding and checks) used by
every line format, the per-file batcher (ids, rejections, byte-sized chunks, progress logs) and
the field helpers (language codes, ids, meta values).
"""

from __future__ import annotations

import abc
import codecs
import io
import json
import logging
import posixpath
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, NamedTuple, overload

import pyarrow as pa

from corpusforge.accounting import READ_STAGE
from corpusforge.hashing import IdPrefix
from corpusforge.io.compression import EmptyArchiveError, Opener, is_corrupt_data_error, open_binary, open_input
from corpusforge.languages import LanguageCodeError, canonical
from corpusforge.progress import Progress
from corpusforge.records import Rejections, Split
from corpusforge.schemas import as_entries, load_schema

MIB = 1 << 20
PREVIEW_BYTES = 4096  # what a too-long line keeps for its preview
MAX_ID_BYTES = 1024  # an input's own id longer than this is refused (id_too_long): ids are sort keys and shard statistics
# Signatures of binary files a text format cannot read (a compressed file without its extension,
# an archive, an image, a PDF): the file is one ``binary_file`` row, not a row per "line" of junk.
_BINARY_MAGIC = (
    (b"\x1f\x8b", "gzip data (name the file *.gz)"),
    (b"\x28\xb5\x2f\xfd", "zstd data (name the file *.zst)"),
    (b"BZh", "bzip2 data (name the file *.bz2)"),
    (b"\xfd7zXZ\x00", "xz data (name the file *.xz)"),
    (b"PK\x03\x04", "a zip archive (unpack it)"),
    (b"\x89PNG\r\n", "a PNG image"),  # its signature goes on past a line end
    (b"PAR1", "a Parquet file (use format: parquet)"),
)
_SKIP_BYTES = 1 << 16  # chunk size used to skip the rest of a too-long line
_BOM = b"\xef\xbb\xbf"
# Byte order marks of the wide encodings read by decoding (UTF-32 first: its LE mark starts like UTF-16's)
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

log = logging.getLogger("corpusforge.io.readers")


class Reader(abc.ABC):
    """Reads one input file into chunks of records of ``kind`` plus rejected rows.

    Runner-free and picklable: constructors only validate and store options.
    ``batch_bytes`` sizes the chunks (by input bytes, not rows) and bounds memory together with
    ``max_line_bytes``, the longest line or record accepted (longer ones are rejected unread).
    """

    kind: str  # "segment" or "bitext": the schema of the records read

    def __init__(self, *, batch_bytes: int = MIB, max_line_bytes: int = MIB):
        if batch_bytes <= 0 or max_line_bytes <= 0:
            raise ValueError(f"batch_bytes and max_line_bytes must be positive, got {batch_bytes}, {max_line_bytes}")
        self.batch_bytes = batch_bytes
        self.max_line_bytes = max_line_bytes

    def read(
        self,
        path: str,
        *,
        source: str,
        file_key: str | None = None,
        opener: Opener = open_binary,
    ) -> Iterator[Split]:
        """Yield ``Split(kept, rejected)`` chunks for the file at ``path``.

        ``source`` names the recipe input (the ``source`` column); ``file_key`` names the file in
        ids (default: its basename) so ids do not depend on where the data lives; ``opener``
        returns the file's raw bytes (decompression by extension happens here).
        """
        if not source:
            raise ValueError("source must be a non-empty input name")
        batches = FileBatches(self, path, source=source, file_key=file_key or posixpath.basename(path))
        try:
            for split in self._read(path, batches, opener):
                batches.rows_seen += split.kept.num_rows + split.rejected.num_rows
                yield split
        except Exception as exc:
            ended = as_file_rejection(exc, path)
            if ended is None:
                raise
            # A truncated download, a damaged archive, a file of the wrong shape: keep what was
            # read, say where and why it broke.
            position = ended.position or batches.last_position + 1
            file = ended.file or path
            log.warning("%s at position %d: %s", ended.reason, position, ended.detail)
            batches.reject(position, ended.reason, ended.detail, ended.raw, file=file)
        last = batches.flush()
        if last is not None:
            batches.rows_seen += last.kept.num_rows + last.rejected.num_rows
            yield last
        if not batches.rows_seen:
            # An empty plain file is a valid file with no rows (nothing to reject); say so, since
            # a recipe rarely means to read one. Its input still appears in the manifest.
            log.warning("%s holds no rows (an empty file?)", path)

    @abc.abstractmethod
    def _read(self, path: str, batches: FileBatches, opener: Opener) -> Iterator[Split]:
        """Feed the file's records and rejections to ``batches``, yielding what it hands back."""


class FileRejected(Exception):
    """Raised by a reader to end a file with one rejected row; the rows read before it stay.

    ``detail`` names the file; ``position`` defaults to the one after the last row read;
    ``file`` to the path read (a reader of several files names the one that broke).
    """

    def __init__(self, reason: str, detail: str, *, position: int | None = None, file: str | None = None, raw: bytes | None = None):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.position = position
        self.file = file
        self.raw = raw


def as_file_rejection(exc: BaseException, file: str) -> FileRejected | None:
    """``exc`` as the rejection that ends a file: itself, ``empty_file`` for a zero-byte
    compressed file, ``corrupt_file`` for truncated or damaged compressed data in ``file``, or
    None for any other error (which propagates)."""
    if isinstance(exc, FileRejected):
        return exc
    if isinstance(exc, EmptyArchiveError):
        return FileRejected("empty_file", str(exc), position=1, file=exc.path)
    if is_corrupt_data_error(exc):
        return FileRejected("corrupt_file", f"{file}: compressed data truncated or damaged: {exc}", file=file)
    return None


class FileBatches:
    """Collects one file's records and rejected rows and cuts them into byte-sized chunks.

    Ids are the input's own id when given, else ``stable_id(source, file_key, position)``.
    """

    def __init__(self, reader: Reader, path: str, *, source: str, file_key: str):
        self.path = path
        self.source = source
        self.file_key = file_key
        self._ids = IdPrefix(source, file_key)  # stable_id(source, file_key, position)
        self._kind = reader.kind
        self._schema = load_schema(reader.kind)
        self._batch_bytes = reader.batch_bytes
        self._rows: list[dict] = []
        self._rejections = Rejections(stage=READ_STAGE, kind=reader.kind)
        self._pending_bytes = 0
        self._progress = Progress(log, path, units=("rows", "MB"))
        self.last_position = 0  # of the last record or rejection added
        self.rows_seen = 0  # rows and rejected rows handed out in chunks

    def id_for(self, position: int, own_id: str | None = None) -> str:
        """The input's own id, else (or when it is too long to be an id) one derived from the position."""
        if own_id and not _id_too_long(own_id):
            return own_id
        return self._ids(position)

    def keep(self, position: int, fields: dict, own_id: str | None = None) -> None:
        """Add a record: ``fields`` holds the kind's columns besides ``id`` and ``source``."""
        if own_id and _id_too_long(own_id):
            size = len(own_id.encode("utf-8", "surrogatepass"))
            self.reject(position, "id_too_long", f"the input's id is {size:,} bytes, over {MAX_ID_BYTES:,}: {own_id[:100]}...")
            return
        self.last_position = position
        fields["id"] = self.id_for(position, own_id)
        fields["source"] = self.source
        if self._kind == "bitext":
            fields["origin"] = "corpus"
        self._rows.append(fields)

    def reject(
        self,
        position: int,
        reason: str,
        detail: str | None = None,
        raw: bytes | str | None = None,
        *,
        own_id: str | None = None,
        file: str | None = None,
    ) -> None:
        self.last_position = position
        self._rejections.add(
            id=self.id_for(position, own_id),
            source=self.source,
            reason=reason,
            detail=detail,
            file=file or self.path,
            offset=position,
            raw=raw,
        )

    def consumed(self, nbytes: int) -> Split | None:
        """Count ``nbytes`` of input read; returns a chunk once about ``batch_bytes`` are pending."""
        self._pending_bytes += nbytes
        return self.flush() if self._pending_bytes >= self._batch_bytes else None

    def flush(self) -> Split | None:
        """The pending records and rejections as one chunk (None when nothing is pending)."""
        self._progress.add(len(self._rows) + len(self._rejections), self._pending_bytes / 1e6)
        self._pending_bytes = 0
        if not self._rows and not len(self._rejections):
            return None
        kept = pa.RecordBatch.from_pylist(self._rows, schema=self._schema)
        self._rows = []
        return Split(kept, self._rejections.to_batch())

    def emit(self, kept: pa.RecordBatch, nbytes: int) -> Split:
        """A chunk whose records were built column-wise (Parquet), with the rejections added for it."""
        self._progress.add(kept.num_rows + len(self._rejections), nbytes / 1e6)
        return Split(kept, self._rejections.to_batch())


# ---------------------------------------------------------------------------------------------
# The line core


def _id_too_long(own_id: str) -> bool:
    return len(own_id) > MAX_ID_BYTES or len(own_id.encode("utf-8", "surrogatepass")) > MAX_ID_BYTES


class Line(NamedTuple):
    """One input line: decoded ``text`` (line ending stripped), or a ``reason`` it was refused."""

    number: int  # 1-based
    size: int  # bytes consumed, line ending included
    text: str | None
    raw: bytes  # the line's bytes (only the first PREVIEW_BYTES when too long), for previews
    reason: str | None = None
    detail: str | None = None


class _Utf8FromBom(io.RawIOBase):
    """A UTF-16 or UTF-32 stream (told by its byte order mark) re-encoded as UTF-8, streamed:
    holds one chunk at a time. What does not decode (a lone surrogate, a cut last code unit)
    becomes bytes that are not UTF-8, so the line holding it is rejected as ``invalid_utf8``."""

    def __init__(self, stream: BinaryIO, encoding: str):
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="surrogatepass")
        self._out = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._out and not self._done:
            data = self._stream.read(_SKIP_BYTES)
            self._done = not data
            try:
                text = self._decoder.decode(data, final=self._done)
            except UnicodeDecodeError:  # a cut last code unit: a byte that is never UTF-8
                self._out = b"\xff"
                continue
            self._out = text.encode("utf-8", "surrogatepass")
        n = min(len(buffer), len(self._out))
        buffer[:n] = self._out[:n]
        self._out = self._out[n:]
        return n


def _decoded(stream: BinaryIO) -> BinaryIO:
    """``stream`` as UTF-8: as it is, or re-encoded when its byte order mark says UTF-16 or
    UTF-32 (little or big endian). Streams that cannot peek are taken as they are."""
    peek = getattr(stream, "peek", None)
    head = peek(4)[:4] if peek is not None else b""
    encoding = next((name for bom, name in _WIDE_BOMS if head.startswith(bom)), None)
    return stream if encoding is None else io.BufferedReader(_Utf8FromBom(stream, encoding), _SKIP_BYTES)


def read_lines(stream: BinaryIO, max_line_bytes: int, *, refuse_binary: bool = False) -> Iterator[Line]:
    """Lines of ``stream`` decoded as UTF-8, each checked for length, NUL bytes and encoding.

    Never holds more than ``max_line_bytes`` of one line: a longer line keeps a bounded prefix
    and the rest is skipped in chunks. A UTF-8 BOM at the start is removed; a UTF-16 or UTF-32
    one makes the stream decode as that encoding; ``\\r\\n`` and a trailing ``\\r`` are
    stripped. Empty lines come through (what they mean is the format's call). ``refuse_binary``:
    a file that starts like a compressed file, an archive or an image raises FileRejected
    (``binary_file``) instead of giving a rejected row per "line" of it.
    """
    stream = _decoded(stream)
    limit = max_line_bytes + 2  # room for "\r\n"
    readline = stream.readline
    number = 0
    while True:
        data = readline(limit)
        if not data:
            return
        number += 1
        size = len(data)
        if number == 1 and refuse_binary:
            _refuse_binary(data)
        if size == limit and not data.endswith(b"\n"):
            head = data[:PREVIEW_BYTES]
            while data and not data.endswith(b"\n"):
                data = readline(_SKIP_BYTES)
                size += len(data)
            yield Line(number, size, None, head, "line_too_long", f"line of {size} bytes, over max_line_bytes={max_line_bytes}")
            continue
        if data.endswith(b"\n"):
            data = data[:-1]
        if data.endswith(b"\r"):
            data = data[:-1]
        if number == 1 and data.startswith(_BOM):
            data = data[len(_BOM) :]

        if len(data) > max_line_bytes:
            yield Line(
                number,
                size,
                None,
                data[:PREVIEW_BYTES],
                "line_too_long",
                f"line of {len(data)} bytes, over max_line_bytes={max_line_bytes}",
            )
        elif b"\x00" in data:
            hint = " (the line looks like UTF-16 without a byte order mark: convert the file to UTF-8)" if _looks_wide(data) else ""
            yield Line(number, size, None, data, "nul_byte", f"NUL byte at byte {data.index(0)} of the line{hint}")
        else:
            try:
                yield Line(number, size, data.decode("utf-8"), data)
            except UnicodeDecodeError as exc:
                yield Line(number, size, None, data, "invalid_utf8", f"invalid UTF-8 at byte {exc.start} of the line: {exc.reason}")


def _refuse_binary(first: bytes) -> None:
    """End the file with one ``binary_file`` row when its first line starts with a binary file's
    signature and is not clean UTF-8 text (so a text line that merely starts alike is read)."""
    kind = next((what for magic, what in _BINARY_MAGIC if first.startswith(magic)), None)
    if kind is None:
        return
    head = first[:PREVIEW_BYTES]
    try:
        clean = b"\x00" not in head and bool(head.decode("utf-8"))
    except UnicodeDecodeError:  # a cut last character is not enough to tell
        clean = False
    if not clean:
        raise FileRejected("binary_file", f"the file starts like {kind}, not text: it is not read", position=1, raw=first[:64])


def _looks_wide(data: bytes) -> bool:
    """Whether a line's bytes look like UTF-16 text: every other byte NUL."""
    return len(data) >= 4 and (data[0::2].count(0) >= len(data) // 2 or data[1::2].count(0) >= len(data) // 2)


def is_blank(text: str) -> bool:
    return not text or text.isspace()


def text_problem(value: Any, label: str) -> tuple[str, str] | None:
    """Why a text value (``label`` names it: "field 'text'") cannot be a record's text, as
    (reason, detail), or None."""
    if value is None:
        return "missing_field", f"{label} is missing or null"
    if not isinstance(value, str):
        return "bad_field_type", f"{label} is {type(value).__name__}, expected a string"
    if is_blank(value):
        return "empty_text", f"{label} is empty"
    if "\x00" in value:
        return "nul_byte", f"{label} holds a NUL character"
    return None


# ---------------------------------------------------------------------------------------------
# Field helpers


@overload
def declared_language(code: str) -> str: ...
@overload
def declared_language(code: None) -> None: ...
def declared_language(code: str | None) -> str | None:
    """A constructor's language option, canonicalised (a bad code raises ValueError now)."""
    if code is None:
        return None
    try:
        return canonical(code)
    except LanguageCodeError as exc:
        raise ValueError(f"cannot read language {code!r}: {exc}") from exc


def record_language(value: Any, declared: str | None) -> tuple[str | None, str | None]:
    """A per-record language value -> (canonical code, None), or (None, error detail).

    Missing or empty values fall back to the declared language.
    """
    if value is None or value == "":
        return declared, None
    if not isinstance(value, str):
        return None, f"language {value!r} is not a string"
    try:
        return canonical(value), None
    except LanguageCodeError as exc:
        return None, str(exc)


def as_id(value: Any) -> str | None:
    """An input's own id as a string; None (fall back to a derived id) when missing or empty."""
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def meta_value(value: Any) -> str | None:
    """A field kept in ``meta``: strings as they are, anything else as JSON."""
    return value if value is None or isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


# ---------------------------------------------------------------------------------------------
# Line formats and record shapes

LineHandler = Callable[[Line, FileBatches], None]
# A record shape's ``_add`` (SegmentRecords, PairRecords), as a line format calls it.
AddRecord = Callable[[FileBatches, int, bytes | str, dict[str, Any], dict | None], None]


class LineReader(Reader):
    """A format read line by line: every line (a header aside) becomes one record or one rejected row."""

    def _read(self, path: str, batches: FileBatches, opener: Opener) -> Iterator[Split]:
        with open_input(path, opener) as stream:
            lines = read_lines(stream, self.max_line_bytes, refuse_binary=True)
            handle = self._line_handler(path, lines)
            for line in lines:
                if line.reason:
                    batches.reject(line.number, line.reason, line.detail, line.raw)
                else:
                    handle(line, batches)
                split = batches.consumed(line.size)
                if split is not None:
                    yield split

    @abc.abstractmethod
    def _line_handler(self, path: str, lines: Iterator[Line]) -> LineHandler:
        """The function that turns one decoded line into a record or a rejection; it may first
        read a header from ``lines``."""


class _RecordShape:
    """``_columns`` maps each role (``text``, ``id``, ...) to the configured field or column."""

    _columns: dict[str, Any]

    def _label(self, role: str) -> str:
        return f"field {self._columns[role]!r}"


class SegmentRecords(_RecordShape):
    """Mixin: builds a ``segment`` record from a record's values by role (``text``, ``id``,
    ``lang``, ``doc_id``), or rejects it."""

    kind = "segment"
    lang: str | None

    def _add(self, batches: FileBatches, position: int, raw: bytes | str, values: dict[str, Any], meta: dict | None) -> None:
        own_id = as_id(values.get("id"))
        problem = text_problem(values.get("text"), self._label("text"))
        if problem:
            batches.reject(position, *problem, raw, own_id=own_id)
            return
        lang, error = record_language(values.get("lang"), self.lang)
        if error:
            batches.reject(position, "bad_language_code", error, raw, own_id=own_id)
            return
        fields = {"text": values["text"], "lang": lang, "doc_id": as_id(values.get("doc_id")), "meta": as_entries(meta)}
        batches.keep(position, fields, own_id)


class PairRecords(_RecordShape):
    """Mixin: builds a ``bitext`` record from values by role (``src``, ``tgt``, ``id``), or rejects it."""

    kind = "bitext"
    src_lang: str | None
    tgt_lang: str | None

    def _add(self, batches: FileBatches, position: int, raw: bytes | str, values: dict[str, Any], meta: dict | None) -> None:
        own_id = as_id(values.get("id"))
        for side, role in (("source", "src"), ("target", "tgt")):
            problem = text_problem(values.get(role), self._label(role))
            if problem:
                batches.reject(position, problem[0], f"{side} side: {problem[1]}", raw, own_id=own_id)
                return
        fields = {
            "src_text": values["src"],
            "tgt_text": values["tgt"],
            "src_lang": self.src_lang,
            "tgt_lang": self.tgt_lang,
            "meta": as_entries(meta),
        }
        batches.keep(position, fields, own_id)
