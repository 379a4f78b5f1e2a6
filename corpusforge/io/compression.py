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
from typing import BinaryIO, Callable, Iterator

import zstandard

Opener = Callable[[str], BinaryIO]

_BUFFER_BYTES = 1 << 16

# Extension -> function wrapping a raw compressed stream in a decompressing one. Each is put
# behind an io.BufferedReader so readline() runs in C, not in the module's Python wrapper.
_DECOMPRESSORS: dict[str, Callable[[BinaryIO], BinaryIO]] = {
    ".gz": lambda raw: gzip.GzipFile(fileobj=raw, mode="rb"),
    ".bz2": lambda raw: bz2.BZ2File(raw, mode="rb"),
    ".xz": lambda raw: lzma.LZMAFile(raw, mode="rb"),
    # read_across_frames: files written by pzstd or concatenated with cat hold several frames.
    ".zst": lambda raw: zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True, closefd=False),
}
_DECOMPRESSORS[".zstd"] = _DECOMPRESSORS[".zst"]

COMPRESSION_EXTENSIONS = tuple(_DECOMPRESSORS)

# What the decompressors raise on truncated or damaged data (bz2 raises a bare OSError, told
# apart from I/O errors by its message). zstandard's stream reader cannot tell a truncated
# last frame from a complete one: such a file ends early without an error.
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
    extension (.gz, .bz2, .xz, .zst), anything else is read as is.
    """
    with contextlib.ExitStack() as stack:
        raw = stack.enter_context(opener(path))
        ext = compression_of(path)
        stream = raw
        if ext:
            stream = stack.enter_context(io.BufferedReader(_DECOMPRESSORS[ext](raw), _BUFFER_BYTES))
        yield stream
