"""Opening input files: raw bytes from any filesystem, decompressed by file extension.

Decompression streams (gzip, bz2, xz, zstd); no file is ever held whole in memory. The opener
that returns raw bytes is a parameter so the Beam adapter can pass one that reads gs:// paths.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import lzma
import zlib
from collections.abc import Callable, Iterator
from typing import IO, BinaryIO, Protocol

import zstandard

Opener = Callable[[str], BinaryIO]

_BUFFER_BYTES = 1 << 16
_ZSTD_INPUT_BYTES = 1 << 14  # compressed bytes fed at a time: bounds the output held at once


class _ZstdFrames(io.RawIOBase):
    """The frames of a zstd stream one after another (pzstd and ``cat a.zst b.zst`` write several).

    Input that ends inside a frame raises EOFError, as gzip and bz2 do; zstandard's own stream
    reader ends such a file early without an error. Holds one input chunk's output at a time.
    """

    def __init__(self, raw: IO[bytes]):
        self._raw = raw
        self._decompressor = zstandard.ZstdDecompressor()
        self._frame = self._decompressor.decompressobj()
        self._in_frame = False  # whether the current frame has had input and not ended
        self._out = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._out:
            data = self._raw.read(_ZSTD_INPUT_BYTES)
            if not data:
                if self._in_frame:
                    raise EOFError("compressed file ended before the end-of-stream marker was reached")
                return 0
            self._out = memoryview(self._decompress(data))
        n = min(len(buffer), len(self._out))
        buffer[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def _decompress(self, data: bytes) -> bytes:
        """Decompress ``data``, starting a new decompressor at each frame's end."""
        out = []
        while data:
            self._in_frame = True
            out.append(self._frame.decompress(data))
            if not self._frame.eof:
                break
            data = self._frame.unused_data
            self._frame = self._decompressor.decompressobj()
            self._in_frame = False
        return b"".join(out)


class _Read1(Protocol):
    """What :class:`_ReadOnce` needs of a decompressing file (GzipFile, BZ2File, LZMAFile)."""

    def read1(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class _ReadOnce(io.RawIOBase):
    """A decompressing file read with one ``read1`` per ``readinto``.

    GzipFile, BZ2File and LZMAFile fill a large ``readinto`` from several decompressor reads,
    and when one of them hits the cut of a truncated file the bytes already copied are dropped
    with the error: up to a buffer's worth of complete lines lost before the ``corrupt_file``
    row. ``read1`` returns what one read decompressed, so the error comes only once nothing
    decompressible is left.
    """

    def __init__(self, stream: _Read1):
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read1(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()


class EmptyArchiveError(Exception):
    """A compressed file with no bytes at all (a failed download): not a valid archive of its
    codec, though gzip, bz2, xz and zstd would all read it as empty without a word."""

    def __init__(self, path: str, ext: str):
        super().__init__(f"{path}: a zero-byte {ext} file is not a valid {ext} archive (a failed or interrupted download?)")
        self.path = path


class _NotEmpty(io.RawIOBase):
    """The raw bytes of a compressed file; raises :class:`EmptyArchiveError` when the file has none."""

    def __init__(self, raw: BinaryIO, path: str, ext: str):
        self._raw, self._path, self._ext = raw, path, ext
        self._seen = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._raw.read(len(buffer))
        if not data and not self._seen:
            raise EmptyArchiveError(self._path, self._ext)
        self._seen = True
        buffer[: len(data)] = data
        return len(data)


# Extension -> function wrapping a raw compressed stream in a decompressing one. Each is put
# behind an io.BufferedReader so readline() runs in C, not in the module's Python wrapper.
_DECOMPRESSORS: dict[str, Callable[[IO[bytes]], io.RawIOBase]] = {
    ".gz": lambda raw: _ReadOnce(gzip.GzipFile(fileobj=raw, mode="rb")),
    ".bz2": lambda raw: _ReadOnce(bz2.BZ2File(raw, mode="rb")),
    ".xz": lambda raw: _ReadOnce(lzma.LZMAFile(raw, mode="rb")),
    ".zst": _ZstdFrames,
}
_DECOMPRESSORS[".zstd"] = _DECOMPRESSORS[".zst"]

COMPRESSION_EXTENSIONS = tuple(_DECOMPRESSORS)

# What the decompressors raise on truncated or damaged data (bz2 raises a bare OSError, told
# apart from I/O errors by its message).
_CORRUPT_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError, zstandard.ZstdError)
_BZ2_CORRUPT = "Invalid data stream"


def is_corrupt_data_error(exc: BaseException) -> bool:
    """Whether ``exc`` says compressed data is truncated or damaged (not an I/O failure)."""
    return isinstance(exc, _CORRUPT_ERRORS) or (type(exc) is OSError and str(exc) == _BZ2_CORRUPT)


def open_binary(path: str) -> BinaryIO:
    """The default opener: a local file's raw bytes."""
    return open(path, "rb")


def compression_of(path: str) -> str:
    """The compression extension of ``path`` (``".gz"``, ...), or ``""`` for a plain file."""
    lowered = path.lower()
    return next((ext for ext in COMPRESSION_EXTENSIONS if lowered.endswith(ext)), "")


def strip_compression(path: str) -> tuple[str, str]:
    """``corpus.en.gz`` -> (``corpus.en``, ``.gz``); a plain path comes back with ``""``."""
    ext = compression_of(path)
    return (path[: -len(ext)], path[-len(ext) :]) if ext else (path, "")


@contextlib.contextmanager
def open_input(path: str, opener: Opener = open_binary) -> Iterator[BinaryIO]:
    """Open ``path`` with ``opener`` and yield a stream of its decompressed bytes (closed on exit).

    The stream supports ``read``, ``readline(limit)`` and iteration; compression is chosen by
    extension (.gz, .bz2, .xz, .zst), anything else is read as is. Reading a zero-byte compressed
    file raises :class:`EmptyArchiveError`.
    """
    with contextlib.ExitStack() as stack:
        raw = stack.enter_context(opener(path))
        ext = compression_of(path)
        stream = raw
        if ext:
            checked = io.BufferedReader(_NotEmpty(raw, path, ext), _BUFFER_BYTES)
            stream = stack.enter_context(io.BufferedReader(_DECOMPRESSORS[ext](checked), _BUFFER_BYTES))
        yield stream
